"""A job's history in the jobs table (moto): written in the same transaction
as the change it records, read oldest first, page by page, by its tenant only."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from talkavocado import wiring
from talkavocado.domain.errors import ConcurrentUpdate, ErrorType
from talkavocado.domain.jobs import JobError
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.services.transitions import mutate_job
from talkavocado_local.template import Template
from tests.integration.test_api_handler import JOB, create_event, get_event, invoke

NOW = "2026-01-01T00:00:00.000Z"


def history_event(tenant_id: str, job_id: str = JOB, **query: str) -> dict[str, Any]:
    event = get_event(job_id, tenant_id)
    event["path"] = f"/jobs/{job_id}/history"
    event["resource"] = event["requestContext"]["resourcePath"] = "/jobs/{jobId}/history"
    parameters = {"tenantId": tenant_id, **query}
    event["queryStringParameters"] = parameters
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in parameters.items()}
    return event


def read_all(tenant_id: str, limit: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    query = {"limit": str(limit)}
    for _ in range(50):
        status, body, _ = invoke(history_event(tenant_id, **query))
        assert status == 200, body
        assert len(body["history"]) <= limit
        entries += body["history"]
        if "nextToken" not in body:
            return entries
        query["nextToken"] = body["nextToken"]
    raise AssertionError("the history never ended")


def test_every_transition_of_a_failed_retried_completed_job_is_listed_in_order(
    aws: Template,
) -> None:
    status, _, _ = invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    assert status == 201
    jobs = wiring.jobs()
    start = STEP_NAMES[0]

    def change(apply: Any) -> None:
        mutate_job(jobs, "tenant-h", JOB, apply)

    change(lambda j: j.mark_started(NOW, None, "upload"))
    change(lambda j: j.start_step(start, NOW))
    error = JobError(type=ErrorType.TRANSIENT_DEPENDENCY, message="flaky", step=start)
    change(lambda j: j.note_step_error(start, error))
    change(lambda j: j.fail(error, NOW))
    change(lambda j: j.retry())
    for step in STEP_NAMES:
        change(lambda j, step=step: j.start_step(step, NOW))
        change(lambda j, step=step: j.finish_step(step, "completed", NOW))
    change(lambda j: j.complete())

    entries = read_all("tenant-h", limit=3)
    kinds = [entry["kind"] for entry in entries]
    assert kinds == [
        "created",
        "started",
        "step-started",
        "step-retrying",
        "failed",
        "retried",
        *["step-started", "step-completed"] * len(STEP_NAMES),
        "completed",
    ]
    assert entries[1]["by"] == "upload"
    assert entries[4]["error"]["type"] == "TRANSIENT_DEPENDENCY"
    assert [entry["run"] for entry in entries[:5]] == [1] * 5
    assert all(entry["run"] == 2 for entry in entries[5:])
    assert entries[-1]["status"] == "completed"


def test_a_change_that_loses_its_race_leaves_no_history(aws: Template) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    jobs = wiring.jobs()
    record = jobs.get("tenant-h", JOB)
    assert record is not None
    mutate_job(jobs, "tenant-h", JOB, lambda j: j.cancel())
    stale = record.without_journal().model_copy(deep=True)
    stale.mark_started(NOW, None, "call")
    with pytest.raises(ConcurrentUpdate):
        jobs.save(stale, expected_version=record.version)
    assert [e["kind"] for e in read_all("tenant-h", 10)] == ["created", "cancelled"]


def test_history_is_the_tenants_own_and_its_token_binds_tenant_and_job(aws: Template) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    other_job = "0c2d7f1e-5b4a-4d3c-8e9f-a1b2c3d4e5f6"
    invoke(create_event({"tenantId": "tenant-h", "jobId": other_job}))
    invoke(create_event({"tenantId": "tenant-x", "jobId": JOB}))
    mutate_job(wiring.jobs(), "tenant-h", JOB, lambda j: j.cancel())

    status, body, _ = invoke(history_event("tenant-h", limit="1"))
    assert status == 200 and [e["kind"] for e in body["history"]] == ["created"]
    token = body["nextToken"]
    _, theirs, _ = invoke(history_event("tenant-x"))
    assert [e["kind"] for e in theirs["history"]] == ["created"]  # not tenant-h's cancel

    status, refused, _ = invoke(history_event("tenant-x", nextToken=token))
    assert (status, refused["error"]["details"]["field"]) == (400, "nextToken")
    status, refused, _ = invoke(history_event("tenant-h", other_job, nextToken=token))
    assert status == 400  # another job's token
    forged = json.loads(base64.urlsafe_b64decode(token))
    forged["tenantId"] = "tenant-x"
    forged_token = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    status, _, _ = invoke(history_event("tenant-x", nextToken=forged_token))
    assert status == 400  # its cursor still points into tenant-h's partition
    assert invoke(history_event("tenant-nobody"))[0] == 404
