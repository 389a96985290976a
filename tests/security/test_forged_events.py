"""Events only the pipeline can drive: forged events of every type and forged
dead letters change no job on the local stack, and real jobs still complete."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from talkavocado.domain.pipeline import PIPELINE, Step
from tests.e2e.conftest import Stack, put_event

ENVELOPE = {
    "version": "0",
    "source": "talkavocado.pipeline",
    "account": "123456789012",
    "time": "2026-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": [],
}


def tenant() -> str:
    return f"victim-{uuid.uuid4().hex[:8]}"


def detail(tenant_id: str, job_id: str, run: int = 1) -> dict[str, Any]:
    prefix = f"test/{tenant_id}/{job_id}/"
    return {
        "env": "test",
        "tenantId": tenant_id,
        "jobId": job_id,
        "correlationId": "forged",
        "run": run,
        "manifestKey": prefix + "manifest.json",
        "sourceKey": prefix + "input/source",
    }


def waiting_for_upload(stack: Stack, tenant_id: str) -> str:
    """A job created with a declared input that is never uploaded."""
    source = {"originalFilename": "talk.mp4", "bytes": 1000, "mimeType": "video/mp4"}
    response = stack.request("POST", "/jobs", {"tenantId": tenant_id, "input": source})
    assert response.status == 201, response.body
    job_id: str = response.body["jobId"]
    return job_id


def job_of(stack: Stack, tenant_id: str, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant_id}").body
    return body


def drained(stack: Stack) -> None:
    for step in PIPELINE:
        stack.wait_until_drained(f"{step.resource_prefix}Queue")
        stack.wait_until_drained(f"{step.resource_prefix}DeadLetterQueue")


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.consumes)
def test_a_forged_event_does_not_move_a_job_never_uploaded(stack: Stack, step: Step) -> None:
    tenant_id = tenant()
    job_id = waiting_for_upload(stack, tenant_id)
    before = job_of(stack, tenant_id, job_id)
    put_event(step.consumes, detail(tenant_id, job_id))
    drained(stack)
    after = job_of(stack, tenant_id, job_id)
    assert (after["status"], after["steps"], after["error"]) == (
        "pending",
        before["steps"],
        None,
    )


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_a_forged_dead_letter_does_not_fail_a_job(stack: Stack, step: Step) -> None:
    tenant_id = tenant()
    job_id = waiting_for_upload(stack, tenant_id)
    assert stack.runtime.template is not None
    queue = stack.runtime.template.runtime_refs[f"{step.resource_prefix}DeadLetterQueue"]
    body = {**ENVELOPE, "id": str(uuid.uuid4()), "detail-type": step.consumes}
    for run in (1, 2):
        message = {**body, "detail": detail(tenant_id, job_id, run)}
        boto3.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(message))
    drained(stack)
    assert job_of(stack, tenant_id, job_id)["status"] == "pending"


def test_real_jobs_still_complete_among_forged_events(stack: Stack, media_dir: Path) -> None:
    tenant_id = tenant()
    job_id = stack.submit(tenant_id, media_dir / "tone.mp4")
    for step in PIPELINE:  # every event type, ahead of the pipeline
        put_event(step.consumes, detail(tenant_id, job_id))
    job = stack.wait_until_finished(tenant_id, job_id, timeout=120)
    assert job["status"] == "completed", job["error"]
