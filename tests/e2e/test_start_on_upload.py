"""Start on upload: a job whose input is stored starts by itself, through the
storage's Object Created event (the local upload route's, or the emulator's
S3 notification to EventBridge), and a start call besides starts it once."""

from __future__ import annotations

from pathlib import Path

from talkavocado_local.run import upload_file
from tests.e2e.conftest import Stack


def created(stack: Stack, tenant: str, clip: Path) -> tuple[str, dict[str, object]]:
    source = {"originalFilename": clip.name, "bytes": clip.stat().st_size, "mimeType": "video/mp4"}
    answer = stack.request("POST", "/jobs", {"tenantId": tenant, "input": source})
    assert answer.status == 201, answer.body
    return answer.body["jobId"], answer.body["upload"]


def test_an_uploaded_job_starts_by_itself_and_completes(
    any_storage_stack: Stack, media_dir: Path
) -> None:
    clip = media_dir / "tone.mp4"
    job_id, upload = created(any_storage_stack, "tenant-upload", clip)
    assert upload_file(upload, clip) == 204  # and no start call
    job = any_storage_stack.wait_until_finished("tenant-upload", job_id, timeout=120)
    assert job["status"] == "completed", job["error"]
    assert all(step["attempts"] == 1 for step in job["steps"].values())


def test_a_start_call_beside_the_upload_starts_the_job_once(
    any_storage_stack: Stack, media_dir: Path
) -> None:
    clip = media_dir / "tone.mp4"
    job_id, upload = created(any_storage_stack, "tenant-both", clip)
    assert upload_file(upload, clip) == 204
    start = any_storage_stack.request("POST", f"/jobs/{job_id}/start?tenantId=tenant-both")
    assert start.status == 202  # started by the upload, or by this call: either way once
    job = any_storage_stack.wait_until_finished("tenant-both", job_id, timeout=120)
    assert job["status"] == "completed"
    assert job["steps"]["audio-extraction"]["attempts"] == 1
