"""The choreography end to end through the local runtime: EventBridge rules,
SQS queues and DLQs from template.yaml, pollers invoking the real handlers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from talkavocado import wiring
from talkavocado.adapters.eventbridge import EventBridgePublisher
from talkavocado.errors import ErrorType, StepFailed
from talkavocado.events import PipelineEvent
from talkavocado.manifest import validate_document
from talkavocado.pipeline import STEP_NAMES
from talkavocado.workers import steps
from talkavocado.workers.context import StepContext, StepOutcome
from talkavocado.workers.runner import StepRunner
from tests.e2e.conftest import Stack

WORK_STEPS = STEP_NAMES[:-1]


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def create_job(stack: Stack, tenant: str, **extra: Any) -> str:
    response = stack.request("POST", "/jobs", {"tenantId": tenant, **extra})
    assert response.status == 201, response.body
    job_id: str = response.body["jobId"]
    return job_id


def manifest_of(stack: Stack, tenant: str, job_id: str) -> dict[str, Any]:
    path = stack.storage / "test" / tenant / job_id / "manifest.json"
    document: dict[str, Any] = json.loads(path.read_text())
    validate_document(document)
    return document


def put_event(detail_type: str, detail: dict[str, Any]) -> None:
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": "talkavocado.pipeline",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": "talkavocado-test",
            }
        ]
    )


@pytest.fixture
def body_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Replace a step's body for one test (the workers are rebuilt)."""

    media_steps = steps.media_steps

    def replace(step: str, body: Any) -> None:
        monkeypatch.setattr(
            steps, "media_steps", lambda settings: {**media_steps(settings), step: body}
        )
        wiring.reset()

    yield replace
    wiring.reset()


