"""The job record as a jobs table item: what it leaves out comes back from
its keys, and a job's every write of its record stays within one write unit
(1 KB by DynamoDB's size rule)."""

from __future__ import annotations

from typing import Any

from talkavocado.adapters.dynamodb_jobs import DynamoJobRepository
from talkavocado.adapters.dynamodb_support import attributes, item_bytes, plain
from talkavocado.domain.jobs import JobError, JobRecord, journal_of, stored_journal
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.domain.plans import CutSettings
from talkavocado.errors import ErrorType
from talkavocado.services.transitions import mutate_job

WRITE_UNIT = 1024
# A tenant id as long as a UUID, and a failure's message as ffmpeg's
# explanation of an unreadable file gives it.
KEYS = JobKeys(
    "prod", "tenant-5b0e6f6e-6c1d-4d8e-9f0a-1b2c3d4e", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
)
UNREADABLE = JobError(
    type=ErrorType.CODEC_UNSUPPORTED,
    message="the file is not a readable video or audio file (damaged, truncated or another format)",
    step="video-render",
)


class TableClient:
    """The DynamoDB client as the repository uses it, keeping what it puts."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, TableName: str, Item: dict[str, Any], **_: Any) -> None:  # noqa: N803
        self.puts.append(Item)
        self.items[Item["jobSort"]["S"]] = Item

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803
        item = self.items.get(Key["jobSort"]["S"])
        return {"Item": item} if item else {}


def the_longest_job(client: TableClient) -> JobRecord:
    """A job with its own settings and a review, a retried step, a plan
    edited in its review, its render failed and retried as run 2, then
    completed and announced: every field a record holds, filled."""
    jobs = DynamoJobRepository("jobs", client)
    now = "2026-03-14T09:26:53.589Z"
    settings = CutSettings.of(0.25, 0.8, ["um", "uh", "you know", "like"], review=True)
    record = JobRecord.for_job(
        KEYS,
        correlation_id="6f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a70",
        now=now,
        source_key=KEYS.input,
        settings=settings,
    )
    jobs.create(record)
    record = record.without_journal()

    def change(apply: Any) -> None:
        nonlocal record
        record = mutate_job(jobs, KEYS.tenant_id, KEYS.job_id, apply, known=record)

    first, *_ = STEP_NAMES
    change(lambda j: j.mark_started(now, "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "upload"))
    change(lambda j: j.start_step(first, now, "2026-03-14T09:41:53.589Z"))
    error = JobError(
        type=ErrorType.TRANSIENT_DEPENDENCY, message="the storage did not answer", step=first
    )
    change(lambda j: j.note_step_error(first, error))
    for step in STEP_NAMES[:3]:
        change(lambda j, step=step: j.start_step(step, now, "2026-03-14T09:41:53.589Z"))
        change(lambda j, step=step: j.finish_step(step, "completed", now))
    change(lambda j: j.approve_plan(now, (2, KEYS.edited_plan(2, "9c1d2e3f4a5b"))))
    change(lambda j: j.start_step("video-render", now, "2026-03-14T09:41:53.589Z"))
    change(lambda j: j.fail(UNREADABLE, now))
    change(lambda j: j.retry("video-render"))
    for step in STEP_NAMES[3:]:
        change(lambda j, step=step: j.start_step(step, now, "2026-03-14T09:41:53.589Z"))
        change(lambda j, step=step: j.finish_step(step, "completed", now))
    change(lambda j: j.complete())
    change(lambda j: j.mark_announced("JobCompleted#2"))
    return record


def test_every_write_of_a_fully_filled_record_with_its_journal_is_one_write_unit() -> None:
    client = TableClient()
    record = the_longest_job(client)
    assert (record.status, record.run, record.plan_version) == ("completed", 2, 2)
    writes = [item for item in client.puts if item["jobSort"]["S"].startswith("JOB#")]
    assert len(writes) == 20
    sizes = [item_bytes(item) for item in writes]
    assert max(sizes) <= WRITE_UNIT, sizes


def test_the_history_items_and_the_records_journal_hold_each_transition_once() -> None:
    client = TableClient()
    the_longest_job(client)
    items = [item for key, item in sorted(client.items.items()) if key.startswith("HIST#")]
    writes = [item for item in client.puts if item["jobSort"]["S"].startswith("HIST#")]
    assert len(writes) == len(items) < 20  # each item written once; fewer than the changes
    assert max(item_bytes(item) for item in items) <= WRITE_UNIT
    record = client.items[f"JOB#{KEYS.job_id}"]
    kinds = [entry["M"]["kind"]["S"] for item in items for entry in item["entries"]["L"]]
    kinds += [entry["M"]["kind"]["S"] for entry in record["journal"]["L"]]
    assert kinds == [
        "created",
        "started",
        "step-started",
        "step-retrying",
        *["step-started", "step-completed"] * 3,
        "awaiting-review",
        "plan-approved",
        "step-started",
        "failed",
        "retried",
        *["step-started", "step-completed"] * 2,
        "completed",
    ]


def test_the_stored_record_reads_back_as_it_was_written() -> None:
    client = TableClient()
    record = the_longest_job(client)
    item = client.items[f"JOB#{KEYS.job_id}"]
    for derived in ("jobId", "manifestKey", "sourceKey"):
        assert derived not in item
    assert JobRecord.model_validate(plain(item)) == record
    assert record.manifest_key == KEYS.manifest and record.source_key == KEYS.input


def test_every_state_round_trips_through_the_stored_form() -> None:
    record = JobRecord.for_job(KEYS, correlation_id="c", source_key=None)
    states = [record.model_copy(deep=True)]
    record.start_step("audio-extraction", "2026-01-01T00:00:00Z", "2026-01-01T00:15:00.000Z")
    states.append(record.model_copy(deep=True))  # a time stamp without milliseconds
    # A step failed before it started: no run of its own.
    record.fail(JobError(type=ErrorType.TIMEOUT, message="late", step="transcription"), "t")
    states.append(record.model_copy(deep=True))
    assert record.steps["transcription"].run is None
    record.retry("audio-extraction")
    states.append(record.model_copy(deep=True))
    for state in states:
        item = attributes(state.to_item())
        assert JobRecord.model_validate(plain(item)) == state.without_journal()


def test_a_record_as_earlier_code_stored_it_still_reads() -> None:
    record = JobRecord.for_job(KEYS, correlation_id="c", source_key=KEYS.input)
    record.start_step("audio-extraction", "2026-01-01T00:00:00.000Z")
    earlier = {
        **record.model_dump(by_alias=True, exclude_none=True),
        "jobSort": record.job_sort,
        "statusSort": record.status_sort,
    }
    assert {"jobId", "manifestKey", "sourceKey"} <= set(earlier)
    assert JobRecord.model_validate(earlier) == record.without_journal()


def test_a_failure_in_the_journal_is_stored_with_its_error_once() -> None:
    record = JobRecord.for_job(KEYS, correlation_id="c", source_key=KEYS.input)
    record.start_step("video-render", "2026-01-01T00:00:00.000Z")
    record.fail(UNREADABLE, "2026-01-01T00:00:01.000Z")
    stored = stored_journal(record.journal, record.error)
    assert "error" not in stored[-1]  # the record's own error holds it
    assert journal_of(stored, record.to_item()["error"]) == record.journal
    retried = stored_journal(record.journal, None)  # a later version, its error cleared
    assert retried[-1]["error"]["message"] == UNREADABLE.message
    assert journal_of(retried, None) == record.journal
