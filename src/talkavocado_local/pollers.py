"""SQS event sources, as Lambda runs them: for every function that
template.yaml connects to a queue, poll the queue and invoke the function's
real handler with a real SQS event (the template's batch size). Messages the
handler reports in ``batchItemFailures`` - or the whole batch, if the
invocation fails - are left for SQS to deliver again after their visibility
timeout, and SQS's redrive policy moves them to the dead-letter queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talkavocado.support.observability import logger
from talkavocado_local.background import Background
from talkavocado_local.invoke import LocalContext
from talkavocado_local.template import FunctionSpec, Template

POLL_WAIT_SECONDS = 1
MAX_BATCH = 10


@dataclass(frozen=True)
class EventSource:
    function: FunctionSpec
    queue_arn: str
    queue_url: str
    batch_size: int
    report_item_failures: bool


def event_sources(template: Template) -> list[EventSource]:
    urls_by_arn = {template.arn(k): url for k, url in template.runtime_refs.items()}
    sources = []
    for function in template.functions():
        for event in function.events.values():
            if event.get("Type") != "SQS":
                continue
            props = template.resolve(event["Properties"])
            sources.append(
                EventSource(
                    function=function,
                    queue_arn=props["Queue"],
                    queue_url=urls_by_arn[props["Queue"]],
                    batch_size=min(int(props.get("BatchSize", 10)), MAX_BATCH),
                    report_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                )
            )
    return sources


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePoller(Background):
    def __init__(
        self,
        source: EventSource,
        handler: Callable[[dict[str, Any], Any], Any],
        sqs: Any,
        region: str,
    ) -> None:
        self.source = source
        self._handler = handler
        self._sqs = sqs
        self._region = region
        super().__init__(f"poller-{source.queue_arn.rsplit(':', 1)[-1]}")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.exception("local poller error", extra={"queue": self.source.queue_url})
                self._stop.wait(1)

    def poll_once(self) -> int:
        """Receive one batch, invoke the handler, delete what succeeded."""
        messages = self._sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=self.source.batch_size,
            WaitTimeSeconds=POLL_WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [sqs_record(m, self.source.queue_arn, self._region) for m in messages]}
        function = self.source.function
        try:
            response = self._handler(event, LocalContext.of(function))
            failed = (
                {
                    failure["itemIdentifier"]
                    for failure in (response or {}).get("batchItemFailures", [])
                }
                if self.source.report_item_failures
                else set()
            )
        except BaseException:  # an invocation that dies: the whole batch comes back
            logger.exception("local invocation failed", extra={"function": function.logical_id})
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        return len(messages)
