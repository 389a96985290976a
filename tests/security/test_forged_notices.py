"""Only a job's own outcome is ever signed. A message put straight on the
notifications queue names at most a job run, an outcome and a webhook; what
is signed is built from the job's record and manifest, and only while the
record shows that outcome of that run. A body of the sender's own is never
delivered."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from talkavocado_local.notify import LoopbackReceiver
from tests.e2e.conftest import Stack

FORGED = "forged by someone else"


@pytest.fixture
def receiver() -> Iterator[LoopbackReceiver]:
    made = LoopbackReceiver()
    yield made
    made.close()


def put_notice(stack: Stack, message: dict[str, Any]) -> None:
    assert stack.runtime.template is not None
    queue = stack.runtime.template.runtime_refs["NotificationsQueue"]
    boto3.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(message))


def settle(stack: Stack, receiver: LoopbackReceiver, count: int) -> None:
    """Until the queue is drained and the receiver got ``count``, or a while more."""
    stack.wait_until_drained("NotificationsQueue")
    deadline = time.monotonic() + 2
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more is on its way


def test_a_notice_put_on_the_queue_never_signs_a_body_of_its_own(
    stack: Stack, receiver: LoopbackReceiver
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    webhook = stack.request("POST", "/webhooks", {"tenantId": tenant, "url": receiver.url}).body
    job_id = stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    pending = stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    assert stack.request("POST", f"/jobs/{job_id}/cancel?tenantId={tenant}").status == 200
    settle(stack, receiver, 1)
    [(_, genuine)] = receiver.received
    genuine_event = json.loads(genuine)
    assert genuine_event["detail"]["jobId"] == job_id

    forged_detail = {**genuine_event["detail"], "status": "completed", "error": FORGED}
    names = {"tenantId": tenant, "webhookId": webhook["webhookId"]}
    forged = [
        # The message as the notifier once queued it, with a body of its own.
        {
            **names,
            "jobId": job_id,
            "correlationId": "x",
            "eventId": str(uuid.uuid4()),
            "eventType": "JobCompleted",
            "body": json.dumps({"eventId": "x", "type": "JobCompleted", "detail": forged_detail}),
            "firstAttemptAt": "2099-01-01T00:00:00Z",
        },
        # Outcomes the job's record does not show.
        {**names, "jobId": job_id, "run": 1, "eventType": "JobCompleted"},
        {**names, "jobId": job_id, "run": 2, "eventType": "JobCancelled"},
        {**names, "jobId": pending, "run": 1, "eventType": "JobFailed"},
        {**names, "jobId": pending, "run": 1, "eventType": "JobCancelled", "body": FORGED},
    ]
    for notice in forged:
        put_notice(stack, {"notice": {"firstAttemptAt": "2099-01-01T00:00:00Z", **notice}})
    # The job's true outcome, asked for again: claimed already, not sent twice.
    true = {**names, "jobId": job_id, "run": 1, "eventType": "JobCancelled"}
    put_notice(stack, {"notice": {**true, "firstAttemptAt": "2099-01-01T00:00:00Z"}})
    settle(stack, receiver, 2)

    assert len(receiver.received) == 1
    assert all(FORGED.encode() not in body for _, body in receiver.received)


def test_a_notice_naming_a_true_outcome_signs_only_what_the_record_shows(
    stack: Stack, receiver: LoopbackReceiver
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    job_id = stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    assert stack.request("POST", f"/jobs/{job_id}/cancel?tenantId={tenant}").status == 200
    stack.wait_until_drained("NotificationsQueue")
    # Registered after the job ended, so only the queued notice can reach it.
    webhook = stack.request("POST", "/webhooks", {"tenantId": tenant, "url": receiver.url}).body
    notice = {
        "tenantId": tenant,
        "jobId": job_id,
        "run": 1,
        "eventType": "JobCancelled",
        "webhookId": webhook["webhookId"],
        "firstAttemptAt": "2099-01-01T00:00:00Z",
    }
    put_notice(stack, {"notice": notice})
    settle(stack, receiver, 1)
    [(headers, body)] = receiver.received
    event = json.loads(body)
    job = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body
    assert (event["type"], event["detail"]["status"]) == ("JobCancelled", "cancelled")
    assert event["detail"]["finishedAt"] and event["detail"]["createdAt"] == job["createdAt"]
    assert event["detail"]["correlationId"] == job["correlationId"]
    assert headers["TalkAvocado-Event-Id"] == event["eventId"]
