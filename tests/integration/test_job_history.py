"""A job's history in the jobs table (moto): written with the change it
records (on the record, then as items by the next change), read oldest
first, page by page, by its tenant only."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from talkavocado import wiring
from talkavocado.adapters import dynamodb_jobs
from talkavocado.adapters.dynamodb_jobs import DynamoJobRepository
from talkavocado.domain.jobs import JobError
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.errors import ConcurrentUpdate, ErrorType
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


class Crash(Exception):
    pass


class Calls:
    """The DynamoDB client's requests, and a crash on the record's put if asked."""

    def __init__(self, crash_on_record: bool = False) -> None:
        self.client = wiring.session().client("dynamodb")
        self.made: list[tuple[str, str]] = []
        self._crash = crash_on_record
        self.client.meta.events.register("before-call.dynamodb.*", self._before)

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body", b"")
        sort = json.loads(body).get("Item", {}).get("jobSort", {}).get("S", "") if body else ""
        self.made.append((model.name, sort.split("#")[0]))
        if self._crash and model.name == "PutItem" and sort.startswith("JOB#"):
            raise Crash("the process died before the record's write")


def fresh(calls: Calls) -> DynamoJobRepository:
    """Another process's repository: it knows nothing of what this one wrote."""
    return DynamoJobRepository(wiring.settings().jobs_table, calls.client)


def history_items(tenant_id: str) -> list[dict[str, Any]]:
    client = wiring.session().client("dynamodb")
    items: list[dict[str, Any]] = client.query(
        TableName=wiring.settings().jobs_table,
        KeyConditionExpression="tenantId = :tenant AND begins_with(jobSort, :history)",
        ExpressionAttributeValues={":tenant": {"S": tenant_id}, ":history": {"S": "HIST#"}},
        ConsistentRead=True,
    )["Items"]
    return items


