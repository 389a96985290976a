"""Structured logs, metrics and traces, as Powertools gives them: every log
line carries correlationId, tenantId, jobId and step, with camelCase keys
like the rest of the product's documents."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from pydantic.alias_generators import to_camel

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "talkavocado")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TalkAvocado")


class CamelCaseKeys(LambdaPowertoolsFormatter):
    """Powertools' JSON lines with camelCase keys (``correlation_id`` and the
    Lambda context's ``function_request_id`` become ``correlationId`` and
    ``functionRequestId``)."""

    def serialize(self, log: Any) -> str:
        return super().serialize({to_camel(key): value for key, value in log.items()})


logger = Logger(service=SERVICE, utc=True, logger_formatter=CamelCaseKeys())
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

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


def bind_work(*, correlation_id: str, step: str) -> None:
    """Name the unit of work the next lines are about: a request, or one
    record of a batch (each record may belong to another job)."""
    logger.set_correlation_id(correlation_id)
    logger.append_keys(step=step, tenant_id=UNKNOWN, job_id=UNKNOWN)


def bind_job(*, tenant_id: str | None = None, job_id: str | None = None) -> None:
    keys = {"tenant_id": tenant_id, "job_id": job_id}
    logger.append_keys(**{k: v for k, v in keys.items() if v is not None})


def current_correlation_id() -> str:
    return logger.get_correlation_id() or UNKNOWN


def record_step_metrics(
    step: str, outcome: str, duration_ms: float, error_type: str | None
) -> None:
    """Per-step EMF metrics: duration by outcome, and failures by error type.
    Each has dimensions of its own, so each is its own ``EphemeralMetrics``
    set rather than part of the handler's shared ``metrics``."""
    sets = [("StepDuration", MetricUnit.Milliseconds, duration_ms, {"outcome": outcome})]
    if error_type is not None:
        sets.append(("StepFailures", MetricUnit.Count, 1, {"errorType": error_type}))
    for name, unit, value, dimensions in sets:
        metric = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
        for key, dimension in {"step": step, **dimensions}.items():
            metric.add_dimension(name=key, value=dimension)
        metric.add_metric(name=name, unit=unit, value=value)
        metric.flush_metrics()
