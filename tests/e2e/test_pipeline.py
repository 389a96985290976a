"""The choreography end to end through the local runtime: EventBridge rules,
SQS queues and DLQs from template.yaml, pollers invoking the real handlers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from talkavocado import wiring
from talkavocado.adapters import ffmpeg
from talkavocado.adapters.eventbridge import EventBridgePublisher
from talkavocado.domain.events import PipelineEvent
from talkavocado.domain.manifest import validate_document
from talkavocado.domain.pipeline import PIPELINE, STEP_NAMES
from talkavocado.errors import ErrorType, StepFailed
from talkavocado.media.commands import align_to_frames
from talkavocado.media.planner import CutPlan
from talkavocado.media.transcript import Transcript
from talkavocado.support import schema_files
from talkavocado.workers import steps
from talkavocado.workers.context import StepContext, StepOutcome
from talkavocado.workers.runner import StepRunner
from talkavocado_local.run import upload_file
from tests.conftest import BROKEN_INPUTS, SAMPLE
from tests.e2e.conftest import Stack, put_event


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def create_job(stack: Stack, tenant: str) -> str:
    """A job with no input file: enough where the steps do not matter."""
    response = stack.request("POST", "/jobs", {"tenantId": tenant})
    assert response.status == 201, response.body
    job_id: str = response.body["jobId"]
    return job_id


def manifest_of(
    stack: Stack, tenant: str, job_id: str, status: str | None = None
) -> dict[str, Any]:
    """The job's manifest; with ``status``, once its copy of the record's
    status says so (the record changes first, its copy right after)."""
    path = stack.storage / "test" / tenant / job_id / "manifest.json"
    deadline = time.monotonic() + 10
    while True:
        document: dict[str, Any] = json.loads(path.read_text())
        if status is None or document["status"] == status or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    validate_document(document)
    return document


@pytest.fixture
def body_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Replace a step's body for one test (the workers are rebuilt)."""

    media_steps = steps.media_steps

    def replace(step: str, body: Any) -> None:
        monkeypatch.setattr(
            steps,
            "media_steps",
            lambda *built: {**media_steps(*built), step: body},
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


def test_the_sample_reaches_completed_with_every_step_and_artifact(stack: Stack) -> None:
    tenant = new_tenant()
    job_id = stack.submit(tenant, SAMPLE)
    job = stack.wait_until_finished(tenant, job_id, timeout=120)

    assert job["status"] == "completed", job["error"]
    assert list(job["steps"]) == list(STEP_NAMES)
    assert all(step["status"] == "completed" for step in job["steps"].values())
    assert all(step["attempts"] == 1 and step["completedAt"] for step in job["steps"].values())
    assert job["progress"] == {"completedSteps": len(PIPELINE), "totalSteps": len(PIPELINE)}
    assert job["error"] is None
    prefix = f"test/{tenant}/{job_id}/"
    assert job["artifacts"] == {
        "audio": f"{prefix}audio/{job_id}.mp3",
        "transcript": f"{prefix}transcripts/transcript.json",
        "plan": f"{prefix}plan/cut_plan.json",
        "renders": [f"{prefix}renders/base_cuts.mp4", f"{prefix}renders/preview.mp4"],
        "peaks": f"{prefix}audio/peaks.json",
        "captions": {
            "srt": f"{prefix}captions/captions.srt",
            "vtt": f"{prefix}captions/captions.vtt",
        },
    }
    manifest = manifest_of(stack, tenant, job_id, "completed")
    assert manifest["status"] == "completed"
    assert [entry["step"] for entry in manifest["logs"]] == list(STEP_NAMES)

    plan = CutPlan.model_validate_json((stack.storage / job["artifacts"]["plan"]).read_bytes())
    schema_files.validate(json.loads(plan.to_json()), "cut_plan.schema.json", "plan")
    source = ffmpeg.probe(SAMPLE, 30)
    assert source.fps is not None
    render = stack.storage / job["artifacts"]["renders"][0]
    rendered = ffmpeg.stream_duration(render, "v", source.fps, 60)
    expected = sum(b - a for a, b in align_to_frames(plan.keeps(), source.fps))
    assert abs(rendered - expected) <= 1 / source.fps + 1e-6
    assert rendered < source.duration - 5  # the pauses are gone
    transcript = Transcript.model_validate_json(
        (stack.storage / job["artifacts"]["transcript"]).read_bytes()
    )
    starts = [word.start for word in transcript.words()]
    assert starts and starts == sorted(starts)


@pytest.mark.parametrize(("name", "message"), BROKEN_INPUTS)
def test_a_broken_file_fails_its_job_with_a_clear_error_and_nothing_half_written(
    stack: Stack, media_dir: Path, name: str, message: str
) -> None:
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / name)
    job = stack.wait_until_finished(tenant, job_id)

    assert job["status"] == "failed"
    assert job["error"]["type"] == "CODEC_UNSUPPORTED"
    assert job["error"]["step"] == "audio-extraction"
    assert message in job["error"]["message"]
    assert job["steps"]["audio-extraction"]["attempts"] == 1
    assert job["artifacts"] == {
        "audio": None,
        "transcript": None,
        "plan": None,
        "renders": [],
        "peaks": None,
        "captions": None,
    }
    job_dir = stack.storage / "test" / tenant / job_id
    assert sorted(p.name for p in job_dir.iterdir()) == ["input", "manifest.json"]


