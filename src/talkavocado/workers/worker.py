"""A pipeline worker: an SQS batch of events, one step runner."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.domain.errors import ValidationFailed
from talkavocado.support.observability import bind_job, bind_work, logger
from talkavocado.workers.batch import SqsBatch, parse_event, remaining_seconds
from talkavocado.workers.runner import StepRunner


class StepWorker:
    def __init__(self, runner: StepRunner, batch: SqsBatch) -> None:
        self._runner = runner
        self._batch = batch

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        return self._batch.handle(event, context, lambda record: self._process(record, context))

    def _process(self, record: SQSRecord, context: LambdaContext | None) -> None:
        try:
            event = parse_event(record.body)
        except ValidationFailed as invalid:
            # It never becomes valid: retrying it would only dead-letter it.
            logger.warning(
                "invalid event dropped; nothing changed", extra={"reason": invalid.message}
            )
            return
        bind_work(correlation_id=event.correlation_id, step=self._runner.step.name)
        bind_job(tenant_id=event.tenant_id, job_id=event.job_id)
        self._runner.process(event, remaining_seconds(context))
