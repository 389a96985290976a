"""A local stack you can stop and start again: jobs and queued work
survive (the claims of running steps do not), a stop in the middle of a
render fails nothing, and every interrupted job completes after the restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from talkavocado_local.run import upload_file
from tests.conftest import SAMPLE
from tests.e2e.conftest import Stack, running_stack

KEEP = {"keep_state": True, "grace_seconds": 0.2}


def started_job(stack: Stack, tenant: str, clip: Path) -> str:
    source = {"originalFilename": clip.name, "bytes": clip.stat().st_size, "mimeType": "video/mp4"}
    created = stack.request("POST", "/jobs", {"tenantId": tenant, "input": source})
    assert created.status == 201, created.body
    job_id: str = created.body["jobId"]
    assert upload_file(created.body["upload"], clip) == 204
    assert stack.request("POST", f"/jobs/{job_id}/start?tenantId={tenant}").status == 202
    return job_id


def test_a_restart_keeps_every_job_and_finishes_the_interrupted_ones(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    storage = tmp_path_factory.mktemp("kept")
    with running_stack(tmp_path_factory, storage, KEEP) as first:
        waiting = first.request(
            "POST",
            "/jobs",
            {
                "tenantId": "tenant-kept",
                "input": {"originalFilename": "later.mp4", "bytes": 10, "mimeType": "video/mp4"},
            },
        ).body["jobId"]
        rendering = started_job(first, "tenant-kept", SAMPLE)
        job = first.wait_for_job(
            "tenant-kept",
            rendering,
            lambda j: j["steps"]["video-render"]["status"] == "running",
            timeout=120,
        )
        assert job["steps"]["video-render"]["status"] == "running", job
        # Stopped at once: the sample renders in about a second, and a longer
        # wait let it finish before the stop on a fast run.
        time.sleep(0.1)  # the step's ffmpeg (probe or render) is running
    # stopped mid-render: nothing failed, and the state is on disk
    snapshot = json.loads((storage / ".state" / "test.json").read_text())
    assert snapshot["tables"]["talkavocado-test-jobs"]

    with running_stack(tmp_path_factory, storage, KEEP) as second:
        assert second.runtime.restored is not None and second.runtime.restored.items >= 2
        listed = second.request("GET", "/jobs?tenantId=tenant-kept").body["jobs"]
        assert {job["jobId"] for job in listed} == {waiting, rendering}
        done = second.wait_until_finished("tenant-kept", rendering, timeout=180)
        assert done["status"] == "completed", done["error"]
        assert done["steps"]["video-render"]["attempts"] >= 2  # interrupted once, then again
        pending = second.request("GET", f"/jobs/{waiting}?tenantId=tenant-kept").body
        assert pending["status"] == "pending"
        again = second.request("POST", "/jobs", {"tenantId": "tenant-kept", "jobId": waiting})
        assert again.status == 409  # an old jobId is never silently reused


def test_a_fresh_stack_reports_files_without_records_and_adopts_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    storage = tmp_path_factory.mktemp("orphans")
    with running_stack(tmp_path_factory, storage) as unsaved:  # keeps no state
        orphan = unsaved.submit("tenant-orphan", SAMPLE)
    with running_stack(tmp_path_factory, storage, KEEP) as second:
        mismatch = second.runtime.mismatch
        assert mismatch is not None
        assert mismatch.manifests_without_record == [f"tenant-orphan/{orphan}"]
        reused = second.request("POST", "/jobs", {"tenantId": "tenant-orphan", "jobId": orphan})
        assert reused.status == 409
        assert second.request("GET", "/jobs?tenantId=tenant-orphan").body["jobs"] == []