def test_a_job_without_a_declared_input_waits_for_its_upload_then_completes(
    stack: Stack, media_dir: Path
) -> None:
    tenant = new_tenant()
    created = stack.request("POST", "/jobs", {"tenantId": tenant})  # the seed's request
    assert created.status == 201 and created.body["status"] == "pending"
    job_id = created.body["jobId"]
    early = stack.request("POST", f"/jobs/{job_id}/start?tenantId={tenant}")
    assert (early.status, early.body["error"]["code"]) == (409, "INPUT_MISSING")
    assert stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body["status"] == "pending"

    assert upload_file(created.body["upload"], media_dir / "tone.mp4") == 204
    job = stack.wait_until_finished(tenant, job_id)
    assert job["status"] == "completed", job["error"]


def test_every_message_delivered_twice_gives_the_same_result(
    stack: Stack, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = new_tenant()
    reference_id = stack.submit(tenant, media_dir / "tone.mp4")
    reference = stack.wait_until_finished(tenant, reference_id)

    publish = EventBridgePublisher.publish

    def publish_twice(self: EventBridgePublisher, event: PipelineEvent) -> None:
        publish(self, event)
        publish(self, event)

    monkeypatch.setattr(EventBridgePublisher, "publish", publish_twice)
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    job = stack.wait_until_finished(tenant, job_id)
    stack.wait_until_settled()  # every duplicate consumed
    job = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body

    def shape(found: dict[str, Any]) -> Any:
        return (
            found["status"],
            json.dumps(found["artifacts"]).replace(found["jobId"], "<job>"),
            {name: (s["status"], s["attempts"]) for name, s in found["steps"].items()},
        )

    assert shape(job) == shape(reference)
    logs = manifest_of(stack, tenant, job_id)["logs"]
    assert [entry["step"] for entry in logs] == list(STEP_NAMES)


def test_a_crash_between_recording_and_publishing_still_completes(
    stack: Stack, media_dir: Path, monkeypatch: pytest.MonkeyPatch
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
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    job = stack.wait_until_finished(tenant, job_id)

    assert crashed == [job_id]
    assert job["status"] == "completed"
    assert job["steps"]["transcription"]["attempts"] == 1  # recorded once, not re-run


def test_a_crash_while_failing_a_job_still_records_and_announces_the_failure(
    stack: Stack, media_dir: Path, body_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(context: StepContext) -> StepOutcome:
        raise StepFailed(ErrorType.CODEC_UNSUPPORTED, "the input has no audio track")

    body_of("smart-cut-planner", broken)
    crashed: list[str] = []
    announced: list[str] = []
    publish = EventBridgePublisher.publish

    def crash_before_the_first_job_failed(self: EventBridgePublisher, event: PipelineEvent) -> None:
        if event.detail_type == "JobFailed":
            if not crashed:
                crashed.append(event.job_id)
                raise RuntimeError("simulated crash after the failure was recorded")
            announced.append(event.job_id)
        publish(self, event)

    monkeypatch.setattr(EventBridgePublisher, "publish", crash_before_the_first_job_failed)
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    job = stack.wait_until_finished(tenant, job_id)
    assert (job["status"], job["error"]["type"]) == ("failed", "CODEC_UNSUPPORTED")
    # The failure was recorded before the crash: the manifest says so already.
    assert manifest_of(stack, tenant, job_id, "failed")["status"] == "failed"
    deadline = time.monotonic() + 30
    while not announced and time.monotonic() < deadline:
        time.sleep(0.1)
    assert crashed == announced == [job_id]  # redelivery finished the failure
    assert stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body["error"] == job["error"]


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
    stack: Stack, media_dir: Path, body_of: Any, raised: Exception, error_type: str
) -> None:
    def broken(context: StepContext) -> StepOutcome:
        raise raised

    body_of("smart-cut-planner", broken)
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    job = stack.wait_until_finished(tenant, job_id)

    assert job["status"] == "failed"
    assert job["error"]["type"] == error_type
    assert job["error"]["step"] == "smart-cut-planner"
    assert job["error"]["message"]
    planner = job["steps"]["smart-cut-planner"]
    assert (planner["status"], planner["attempts"]) == ("failed", 1)
    assert job["steps"]["video-render"]["status"] == "pending"
    manifest = manifest_of(stack, tenant, job_id, "failed")
    assert manifest["status"] == "failed"
    [error_entry] = [entry for entry in manifest["logs"] if entry["type"] == "error"]
    assert error_entry["step"] == "smart-cut-planner"
    assert error_type in error_entry["message"]


def failing_in_run_1(step: str) -> Any:
    """The step's real body, with a bug its first run hits (fixed by a retry)."""
    real_bodies = steps.media_steps

    def body(context: StepContext) -> StepOutcome:
        if context.job.run == 1:
            raise StepFailed(ErrorType.UNKNOWN, "a bug, since fixed")
        return real_bodies(wiring.step_settings(), ffmpeg, wiring.transcription_engine)[step](
            context
        )

    return body


def test_a_failed_job_retried_resumes_at_its_failed_step_as_a_new_run_and_completes(
    stack: Stack, media_dir: Path, body_of: Any
) -> None:
    body_of("video-render", failing_in_run_1("video-render"))
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    assert stack.wait_until_finished(tenant, job_id)["status"] == "failed"

    retried = stack.request("POST", f"/jobs/{job_id}/retry?tenantId={tenant}")
    assert (retried.status, retried.body["status"]) == (202, "processing")
    job = stack.wait_until_finished(tenant, job_id)
    assert (job["status"], job["run"], job["error"]) == ("completed", 2, None)
    assert all(step["attempts"] == 1 for step in job["steps"].values())
    runs = {name: step["run"] for name, step in job["steps"].items()}
    render = STEP_NAMES.index("video-render")  # the steps before it are reused:
    assert runs == {name: 1 if n < render else 2 for n, name in enumerate(STEP_NAMES)}
    assert manifest_of(stack, tenant, job_id, "completed")["status"] == "completed"
    again = stack.request("POST", f"/jobs/{job_id}/retry?tenantId={tenant}")
    assert (again.status, again.body["error"]["code"]) == (409, "INVALID_TRANSITION")

    history = stack.request("GET", f"/jobs/{job_id}/history?tenantId={tenant}&limit=100")
    assert history.status == 200
    said = [(e["kind"], e["run"], e.get("step")) for e in history.body["history"]]
    ran = ("step-started", "step-completed")
    run_1 = [(kind, 1, step) for step in STEP_NAMES[:render] for kind in ran]
    run_2 = [(kind, 2, step) for step in STEP_NAMES[render:] for kind in ran]
    assert said == [
        ("created", 1, None),
        ("started", 1, None),
        *run_1,
        ("step-started", 1, "video-render"),
        ("failed", 1, "video-render"),
        ("retried", 2, None),
        *run_2,
        ("completed", 2, None),
    ]
    assert history.body["history"][5 + len(run_1) - 1]["resumeAt"] == "video-render"
    other = stack.request("GET", f"/jobs/{job_id}/history?tenantId={new_tenant()}")
    assert other.status == 404


def test_a_retry_from_start_runs_every_step_again(
    stack: Stack, media_dir: Path, body_of: Any
) -> None:
    body_of("video-render", failing_in_run_1("video-render"))
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    assert stack.wait_until_finished(tenant, job_id)["status"] == "failed"
    retried = stack.request("POST", f"/jobs/{job_id}/retry?tenantId={tenant}&from=start")
    assert retried.status == 202
    job = stack.wait_until_finished(tenant, job_id)
    assert job["status"] == "completed"
    assert {step["run"] for step in job["steps"].values()} == {2}


def test_a_job_cancelled_mid_step_goes_no_further(
    stack: Stack, media_dir: Path, body_of: Any
) -> None:
    real_bodies = steps.media_steps
    planning = threading.Event()

    def plans_until_cancelled(context: StepContext) -> StepOutcome:
        planning.set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job = wiring.jobs().get(context.keys.tenant_id, context.keys.job_id)
            if job is not None and job.status == "cancelled":
                break
            time.sleep(0.05)
        return real_bodies(wiring.step_settings(), ffmpeg, wiring.transcription_engine)[
            "smart-cut-planner"
        ](context)

    body_of("smart-cut-planner", plans_until_cancelled)
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    assert planning.wait(30)
    cancelled = stack.request("POST", f"/jobs/{job_id}/cancel?tenantId={tenant}")
    assert (cancelled.status, cancelled.body["status"]) == (200, "cancelled")
    stack.wait_until_settled()  # the planner finishes; nothing may follow it

    job = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body
    assert job["status"] == "cancelled"
    assert job["steps"]["video-render"]["status"] == "pending"
    assert job["artifacts"]["renders"] == []
    assert manifest_of(stack, tenant, job_id, "cancelled")["status"] == "cancelled"
    assert stack.request("POST", f"/jobs/{job_id}/retry?tenantId={tenant}").status == 409


def test_a_message_that_keeps_failing_goes_to_the_dlq_and_fails_its_job(
    stack: Stack, media_dir: Path, body_of: Any
) -> None:
    def unreachable(context: StepContext) -> StepOutcome:
        raise StepFailed(ErrorType.TRANSIENT_DEPENDENCY, "the transcription service is down")

    body_of("transcription", unreachable)
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    job = stack.wait_until_finished(tenant, job_id, timeout=60)

    assert job["status"] == "failed"
    assert job["error"]["type"] == "TRANSIENT_DEPENDENCY"
    assert job["error"]["step"] == "transcription"
    assert job["error"]["message"].startswith("gave up after 5 attempts")
    assert job["steps"]["transcription"]["attempts"] == 5
    assert manifest_of(stack, tenant, job_id, "failed")["status"] == "failed"


def test_a_malformed_message_naming_a_job_is_dropped_and_changes_nothing(
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
    refs = stack.runtime.template.runtime_refs
    boto3.client("sqs").send_message(
        QueueUrl=refs["AudioExtractionQueue"], MessageBody=json.dumps(poison)
    )
    stack.wait_until_drained("AudioExtractionQueue")

    job = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body
    assert job["status"] == "pending" and job["error"] is None
    assert stack.queue_depth("AudioExtractionDeadLetterQueue") == 0  # not retried to death


def test_a_late_event_for_an_earlier_step_changes_nothing(stack: Stack, media_dir: Path) -> None:
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    done = stack.wait_until_finished(tenant, job_id)
    manifest_before = manifest_of(stack, tenant, job_id, "completed")

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
    stack.wait_until_settled()
    after = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body

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
    stack.wait_until_settled()
    job = stack.request("GET", f"/jobs/{job_id}?tenantId={owner}").body

    assert job["status"] == "pending"
    assert all(step["attempts"] == 0 for step in job["steps"].values())
    assert stack.request("GET", f"/jobs/{job_id}?tenantId={intruder}").status == 404
    assert not (Path(stack.storage) / "test" / intruder).exists()


def test_every_log_line_of_a_job_carries_correlation_tenant_job_and_step(
    stack: Stack, media_dir: Path, log_lines: list[dict[str, Any]]
) -> None:
    tenant = new_tenant()
    job_id = stack.submit(tenant, media_dir / "tone.mp4")
    stack.wait_until_finished(tenant, job_id)
    stack.wait_until_settled()

    assert len(log_lines) > 10
    required = ("correlationId", "tenantId", "jobId", "step")
    missing = [line for line in log_lines if any(line.get(k) in (None, "", "-") for k in required)]
    assert missing == []
    assert {line["step"] for line in log_lines} >= {"api", *STEP_NAMES}


def test_events_of_an_earlier_run_put_around_retries_never_change_the_new_run(
    stack: Stack, media_dir: Path, body_of: Any
) -> None:
    """A small soak: jobs fail in run 1, and every run-1 event (and a run-1
    dead letter) is put again just before and just after each retry."""
    body_of("video-render", failing_in_run_1("video-render"))
    tenant = new_tenant()
    jobs = [stack.submit(tenant, media_dir / "tone.mp4") for _ in range(4)]
    for job_id in jobs:
        assert stack.wait_until_finished(tenant, job_id, timeout=120)["status"] == "failed"
    assert stack.runtime.template is not None
    refs = stack.runtime.template.runtime_refs
    sqs = boto3.client("sqs")

    def old_run(job_id: str) -> None:
        detail = {
            "env": "test",
            "tenantId": tenant,
            "jobId": job_id,
            "correlationId": "run-1-again",
            "run": 1,
            "manifestKey": f"test/{tenant}/{job_id}/manifest.json",
        }
        for step in PIPELINE:
            put_event(step.consumes, detail)
        dead_letter = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CutPlanReady",
            "source": "talkavocado.pipeline",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
        sqs.send_message(
            QueueUrl=refs["VideoRenderDeadLetterQueue"], MessageBody=json.dumps(dead_letter)
        )

    for job_id in jobs:
        old_run(job_id)
        retried = stack.request("POST", f"/jobs/{job_id}/retry?tenantId={tenant}")
        assert retried.status == 202
        old_run(job_id)
    for job_id in jobs:
        job = stack.wait_until_finished(tenant, job_id, timeout=120)
        assert (job["status"], job["run"], job["error"]) == ("completed", 2, None)
        assert job["steps"]["video-render"]["run"] == 2
