"""The dead-letter handler: a message that exhausted its deliveries fails its
job, so that no job stays ``processing`` forever."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.errors import ErrorType, TalkAvocadoError
from talkavocado.jobs import TERMINAL_STATUSES, JobError
from talkavocado.keys import parse_job_id, parse_tenant_id
from talkavocado.observability import bind_job, logger, start_invocation
from talkavocado.pipeline import PIPELINE
from talkavocado.ports import JobRepository
from talkavocado.workers.batch import SqsBatch, parse_envelope
from talkavocado.workers.failure import JobFailer

DLQ_SUFFIX = "-dlq"


def step_of_queue(queue_arn: str) -> str | None:
    """``...:talkavocado-dev-audio-extraction-dlq`` -> ``audio-extraction``."""
    name = queue_arn.rsplit(":", 1)[-1]
    for step in PIPELINE:
        if name.endswith(f"-{step.name}{DLQ_SUFFIX}"):
            return step.name
    return None


class DeadLetterHandler:
    def __init__(self, jobs: JobRepository, failer: JobFailer, batch: SqsBatch) -> None:
        self._jobs = jobs
        self._failer = failer
        self._batch = batch

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        return self._batch.handle(event, context, self.process)

    def process(self, record: SQSRecord) -> None:
        step = step_of_queue(record.event_source_arn) or "unknown"
        try:
            envelope = parse_envelope(record.body)
            detail: dict[str, Any] = envelope.detail if isinstance(envelope.detail, dict) else {}
            tenant_id = parse_tenant_id(detail.get("tenantId"))
            job_id = parse_job_id(detail.get("jobId"))
        except TalkAvocadoError as unreadable:
            logger.error(
                "dead letter names no job; dropped",
                extra={
                    "reason": unreadable.message,
                    "queue": record.event_source_arn,
                    "body": record.body[:2000],
                },
            )
            return
        correlation_id = detail.get("correlationId")
        start_invocation(
            correlation_id=str(correlation_id or f"sqs-{record.message_id}"),
            step="dead-letter",
            context=None,
        )
        bind_job(tenant_id=tenant_id, job_id=job_id)
        job = self._jobs.get(tenant_id, job_id)
        run = detail.get("run")
        stale = isinstance(run, int) and job is not None and run != job.run
        if job is None or stale or job.status in TERMINAL_STATUSES:
            logger.info("dead letter for no live job; nothing to do")
            return
        last = job.steps.get(step)
        last_error = last.error if last is not None else None
        if last is not None and last_error is not None:
            error_type = last_error.type
            message = f"gave up after {last.attempts} attempts: {last_error.message}"
        else:
            error_type = ErrorType.UNKNOWN
            message = "the step could not process its message (see the logs of its message)"
        self._failer.fail(job, JobError(type=error_type, message=message, step=step))
