"""The dead-letter handler: a message that exhausted its deliveries fails its
job, so that no job stays ``processing`` forever; but only when the message is
the job's running step in its current run. Anything else (a stale run, a step
that is not running, a message of another queue's type) is logged and dropped."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import parse_job_id, parse_tenant_id
from talkavocado.domain.pipeline import step_named, step_of_queue
from talkavocado.errors import ErrorType, TalkAvocadoError
from talkavocado.ports import JobRepository
from talkavocado.support.observability import bind_job, bind_work, logger
from talkavocado.workers.batch import SqsBatch, parse_envelope
from talkavocado.workers.failure import JobFailer

DLQ_SUFFIX = "-dlq"
# Receives of a dead letter before it is dropped unhandled. A message keeps
# the receive count of its source queue (5 there), so this leaves it 5 more.
MAX_ATTEMPTS = 10


def step_of_dead_letter_queue(queue_arn: str) -> str | None:
    """``...:talkavocado-dev-audio-extraction-dlq`` -> ``audio-extraction``."""
    step = step_of_queue(queue_arn, DLQ_SUFFIX)
    return step.name if step is not None else None


def _mismatch(job: JobRecord | None, step: str, detail_type: str, run: Any) -> str | None:
    """Why a dead letter is not the job's running step in its current run (a
    forged or stale message, which must change nothing), or None."""
    if job is None:
        return "no such job for this tenant"
    if detail_type != step_named(step).consumes:
        return f"{step} consumes no {detail_type[:100]!r}"
    if type(run) is not int or run != job.run:
        return f"run {str(run)[:20]} is not the job's current run {job.run}"
    if not job.is_running(step):
        return f"step {step} is not running (the job is {job.status})"
    return None


class DeadLetterHandler:
    def __init__(self, jobs: JobRepository, failer: JobFailer, batch: SqsBatch) -> None:
        self._jobs = jobs
        self._failer = failer
        self._batch = batch

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        return self._batch.handle(event, context, self.process)

    def process(self, record: SQSRecord) -> None:
        step = step_of_dead_letter_queue(record.event_source_arn)
        if step is None:
            logger.error("message from no pipeline dead-letter queue; dropped")
            return
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
        bind_work(
            correlation_id=str(correlation_id or f"sqs-{record.message_id}"),
            step="dead-letter",
        )
        bind_job(tenant_id=tenant_id, job_id=job_id)
        attempts = int(record.attributes.approximate_receive_count or 1)
        if attempts > MAX_ATTEMPTS:
            # Bounded: a dead letter that cannot be handled is not retried forever.
            # (Its queue's alarm has fired: the message was visible there.)
            logger.error("dead letter dropped unhandled", extra={"attempts": attempts})
            return
        job = self._jobs.get(tenant_id, job_id)
        mismatch = _mismatch(job, step, envelope.detail_type, detail.get("run"))
        if job is None or mismatch is not None:
            logger.warning("dead letter dropped; nothing changed", extra={"reason": mismatch})
            return
        last = job.steps[step]
        if last.error is not None:
            error_type = last.error.type
            message = f"gave up after {last.attempts} attempts: {last.error.message}"
        else:
            error_type = ErrorType.UNKNOWN
            message = "the step could not process its message (see the logs of its message)"
        self._failer.fail(job, JobError(type=error_type, message=message, step=step))
