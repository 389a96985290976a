"""Structured logging. Every line carries correlationId, tenantId, jobId and
step; the keys live in a per-thread context, so concurrent invocations in the
local runtime never mix them up."""

from __future__ import annotations

import os
import re
import uuid

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "talkavocado"), utc=True)

# Read from each request and returned on each response.
CORRELATION_HEADER = "X-Correlation-Id"
# Shown until the value is known (a request rejected before it names a job).
UNKNOWN = "-"
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def correlation_id_from(candidate: str | None, request_id: str | None = None) -> str:
    """Reuse the caller's id if it is sane, else API Gateway's request id
    (which the authorizer and the API see alike, so their lines join up),
    else start a new one."""
    for value in (candidate, request_id):
        if value and _CORRELATION_ID.fullmatch(value):
            return value
    return str(uuid.uuid4())


def start_invocation(*, correlation_id: str, step: str, context: LambdaContext | None) -> None:
    """Reset the log keys of this thread for a new invocation. (Powertools'
    ``inject_lambda_context`` appends keys process-wide, which concurrent
    invocations in the local runtime would mix up.)"""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(
        correlationId=correlation_id,
        tenantId=UNKNOWN,
        jobId=UNKNOWN,
        step=step,
        functionName=getattr(context, "function_name", None),
        requestId=getattr(context, "aws_request_id", None),
    )


def bind_job(*, tenant_id: str | None = None, job_id: str | None = None) -> None:
    keys = {"tenantId": tenant_id, "jobId": job_id}
    logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v is not None})


def current_correlation_id() -> str:
    return str(logger.thread_safe_get_current_keys().get("correlationId", UNKNOWN))


METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TalkAvocado")


def record_step_metrics(
    step: str, outcome: str, duration_ms: float, error_type: str | None
) -> None:
    """Per-step EMF metrics: duration by outcome, and failures by error type.
    ``EphemeralMetrics`` keeps each set to this call, which is safe when
    several invocations share a process, as in the local runtime."""
    duration = EphemeralMetrics(namespace=METRICS_NAMESPACE)
    duration.add_dimension(name="step", value=step)
    duration.add_dimension(name="outcome", value=outcome)
    duration.add_metric(name="StepDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
    duration.flush_metrics()
    if error_type is not None:
        failures = EphemeralMetrics(namespace=METRICS_NAMESPACE)
        failures.add_dimension(name="step", value=step)
        failures.add_dimension(name="errorType", value=error_type)
        failures.add_metric(name="StepFailures", unit=MetricUnit.Count, value=1)
        failures.flush_metrics()
