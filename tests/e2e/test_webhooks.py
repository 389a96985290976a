"""Webhooks on the local stack: a receiver on loopback gets exactly one
signed notification per finished job run, verifiable with the README's
recipe; failures are retried with backoff, a receiver down for good ends in
the dead-letter queue with its webhook failing, and tenants never see each
other's jobs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from talkavocado.adapters.eventbridge import EventBridgePublisher
from talkavocado.domain.events import PipelineEvent
from talkavocado_local.notify import LoopbackReceiver
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Stack, put_event, running_stack


def readme_recipe() -> Callable[[str, dict[str, str], bytes], bool]:
    """The verification recipe exactly as the README prints it."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index("### Verifying a notification") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n\n")]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    verify: Callable[[str, dict[str, str], bytes], bool] = namespace["verify"]
    return verify


class Receiver(LoopbackReceiver):
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture(scope="module")
def hooks_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory, WEBHOOK_RETRY_BASE_SECONDS="0.5", WEBHOOK_RETRY_SECONDS="4"
    ) as stack:
        yield stack


@pytest.fixture
def receivers() -> Iterator[Callable[[list[int]], Receiver]]:
    made: list[Receiver] = []

    def make(answers: list[int]) -> Receiver:
        made.append(Receiver(tuple(answers)))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def register(stack: Stack, tenant: str, url: str, **extra: Any) -> dict[str, Any]:
    answer = stack.request("POST", "/webhooks", {"tenantId": tenant, "url": url, **extra})
    assert answer.status == 201, answer.body
    body: dict[str, Any] = answer.body
    return body


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_each_finished_job_is_notified_once_signed_and_only_to_its_tenant(
    hooks_stack: Stack, media_dir: Path, receivers: Callable[[list[int]], Receiver]
) -> None:
    tenant, other = new_tenant(), new_tenant()
    mine, theirs = receivers([204]), receivers([204])
    webhook = register(hooks_stack, tenant, mine.url)
    register(hooks_stack, other, theirs.url)
    listed = hooks_stack.request("GET", f"/webhooks?tenantId={tenant}").body["webhooks"]
    assert [w["webhookId"] for w in listed] == [webhook["webhookId"]]
    assert "secret" not in listed[0]

    completed = hooks_stack.submit(tenant, media_dir / "tone.mp4")
    failed = hooks_stack.submit(tenant, media_dir / "text.mp4")  # not a video: fails
    cancelled = hooks_stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    assert hooks_stack.request("POST", f"/jobs/{cancelled}/cancel?tenantId={tenant}").status == 200
    for job_id in (completed, failed):
        hooks_stack.wait_until_finished(tenant, job_id)
    wait_for(lambda: len(mine.received) >= 3)
    hooks_stack.wait_until_drained("NotificationsQueue")

    by_job = {event["detail"]["jobId"]: event for event in mine.events()}
    assert len(mine.received) == 3 and set(by_job) == {completed, failed, cancelled}
    assert by_job[completed]["type"] == "JobCompleted"
    assert by_job[completed]["detail"]["renderKeys"]
    assert by_job[failed]["detail"]["error"]["type"] == "CODEC_UNSUPPORTED"
    assert by_job[cancelled]["detail"]["status"] == "cancelled"
    verify = readme_recipe()
    for headers, body in mine.received:
        assert verify(webhook["secret"], headers, body)
        assert not verify("whsec_wrong", headers, body)
        assert headers["TalkAvocado-Event-Id"] == json.loads(body)["eventId"]
    assert theirs.received == []  # another tenant's jobs never reach it

    # The same outcome put on the bus again changes nothing.
    put_event("JobCompleted", by_job[completed]["detail"])
    hooks_stack.wait_until_drained("NotificationsQueue")
    assert len(mine.received) == 3


def test_a_receiver_that_fails_three_times_gets_it_on_the_fourth_attempt(
    hooks_stack: Stack, receivers: Callable[[list[int]], Receiver]
) -> None:
    tenant = new_tenant()
    flaky = receivers([500, 503, 429, 200])
    webhook = register(hooks_stack, tenant, flaky.url, eventTypes=["JobCancelled"])
    job_id = hooks_stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    hooks_stack.request("POST", f"/jobs/{job_id}/cancel?tenantId={tenant}")

    wait_for(lambda: len(flaky.received) >= 4)
    hooks_stack.wait_until_drained("NotificationsQueue")
    deliveries = hooks_stack.request(
        "GET", f"/webhooks/{webhook['webhookId']}/deliveries?tenantId={tenant}"
    ).body["deliveries"]
    assert [(d["attempt"], d["outcome"], d["statusCode"]) for d in deliveries] == [
        (4, "delivered", 200),
        (3, "failed", 429),
        (2, "failed", 503),
        (1, "failed", 500),
    ]
    assert len({json.loads(body)["eventId"] for _, body in flaky.received}) == 1


