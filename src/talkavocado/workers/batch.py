"""SQS batches of EventBridge events: parsing (Powertools parser), partial
batch failures (Powertools BatchProcessor), and retry backoff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from talkavocado.domain.events import EVENT_SOURCE, EVENT_TYPES, PipelineEvent
from talkavocado.errors import ValidationFailed
from talkavocado.ports import Visibility
from talkavocado.support.observability import bind_work, logger, metrics
from talkavocado.support.retry import backoff_seconds


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2
    max_seconds: float = 300


class Envelope(EventBridgeModel):
    """EventBridge's envelope. ``account`` is not read, and moto leaves it out
    of the events it delivers to SQS."""

    account: str = ""


def _problems(invalid: ValidationError) -> list[str]:
    return [".".join(map(str, error["loc"])) or "(root)" for error in invalid.errors()]


def parse_envelope(body: str) -> Envelope:
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError as invalid:
        raise ValidationFailed(f"not an EventBridge event: {_problems(invalid)}") from None
    if envelope.source != EVENT_SOURCE:
        raise ValidationFailed(f"unexpected event source {envelope.source[:100]!r}")
    return envelope


def parse_event(body: str) -> PipelineEvent:
    envelope = parse_envelope(body)
    event_type = EVENT_TYPES.get(envelope.detail_type)
    if event_type is None:
        raise ValidationFailed(f"unknown detail-type {envelope.detail_type[:100]!r}")
    try:
        return event_type.model_validate(envelope.detail)
    except ValidationError as invalid:
        raise ValidationFailed(
            f"invalid {envelope.detail_type} detail: {_problems(invalid)}"
        ) from None


def remaining_seconds(context: LambdaContext | None) -> Callable[[], float]:
    if context is None:
        return lambda: float("inf")
    return lambda: context.get_remaining_time_in_millis() / 1000


class SqsBatch:
    def __init__(self, step: str, visibility: Visibility, retry: RetryPolicy) -> None:
        self._step = step
        self._visibility = visibility
        self._retry = retry

    def handle(
        self,
        event: dict[str, Any],
        context: LambdaContext | None,
        process: Callable[[SQSRecord], None],
    ) -> dict[str, Any]:
        """Process each record; a failed record is retried after a growing,
        jittered delay, and the others are not redelivered."""

        def record_handler(record: SQSRecord) -> None:
            bind_work(correlation_id=f"sqs-{record.message_id}", step=self._step)
            try:
                process(record)
            except Exception:
                attempt = int(record.attributes.approximate_receive_count or 1)
                delay = backoff_seconds(attempt, self._retry.base_seconds, self._retry.max_seconds)
                logger.exception(
                    "delivery failed; will be retried",
                    extra={"attempt": attempt, "retryInSeconds": delay},
                )
                self._visibility.delay(record.event_source_arn, record.receipt_handle, delay)
                raise

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        received, failed = len(event.get("Records") or []), len(response["batchItemFailures"])
        metrics.add_dimension(name="step", value=self._step)
        metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=received)
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed)
        return dict(response)