@pytest.fixture
def not_started(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Jobs created in this test wait in pending: no JobCreated is published."""
    monkeypatch.setenv("START_ON_CREATE", "false")
    wiring.reset()
    yield
    wiring.reset()


def test_a_job_reaches_completed_with_every_step_recorded(stack: Stack) -> None:
    tenant = new_tenant()
    job_id = create_job(stack, tenant)
    job = stack.wait_until_finished(tenant, job_id)

    assert job["status"] == "completed"
    assert list(job["steps"]) == list(STEP_NAMES)
    assert all(job["steps"][name]["status"] == "skipped" for name in WORK_STEPS)
    assert job["steps"]["job-finalizer"]["status"] == "completed"
    assert all(step["attempts"] == 1 and step["completedAt"] for step in job["steps"].values())
    assert job["progress"] == {"completedSteps": 5, "totalSteps": 5}
    assert job["error"] is None
    manifest = manifest_of(stack, tenant, job_id)
    assert manifest["status"] == "completed"
    assert [entry["step"] for entry in manifest["logs"]] == list(STEP_NAMES)


def test_every_message_delivered_twice_gives_the_same_result(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = new_tenant()
    reference_id = create_job(stack, tenant)
    reference = stack.wait_until_finished(tenant, reference_id)

    publish = EventBridgePublisher.publish

    def publish_twice(self: EventBridgePublisher, event: PipelineEvent) -> None:
        publish(self, event)
        publish(self, event)

    monkeypatch.setattr(EventBridgePublisher, "publish", publish_twice)
    job_id = create_job(stack, tenant)
    job = stack.wait_until_finished(tenant, job_id)
    stack.wait_for_job(tenant, job_id, lambda _: False, timeout=2)  # let duplicates drain
    job = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body

    def shape(found: dict[str, Any]) -> Any:
        return (
            found["status"],
            found["artifacts"],
            {name: (s["status"], s["attempts"]) for name, s in found["steps"].items()},
        )

    assert shape(job) == shape(reference)
    logs = manifest_of(stack, tenant, job_id)["logs"]
    assert [entry["step"] for entry in logs] == list(STEP_NAMES)


def test_a_crash_between_recording_and_publishing_still_completes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed: list[str] = []
    publish = StepRunner._publish

    def crash_once(self: StepRunner, event: PipelineEvent) -> None:
        if self.step.name == "transcription" and not crashed:
            crashed.append(event.job_id)
            raise RuntimeError("simulated crash after the step was recorded")
        publish(self, event)

    monkeypatch.setattr(StepRunner, "_publish", crash_once)
    tenant = new_tenant()
    job_id = create_job(stack, tenant)
    job = stack.wait_until_finished(tenant, job_id)

    assert crashed == [job_id]
    assert job["status"] == "completed"
    assert job["steps"]["transcription"]["attempts"] == 1  # recorded once, not re-run


@pytest.mark.parametrize(
    ("raised", "error_type"),
    [
        (
            StepFailed(ErrorType.CODEC_UNSUPPORTED, "the input has no audio track"),
            "CODEC_UNSUPPORTED",
        ),
        (StepFailed(ErrorType.INPUT_MISSING, "the input file is gone"), "INPUT_MISSING"),
        (RuntimeError("a bug"), "UNKNOWN"),
    ],
)
def test_a_permanent_error_fails_the_job_at_once_with_its_type(
    stack: Stack, body_of: Any, raised: Exception, error_type: str
) -> None:
    def broken(context: StepContext) -> StepOutcome:
        raise raised

    body_of("smart-cut-planner", broken)
    tenant = new_tenant()
    job_id = create_job(stack, tenant)
    job = stack.wait_until_finished(tenant, job_id)

    assert job["status"] == "failed"
    assert job["error"]["type"] == error_type
    assert job["error"]["step"] == "smart-cut-planner"
    assert job["error"]["message"]
    planner = job["steps"]["smart-cut-planner"]
    assert (planner["status"], planner["attempts"]) == ("failed", 1)
    assert job["steps"]["video-render"]["status"] == "pending"
    manifest = manifest_of(stack, tenant, job_id)
    assert manifest["status"] == "failed"
    [error_entry] = [entry for entry in manifest["logs"] if entry["type"] == "error"]
    assert error_entry["step"] == "smart-cut-planner"
    assert error_type in error_entry["message"]


def test_a_message_that_keeps_failing_goes_to_the_dlq_and_fails_its_job(
    stack: Stack, body_of: Any
) -> None:
    def unreachable(context: StepContext) -> StepOutcome:
        raise StepFailed(ErrorType.TRANSIENT_DEPENDENCY, "the transcription service is down")

    body_of("transcription", unreachable)
    tenant = new_tenant()
    job_id = create_job(stack, tenant)
    job = stack.wait_until_finished(tenant, job_id, timeout=60)

    assert job["status"] == "failed"
    assert job["error"]["type"] == "TRANSIENT_DEPENDENCY"
    assert job["error"]["step"] == "transcription"
    assert job["error"]["message"].startswith("gave up after 5 attempts")
    assert job["steps"]["transcription"]["attempts"] == 5
    assert manifest_of(stack, tenant, job_id)["status"] == "failed"


def test_a_malformed_message_naming_a_job_is_dead_lettered_and_fails_it(
    stack: Stack, not_started: None
) -> None:
    tenant = new_tenant()
    job_id = create_job(stack, tenant)
    assert stack.runtime.template is not None
    poison = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "JobCreated",
        "source": "talkavocado.pipeline",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"tenantId": tenant, "jobId": job_id, "run": 1},  # no env, keys...
    }
    boto3.client("sqs").send_message(
        QueueUrl=stack.runtime.template.runtime_refs["AudioExtractionQueue"],
        MessageBody=json.dumps(poison),
    )
    job = stack.wait_until_finished(tenant, job_id, timeout=60)

    assert job["status"] == "failed"
    assert job["error"]["type"] == "UNKNOWN"
    assert job["error"]["step"] == "audio-extraction"


def test_a_late_event_for_an_earlier_step_changes_nothing(stack: Stack) -> None:
    tenant = new_tenant()
    job_id = create_job(stack, tenant)
    done = stack.wait_until_finished(tenant, job_id)
    manifest_before = manifest_of(stack, tenant, job_id)

    detail = {
        "env": "test",
        "tenantId": tenant,
        "jobId": job_id,
        "correlationId": "late",
        "run": 1,
        "manifestKey": f"test/{tenant}/{job_id}/manifest.json",
    }
    put_event("JobCreated", detail)
    put_event("CutPlanReady", detail)
    after = stack.wait_for_job(tenant, job_id, lambda _: False, timeout=2)

    assert after["status"] == "completed"
    assert after["steps"] == done["steps"]
    assert manifest_of(stack, tenant, job_id) == manifest_before


def test_an_event_whose_tenant_does_not_own_the_job_changes_nothing(
    stack: Stack, not_started: None
) -> None:
    owner, intruder = new_tenant(), new_tenant()
    job_id = create_job(stack, owner)
    base = {"env": "test", "correlationId": "forged", "run": 1, "jobId": job_id}
    put_event(
        "JobCreated",
        {**base, "tenantId": intruder, "manifestKey": f"test/{intruder}/{job_id}/manifest.json"},
    )
    put_event(
        "JobCreated",
        {
            **base,
            "tenantId": owner,
            "manifestKey": f"test/{owner}/{job_id}/manifest.json",
            "sourceKey": f"test/{intruder}/{job_id}/input/x.mp4",
        },
    )
    job = stack.wait_for_job(owner, job_id, lambda _: False, timeout=3)

    assert job["status"] == "pending"
    assert all(step["attempts"] == 0 for step in job["steps"].values())
    assert stack.request("GET", f"/jobs/{job_id}?tenantId={intruder}").status == 404
    assert not (Path(stack.storage) / "test" / intruder).exists()


def test_every_log_line_of_a_job_carries_correlation_tenant_job_and_step(
    stack: Stack, log_lines: list[dict[str, Any]]
) -> None:
    tenant = new_tenant()
    job_id = create_job(stack, tenant)
    stack.wait_until_finished(tenant, job_id)
    stack.wait_for_job(tenant, job_id, lambda _: False, timeout=1)

    assert len(log_lines) > 10
    required = ("correlationId", "tenantId", "jobId", "step")
    missing = [line for line in log_lines if any(line.get(k) in (None, "", "-") for k in required)]
    assert missing == []
    assert {line["step"] for line in log_lines} >= {"api", *STEP_NAMES}
