"""Start on upload: the storage's Object Created event of a job's input starts
the job (S3 sends it to EventBridge; the local upload route emits the same).
Malformed or foreign events are logged and dropped."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from talkavocado.services.job_service import JobService
from talkavocado.support.observability import bind_work, logger
from talkavocado.workers.batch import Envelope, SqsBatch

OBJECT_CREATED = ("aws.s3", "Object Created")


def stored_key(body: str) -> str | None:
    """The object key of an S3 Object Created event, or None for anything else."""
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError:
        return None
    if (envelope.source, envelope.detail_type) != OBJECT_CREATED:
        return None
    detail = envelope.detail if isinstance(envelope.detail, dict) else {}
    key = (detail.get("object") or {}).get("key")
    return key if isinstance(key, str) else None


class InputStoredWorker:
    def __init__(self, service: JobService, batch: SqsBatch) -> None:
        self._service = service
        self._batch = batch

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        return self._batch.handle(event, context, self.process)

    def process(self, record: SQSRecord) -> None:
        bind_work(correlation_id=f"upload-{record.message_id}", step="input-stored")
        key = stored_key(record.body)
        if key is None:
            logger.warning(
                "not an Object Created event; dropped", extra={"body": record.body[:500]}
            )
            return
        self._service.start_stored_input(key)
