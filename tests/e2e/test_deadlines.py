"""Jobs end by themselves on the local stack: the deadline sweep (run here
every half second, with a two-second upload window) expires a job whose
input never came and fails a job stuck in a step with TIMEOUT."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkavocado import wiring
from talkavocado.domain.jobs import JobRecord
from talkavocado.services.transitions import mutate_job
from talkavocado_local.run import upload_file
from tests.e2e.conftest import Stack, running_stack


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory,
        runtime_options={"schedule_seconds": 0.5},
        UPLOAD_WINDOW_SECONDS="2",
        UPLOAD_GRACE_SECONDS="1",
    ) as stack:
        yield stack


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def history_of(stack: Stack, tenant: str, job_id: str) -> list[str]:
    answer = stack.request("GET", f"/jobs/{job_id}/history?tenantId={tenant}")
    assert answer.status == 200
    return [entry["kind"] for entry in answer.body["history"]]


def test_a_job_never_uploaded_expires_after_its_window(quick: Stack, media_dir: Path) -> None:
    tenant = new_tenant()
    created = quick.request("POST", "/jobs", {"tenantId": tenant})
    job_id = created.body["jobId"]

    job = quick.wait_until_finished(tenant, job_id, timeout=30)

    assert (job["status"], job["error"]["type"], job["error"]["step"]) == (
        "failed",
        "UPLOAD_EXPIRED",
        "upload",
    )
    assert history_of(quick, tenant, job_id) == ["created", "expired"]
    assert upload_file(created.body["upload"], media_dir / "tone.mp4") == 403  # expired too
    start = quick.request("POST", f"/jobs/{job_id}/start?tenantId={tenant}")
    assert start.status == 409


def test_a_job_uploaded_in_time_does_not_expire(quick: Stack, media_dir: Path) -> None:
    tenant = new_tenant()
    created = quick.request("POST", "/jobs", {"tenantId": tenant})
    assert upload_file(created.body["upload"], media_dir / "tone.mp4") == 204
    job = quick.wait_until_finished(tenant, created.body["jobId"], timeout=60)
    assert job["status"] == "completed", job["error"]


def test_a_job_stuck_in_a_step_ends_with_timeout_naming_the_step(quick: Stack) -> None:
    tenant = new_tenant()
    job_id = quick.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]

    def stuck_since_long_ago(job: JobRecord) -> None:
        """As if the step's message and its dead letter were both lost."""
        job.mark_started("2020-01-01T00:00:00.000Z", None, "call")
        job.start_step("audio-extraction", "2020-01-01T00:00:00.000Z")

    mutate_job(wiring.jobs(), tenant, job_id, stuck_since_long_ago)

    job = quick.wait_until_finished(tenant, job_id, timeout=30)

    assert (job["status"], job["error"]["type"], job["error"]["step"]) == (
        "failed",
        "TIMEOUT",
        "audio-extraction",
    )
    assert "ran for" in job["error"]["message"]
    assert job["steps"]["audio-extraction"]["status"] == "failed"
    assert history_of(quick, tenant, job_id)[-1] == "failed"
