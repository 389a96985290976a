"""Webhook notifications. One queue carries two kinds of message:

- a job's outcome (JobCompleted, JobFailed, JobCancelled, routed from the
  bus): fanned out into one delivery message per webhook of its tenant that
  wants that event;
- a delivery: one signed POST to one webhook. A 2xx answer delivers it; 410
  disables the webhook; anything else is retried after a growing, jittered
  delay until the retry window has passed since the first attempt, then the
  message goes to the dead-letter queue and the webhook is marked failing.

Every attempt is recorded. A delivery is claimed per event and webhook by
the first message to try it, so duplicated outcomes notify once.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.domain.errors import TalkAvocadoError
from talkavocado.domain.events import JobOutcome
from talkavocado.domain.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Delivery,
    DeliveryOutcome,
    signature,
)
from talkavocado.ports import JobRepository, MessageQueue, WebhookRepository, WebhookSender
from talkavocado.support.camel import CamelModel
from talkavocado.support.clock import now_iso, parse_time
from talkavocado.support.observability import bind_job, bind_work, logger
from talkavocado.workers.batch import SqsBatch, parse_event

STEP = "notifier"


class DeliveryFailed(TalkAvocadoError):
    """The receiver did not take it; the message is tried again later."""


class Notice(CamelModel):
    """A delivery message: this event's body, to this webhook."""

    tenant_id: str
    job_id: str
    correlation_id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: str
    first_attempt_at: str


class Notifier:
    def __init__(
        self,
        jobs: JobRepository,
        webhooks: WebhookRepository,
        sender: WebhookSender,
        queue: MessageQueue,
        batch: SqsBatch,
        retry_for: timedelta,
    ) -> None:
        self._jobs = jobs
        self._webhooks = webhooks
        self._sender = sender
        self._queue = queue
        self._batch = batch
        self._retry_for = retry_for

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        return self._batch.handle(event, context, self.process)

    def process(self, record: SQSRecord) -> None:
        message = json.loads(record.body)
        if isinstance(message, dict) and "notice" in message:
            notice = Notice.model_validate(message["notice"])
            attempt = int(record.attributes.approximate_receive_count or 1)
            self.deliver(notice, attempt, owner=record.message_id, raw=record.body)
        else:
            outcome = parse_event(record.body)
            if not isinstance(outcome, JobOutcome):
                logger.warning("not a job outcome; dropped", extra={"type": outcome.detail_type})
                return
            self.fan_out(outcome)

    def fan_out(self, outcome: JobOutcome) -> None:
        bind_work(correlation_id=outcome.correlation_id, step=STEP)
        bind_job(tenant_id=outcome.tenant_id, job_id=outcome.job_id)
        job = self._jobs.get(outcome.tenant_id, outcome.job_id)
        if job is None or (job.run, job.status) != (outcome.run, outcome.status):
            # Only the pipeline may put outcomes on the bus (its policy); this
            # holds even where that is not enforced (the local emulator).
            logger.warning("outcome does not match the job's record; dropped")
            return
        body = json.dumps(
            {
                "eventId": outcome.event_id,
                "type": outcome.detail_type,
                "detail": json.loads(outcome.detail_json()),
            }
        )
        for webhook in self._webhooks.of_tenant(outcome.tenant_id):
            if not webhook.wants(outcome.detail_type):
                continue
            notice = Notice(
                tenant_id=outcome.tenant_id,
                job_id=outcome.job_id,
                correlation_id=outcome.correlation_id,
                webhook_id=webhook.webhook_id,
                event_id=outcome.event_id,
                event_type=outcome.detail_type,
                body=body,
                first_attempt_at=now_iso(),
            )
            self._queue.send(json.dumps({"notice": notice.model_dump(by_alias=True)}))
            logger.info("notification queued", extra={"webhookId": webhook.webhook_id})

    def deliver(self, notice: Notice, attempt: int, owner: str, raw: str) -> None:
        bind_work(correlation_id=notice.correlation_id, step=STEP)
        bind_job(tenant_id=notice.tenant_id, job_id=notice.job_id)
        webhook = self._webhooks.get(notice.tenant_id, notice.webhook_id)
        if webhook is None or webhook.state == "disabled":
            logger.info("webhook removed or disabled; not delivered")
            return
        if not self._webhooks.claim(notice.tenant_id, notice.webhook_id, notice.event_id, owner):
            logger.info("already notified by another message; not delivered again")
            return
        timestamp = str(int(time.time()))
        body = notice.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "TalkAvocado-Webhooks/1",
            EVENT_ID_HEADER: notice.event_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(webhook.secret, timestamp, body),
        }
        result = self._sender.post(webhook.url, body, headers)

        def note(outcome: DeliveryOutcome) -> None:
            self._webhooks.record(
                notice.tenant_id,
                Delivery(
                    webhook_id=webhook.webhook_id,
                    event_id=notice.event_id,
                    event_type=notice.event_type,
                    attempt=attempt,
                    at=now_iso(),
                    outcome=outcome,
                    status_code=result.status,
                    error=result.error,
                    duration_ms=result.duration_ms,
                ),
            )

        if result.status is not None and 200 <= result.status < 300:
            note("delivered")
            if webhook.state == "failing":
                self._webhooks.set_state(webhook.tenant_id, webhook.webhook_id, "active", None)
            logger.info("notification delivered", extra={"attempt": attempt})
            return
        if result.status == 410:
            note("disabled")
            self._webhooks.set_state(
                webhook.tenant_id, webhook.webhook_id, "disabled", "the receiver answered 410 Gone"
            )
            logger.warning("receiver is gone; webhook disabled")
            return
        reason = f"HTTP {result.status}" if result.status is not None else str(result.error)
        first = parse_time(notice.first_attempt_at)
        if datetime.now(UTC) - first >= self._retry_for:
            note("gave-up")
            self._webhooks.set_state(webhook.tenant_id, webhook.webhook_id, "failing", reason)
            self._queue.dead_letter(raw)
            logger.error(
                "notification not delivered within its retry window; dead-lettered",
                extra={"attempt": attempt, "reason": reason},
            )
            return
        note("failed")
        raise DeliveryFailed(f"the receiver did not take the notification: {reason}")