def test_a_receiver_down_for_good_ends_in_the_dead_letter_queue_marked_failing(
    hooks_stack: Stack, receivers: Callable[[list[int]], Receiver]
) -> None:
    tenant = new_tenant()
    down = receivers([502])
    webhook = register(hooks_stack, tenant, down.url)
    before = hooks_stack.queue_depth("NotificationsDeadLetterQueue")
    job_id = hooks_stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    hooks_stack.request("POST", f"/jobs/{job_id}/cancel?tenantId={tenant}")

    wait_for(lambda: hooks_stack.queue_depth("NotificationsDeadLetterQueue") > before, 60)
    [listed] = hooks_stack.request("GET", f"/webhooks?tenantId={tenant}").body["webhooks"]
    assert (listed["webhookId"], listed["state"], listed["reason"]) == (
        webhook["webhookId"],
        "failing",
        "HTTP 502",
    )
    outcomes = [
        d["outcome"]
        for d in hooks_stack.request(
            "GET", f"/webhooks/{webhook['webhookId']}/deliveries?tenantId={tenant}"
        ).body["deliveries"]
    ]
    assert outcomes[0] == "gave-up" and set(outcomes[1:]) == {"failed"}


def test_a_receiver_that_answers_410_is_disabled(
    hooks_stack: Stack, receivers: Callable[[list[int]], Receiver]
) -> None:
    tenant = new_tenant()
    gone = receivers([410])
    register(hooks_stack, tenant, gone.url)
    for _ in range(2):
        job_id = hooks_stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
        hooks_stack.request("POST", f"/jobs/{job_id}/cancel?tenantId={tenant}")
        hooks_stack.wait_until_drained("NotificationsQueue")
    [listed] = hooks_stack.request("GET", f"/webhooks?tenantId={tenant}").body["webhooks"]
    assert listed["state"] == "disabled"
    assert len(gone.received) == 1  # nothing more after its 410


def test_webhooks_are_limited_per_tenant_and_removed_by_their_tenant_only(
    hooks_stack: Stack,
) -> None:
    tenant, other = new_tenant(), new_tenant()
    made = [register(hooks_stack, tenant, "http://127.0.0.1:9/x") for _ in range(5)]
    refused = hooks_stack.request(
        "POST", "/webhooks", {"tenantId": tenant, "url": "http://127.0.0.1:9/y"}
    )
    assert (refused.status, refused.body["error"]["code"]) == (409, "WEBHOOK_LIMIT_REACHED")
    first = made[0]["webhookId"]
    assert hooks_stack.request("DELETE", f"/webhooks/{first}?tenantId={other}").status == 404
    assert hooks_stack.request("DELETE", f"/webhooks/{first}?tenantId={tenant}").status == 204
    assert hooks_stack.request("DELETE", f"/webhooks/{first}?tenantId={tenant}").status == 404
    register(hooks_stack, tenant, "http://127.0.0.1:9/z")  # room again


def test_every_event_delivered_twice_still_notifies_once_per_job_run(
    hooks_stack: Stack,
    media_dir: Path,
    receivers: Callable[[list[int]], Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish = EventBridgePublisher.publish

    def publish_twice(self: EventBridgePublisher, event: PipelineEvent) -> None:
        publish(self, event)
        publish(self, event)

    monkeypatch.setattr(EventBridgePublisher, "publish", publish_twice)
    tenant = new_tenant()
    receiver = receivers([200])
    register(hooks_stack, tenant, receiver.url)
    jobs = [hooks_stack.submit(tenant, media_dir / "tone.mp4") for _ in range(3)]
    jobs.append(hooks_stack.submit(tenant, media_dir / "text.mp4"))
    for job_id in jobs:
        hooks_stack.wait_until_finished(tenant, job_id)
    wait_for(lambda: len(receiver.received) >= len(jobs))
    for queue in ("NotificationsQueue", "JobFinalizerQueue", "AudioExtractionQueue"):
        hooks_stack.wait_until_drained(queue)

    notified = sorted(event["detail"]["jobId"] for event in receiver.events())
    assert notified == sorted(jobs)


def test_a_forged_outcome_for_a_job_that_did_not_end_so_notifies_no_one(
    hooks_stack: Stack, receivers: Callable[[list[int]], Receiver]
) -> None:
    tenant = new_tenant()
    receiver = receivers([200])
    register(hooks_stack, tenant, receiver.url)
    job_id = hooks_stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    put_event(
        "JobCompleted",
        {
            "env": "test",
            "tenantId": tenant,
            "jobId": job_id,
            "correlationId": "forged",
            "run": 1,
            "manifestKey": f"test/{tenant}/{job_id}/manifest.json",
        },
    )
    hooks_stack.wait_until_drained("NotificationsQueue")
    assert receiver.received == []  # the job is still pending
