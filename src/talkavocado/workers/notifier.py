"""Webhook notifications. One queue carries two kinds of message:

- a job's outcome (JobCompleted, JobFailed, JobCancelled, routed from the
  bus): checked against the job's record, then fanned out into one notice
  per webhook of its tenant that wants that event;
- a notice: one signed POST of that outcome to one webhook. A 2xx answer
  delivers it; 410 disables the webhook; anything else (or no complete
  answer by the deadline) is retried after a growing, jittered delay until
  the retry window has passed since the first attempt, then the message goes
  to the dead-letter queue and the webhook is marked failing.

A notice only names the job run, the outcome and the webhook. What is signed
is built at each attempt from the job's record and manifest, as the pipeline
built the outcome, and only while the record shows that outcome of that run:
a message put on the queue by anyone else can at most repeat a job's true
outcome to its own tenant's webhook, never sign a body of its own.

The notices of a batch are sent together, each within its deadline, so a
slow receiver delays no one else's notification by more than that. Every
attempt is recorded. A delivery is claimed per event and webhook by the
first message to try it, so duplicated outcomes notify once.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError

from talkavocado.domain.errors import StorageObjectMissing, TalkAvocadoError
from talkavocado.domain.events import EVENT_TYPES, JobOutcome, event_for
from talkavocado.domain.keys import JOB_ID_PATTERN, TENANT_ID_PATTERN, JobKeys
from talkavocado.domain.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Delivery,
    DeliveryOutcome,
    OutcomeType,
    Webhook,
    signature,
)
from talkavocado.ports import (
    HttpResult,
    JobRepository,
    MessageQueue,
    WebhookRepository,
    WebhookSender,
)
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.support.camel import CamelModel
from talkavocado.support.clock import now_iso, parse_time
from talkavocado.support.observability import bind_job, bind_work, logger
from talkavocado.workers.batch import SqsBatch, parse_event

STEP = "notifier"
# Notices of one batch sent at once (the event source's batch size is 5).
MAX_PARALLEL = 10


class DeliveryFailed(TalkAvocadoError):
    """The receiver did not take it; the message is tried again later."""


class Notice(CamelModel):
    """A delivery message: this job run's outcome, to this webhook."""

    tenant_id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    job_id: Annotated[str, Field(pattern=JOB_ID_PATTERN)]
    run: Annotated[int, Field(ge=1)]
    event_type: OutcomeType
    webhook_id: Annotated[str, Field(pattern=JOB_ID_PATTERN)]
    first_attempt_at: str


@dataclass
class _Sending:
    """A notice on its way: what was signed, and the answer to come."""

    notice: Notice
    webhook: Webhook
    outcome: JobOutcome
    answer: Future[HttpResult]


# What became of a notice before its POST: on its way, dropped, or an error
# for the batch to retry.
_Started = _Sending | None | Exception