@pytest.fixture
def tiny_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every change with a journal to carry on writes it to a history item first."""
    monkeypatch.setattr(dynamodb_jobs, "RECORD_BYTES", 0)


def test_a_change_is_one_conditional_put_while_the_journal_fits_the_record(
    aws: Template,
) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    calls = Calls()
    jobs = fresh(calls)
    record = mutate_job(jobs, "tenant-h", JOB, lambda j: j.mark_started(NOW, None, "upload"))
    mutate_job(jobs, "tenant-h", JOB, lambda j: j.start_step(STEP_NAMES[0], NOW), known=record)
    # No transaction, no history item: the read, then each change's record.
    assert calls.made == [("GetItem", ""), ("PutItem", "JOB"), ("PutItem", "JOB")]
    assert history_items("tenant-h") == []
    assert [e["kind"] for e in read_all("tenant-h", 10)] == ["created", "started", "step-started"]


def test_a_journal_that_would_not_fit_goes_to_one_history_item_before_the_record(
    aws: Template, tiny_records: None
) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    calls = Calls()
    jobs = fresh(calls)
    record = mutate_job(jobs, "tenant-h", JOB, lambda j: j.mark_started(NOW, None, "upload"))
    mutate_job(jobs, "tenant-h", JOB, lambda j: j.start_step(STEP_NAMES[0], NOW), known=record)
    assert calls.made == [
        ("GetItem", ""),
        ("PutItem", "HIST"),
        ("PutItem", "JOB"),
        ("PutItem", "HIST"),
        ("PutItem", "JOB"),
    ]
    assert [e["kind"] for e in read_all("tenant-h", 10)] == ["created", "started", "step-started"]


def test_a_change_that_dies_between_history_item_and_record_leaves_the_history_exact(
    aws: Template, tiny_records: None
) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    mutate_job(wiring.jobs(), "tenant-h", JOB, lambda j: j.mark_started(NOW, None, "upload"))
    start = STEP_NAMES[0]

    crashing = Calls(crash_on_record=True)
    with pytest.raises(Crash):  # the journal it read written to an item, its own change not
        mutate_job(fresh(crashing), "tenant-h", JOB, lambda j: j.start_step(start, NOW))
    assert ("PutItem", "HIST") in crashing.made
    assert [e["kind"] for e in read_all("tenant-h", 10)] == ["created", "started"]

    # The redelivery, in another process, writes the same item again and makes the change.
    mutate_job(fresh(Calls()), "tenant-h", JOB, lambda j: j.start_step(start, NOW))
    for limit in (1, 2, 10):
        entries = read_all("tenant-h", limit)
        assert [e["kind"] for e in entries] == ["created", "started", "step-started"]


def test_a_late_change_never_shortens_a_history_item(
    aws: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    late = fresh(Calls())
    read = late.get("tenant-h", JOB)  # version 1: its journal the created entry
    assert read is not None
    jobs = fresh(Calls())
    mutate_job(jobs, "tenant-h", JOB, lambda j: j.mark_started(NOW, None, "upload"))
    mutate_job(jobs, "tenant-h", JOB, lambda j: j.start_step(STEP_NAMES[0], NOW))
    monkeypatch.setattr(dynamodb_jobs, "RECORD_BYTES", 0)
    mutate_job(jobs, "tenant-h", JOB, lambda j: j.release_step(STEP_NAMES[0]))
    [item] = history_items("tenant-h")
    assert len(item["entries"]["L"]) == 3  # versions 1 to 3: created, started, step-started

    stale = read.model_copy(deep=True)
    stale.cancel()
    with pytest.raises(ConcurrentUpdate):  # its item of version 1 alone is refused
        late.save(stale, expected_version=read.version)
    assert history_items("tenant-h") == [item]
    assert [e["kind"] for e in read_all("tenant-h", 2)] == ["created", "started", "step-started"]


def test_a_jobs_history_takes_a_few_items_and_every_page_size_reads_it_whole(
    aws: Template,
) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    jobs = wiring.jobs()
    kinds = ["created", "started"]
    error = JobError(type=ErrorType.UNKNOWN, message="a late failure", step=STEP_NAMES[-1])

    def change(apply: Any) -> None:
        mutate_job(jobs, "tenant-h", JOB, apply)

    change(lambda j: j.mark_started(NOW, None, "upload"))
    for run in (1, 2):
        for step in STEP_NAMES:
            change(lambda j, step=step: j.start_step(step, NOW))
            change(lambda j, step=step: j.finish_step(step, "completed", NOW))
            kinds += ["step-started", "step-completed"]
        if run == 1:
            change(lambda j: j.fail(error, NOW))
            change(lambda j: j.retry(STEP_NAMES[0]))
            kinds += ["failed", "retried"]
    change(lambda j: j.complete())
    kinds.append("completed")

    # 25 transitions: one item per transition but the last before, a few now.
    items = history_items("tenant-h")
    assert 1 <= len(items) <= 4
    assert sum(len(item["entries"]["L"]) for item in items) < len(kinds)  # the rest: the record's
    for limit in (1, 2, 3, 7, 100):
        assert [e["kind"] for e in read_all("tenant-h", limit)] == kinds


def test_a_history_cursor_of_no_page_of_the_job_is_refused(aws: Template) -> None:
    invoke(create_event({"tenantId": "tenant-h", "jobId": JOB}))
    mutate_job(wiring.jobs(), "tenant-h", JOB, lambda j: j.cancel())
    _, body, _ = invoke(history_event("tenant-h", limit="1"))
    token = json.loads(base64.urlsafe_b64decode(body["nextToken"]))
    other = "0c2d7f1e-5b4a-4d3c-8e9f-a1b2c3d4e5f6"
    for place in (
        f"HIST#{other}#0000000001#0",
        f"JOB#{JOB}",
        f"HIST#{JOB}#0000000001",
        f"HIST#{JOB}#1#0",
        f"HIST#{JOB}#9999999999#0",  # after the record's journal
        f"HIST#{JOB}#0000000001#x",
    ):
        token["cursor"]["jobSort"] = {"S": place}
        forged = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        status, refused, _ = invoke(history_event("tenant-h", limit="1", nextToken=forged))
        assert (status, refused["error"]["details"]["field"]) == (400, "nextToken"), place