class Notifier:
    def __init__(
        self,
        jobs: JobRepository,
        manifests: ManifestStore,
        webhooks: WebhookRepository,
        sender: WebhookSender,
        queue: MessageQueue,
        batch: SqsBatch,
        retry_for: timedelta,
    ) -> None:
        self._jobs = jobs
        self._manifests = manifests
        self._webhooks = webhooks
        self._sender = sender
        self._queue = queue
        self._batch = batch
        self._retry_for = retry_for

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """Every notice of the batch is checked, claimed and sent first, one
        after the other (their log lines each under their own job), and the
        POSTs then run together; each record is then finished in turn."""
        records = [SQSRecord(raw) for raw in event.get("Records") or []]
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="notice") as pool:
            started = {
                record.message_id: self._start(record, pool)
                for record in records
                if _notice_message(record.body) is not None
            }
            return self._batch.handle(event, context, lambda record: self.process(record, started))

    def process(self, record: SQSRecord, started: dict[str, _Started] | None = None) -> None:
        if started is not None and record.message_id in started:
            self._finish(record, started[record.message_id])
            return
        if _notice_message(record.body) is not None:  # one record, outside a batch
            with ThreadPoolExecutor(max_workers=1) as pool:
                self._finish(record, self._start(record, pool))
            return
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
        for webhook in self._webhooks.of_tenant(outcome.tenant_id):
            if not webhook.wants(outcome.detail_type):
                continue
            notice = Notice(
                tenant_id=outcome.tenant_id,
                job_id=outcome.job_id,
                run=outcome.run,
                event_type=outcome.detail_type,
                webhook_id=webhook.webhook_id,
                first_attempt_at=now_iso(),
            )
            self._queue.send(json.dumps({"notice": notice.model_dump(by_alias=True)}))
            logger.info("notification queued", extra={"webhookId": webhook.webhook_id})

    def _start(self, record: SQSRecord, pool: ThreadPoolExecutor) -> _Started:
        bind_work(correlation_id=f"sqs-{record.message_id}", step=STEP)
        try:
            return self._send(record, pool)
        except Exception as error:  # the record's to fail, with its retry delay
            return error

    def _send(self, record: SQSRecord, pool: ThreadPoolExecutor) -> _Sending | None:
        try:
            notice = Notice.model_validate(_notice_message(record.body))
        except ValidationError:
            logger.warning("not a notice; dropped")
            return None
        bind_job(tenant_id=notice.tenant_id, job_id=notice.job_id)
        webhook = self._webhooks.get(notice.tenant_id, notice.webhook_id)
        if webhook is None or not webhook.wants(notice.event_type):
            logger.info("webhook removed, disabled or not for this event; not delivered")
            return None
        outcome = self._outcome(notice)
        if outcome is None:
            return None
        bind_work(correlation_id=outcome.correlation_id, step=STEP)
        bind_job(tenant_id=notice.tenant_id, job_id=notice.job_id)
        if not self._webhooks.claim(
            notice.tenant_id, notice.webhook_id, outcome.event_id, record.message_id
        ):
            logger.info("already notified by another message; not delivered again")
            return None
        body = json.dumps(
            {
                "eventId": outcome.event_id,
                "type": outcome.detail_type,
                "detail": json.loads(outcome.detail_json()),
            }
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "TalkAvocado-Webhooks/1",
            EVENT_ID_HEADER: outcome.event_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(webhook.secret, timestamp, body),
        }
        answer = pool.submit(self._sender.post, webhook.url, body, headers)
        return _Sending(notice, webhook, outcome, answer)

    def _outcome(self, notice: Notice) -> JobOutcome | None:
        """The outcome the notice names, as the pipeline built it: from the
        job's record and manifest, while the record shows it (else None)."""
        job = self._jobs.get(notice.tenant_id, notice.job_id)
        outcome_type = EVENT_TYPES[notice.event_type]
        assert issubclass(outcome_type, JobOutcome)
        if job is None or (job.run, job.status) != (notice.run, outcome_type.job_status):
            logger.warning(
                "the job's record does not show this outcome; not delivered",
                extra={"eventType": notice.event_type, "run": notice.run},
            )
            return None
        keys = JobKeys(job.env, job.tenant_id, job.job_id)
        try:
            manifest, _ = self._manifests.load(keys)
        except StorageObjectMissing:
            logger.warning("the job's manifest is gone; not delivered")
            return None
        if (manifest.tenant_id, manifest.job_id) != (job.tenant_id, job.job_id):
            logger.error("manifest does not belong to the job record; not delivered")
            return None
        outcome = event_for(notice.event_type, job, manifest, job.error)
        assert isinstance(outcome, JobOutcome)
        return outcome

    def _finish(self, record: SQSRecord, started: _Started) -> None:
        if isinstance(started, Exception):
            raise started
        if started is None:
            return
        notice, webhook, outcome = started.notice, started.webhook, started.outcome
        bind_work(correlation_id=outcome.correlation_id, step=STEP)
        bind_job(tenant_id=notice.tenant_id, job_id=notice.job_id)
        result = started.answer.result()
        attempt = int(record.attributes.approximate_receive_count or 1)

        def note(delivery: DeliveryOutcome) -> None:
            self._webhooks.record(
                notice.tenant_id,
                Delivery(
                    webhook_id=webhook.webhook_id,
                    event_id=outcome.event_id,
                    event_type=outcome.detail_type,
                    attempt=attempt,
                    at=now_iso(),
                    outcome=delivery,
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
            self._queue.dead_letter(record.body)
            logger.error(
                "notification not delivered within its retry window; dead-lettered",
                extra={"attempt": attempt, "reason": reason},
            )
            return
        note("failed")
        raise DeliveryFailed(f"the receiver did not take the notification: {reason}")


def _notice_message(body: str) -> Any:
    """The notice a message carries (its ``notice``), or None: an outcome."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return message.get("notice") if isinstance(message, dict) and "notice" in message else None
