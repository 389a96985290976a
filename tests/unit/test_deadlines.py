"""Deadlines and the sweep that enforces them, over the in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from talkavocado.domain.deadlines import UPLOAD_STEP, Deadlines
from talkavocado.domain.errors import ErrorType
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.services.transitions import mutate_job
from talkavocado.support.clock import iso
from talkavocado.workers.deadline_sweep import DeadlineSweep
from tests import fakes
from tests.fakes import run_every_step

KEYS = JobKeys("test", "tenant-a", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69")
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(hours=1)
BUDGET = timedelta(minutes=30)
DEADLINES = Deadlines(WINDOW, dict.fromkeys(STEP_NAMES, BUDGET))


def pending() -> JobRecord:
    return JobRecord.for_job(KEYS, correlation_id="c", now=iso(CREATED))


def test_a_job_never_uploaded_expires_only_after_its_window() -> None:
    job = pending()
    assert DEADLINES.overdue(job, CREATED + WINDOW) is None
    error = DEADLINES.overdue(job, CREATED + WINDOW + timedelta(seconds=1))
    assert error is not None
    assert (error.type, error.step) == (ErrorType.UPLOAD_EXPIRED, UPLOAD_STEP)


def test_a_running_step_is_stuck_only_past_its_budget_from_its_first_attempt() -> None:
    job = pending()
    job.started_at = iso(CREATED)
    job.start_step(STEP_NAMES[0], iso(CREATED))
    job.start_step(STEP_NAMES[0], iso(CREATED + timedelta(minutes=20)))  # a second attempt
    job.updated_at = iso(CREATED + timedelta(minutes=20))
    assert DEADLINES.overdue(job, CREATED + BUDGET) is None
    error = DEADLINES.overdue(job, CREATED + BUDGET + timedelta(seconds=1))
    assert error is not None
    assert (error.type, error.step) == (ErrorType.TIMEOUT, STEP_NAMES[0])
    assert "ran for" in error.message


def test_a_step_that_never_started_is_stuck_past_its_budget_from_the_last_change() -> None:
    job = pending()
    job.started_at = iso(CREATED)
    job.start_step(STEP_NAMES[0], iso(CREATED))
    finished = CREATED + timedelta(hours=5)
    job.finish_step(STEP_NAMES[0], "completed", iso(finished))
    job.updated_at = iso(finished)
    assert DEADLINES.overdue(job, finished + BUDGET) is None
    error = DEADLINES.overdue(job, finished + BUDGET + timedelta(seconds=1))
    assert error is not None and error.step == STEP_NAMES[1]
    assert "waited to start" in error.message


def test_a_started_job_whose_first_step_never_came_is_stuck_not_expired() -> None:
    job = pending()
    job.mark_started(iso(CREATED), None, "call")
    error = DEADLINES.overdue(job, CREATED + BUDGET + timedelta(seconds=1))
    assert error is not None
    assert (error.type, error.step) == (ErrorType.TIMEOUT, STEP_NAMES[0])


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_a_finished_job_is_never_overdue(status: str) -> None:
    job = pending()
    job.status = status  # type: ignore[assignment]
    assert DEADLINES.overdue(job, CREATED + timedelta(days=365)) is None


def test_every_step_needs_a_budget() -> None:
    with pytest.raises(ValueError, match="no time budget"):
        Deadlines(WINDOW, {STEP_NAMES[0]: BUDGET})


def test_only_open_jobs_carry_the_sweep_index_key() -> None:
    job = pending()
    assert job.to_item()["openShard"].startswith("open#")
    run_every_step(job)
    assert "openShard" not in job.to_item()


class World(fakes.World):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.sweep = DeadlineSweep(self.jobs, self.failer, lambda: DEADLINES)

    def add(self, keys: JobKeys, **record: Any) -> JobRecord:
        job = super().add(keys, now=iso(CREATED), **record)
        self.jobs.items[(keys.tenant_id, keys.job_id)]["updatedAt"] = iso(CREATED)
        return job


def test_the_sweep_fails_every_overdue_job_of_every_tenant_once(tmp_path: Path) -> None:
    world = World(tmp_path)
    others = JobKeys("test", "tenant-b", KEYS.job_id)
    world.add(KEYS)
    world.add(others)
    late = CREATED + WINDOW + timedelta(minutes=1)

    report = world.sweep.sweep(late, lambda: 600_000)
    again = world.sweep.sweep(late, lambda: 600_000)

    assert (report.failed, again.failed) == (2, 0)
    for keys in (KEYS, others):
        record = world.jobs.get(keys.tenant_id, keys.job_id)
        assert record is not None and record.status == "failed"
        assert record.error is not None and record.error.type == ErrorType.UPLOAD_EXPIRED
        manifest, _ = world.manifests.load(keys)
        assert manifest.status == "failed"
        kinds = [e.kind for e in world.jobs.histories[(keys.tenant_id, keys.job_id)]]
        assert kinds == ["created", "expired"]
    assert [e.detail_type for e in world.publisher.events] == ["JobFailed", "JobFailed"]


def test_the_sweep_stops_when_its_time_runs_out(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(KEYS)
    report = world.sweep.sweep(CREATED + WINDOW * 2, lambda: 1_000)
    assert (report.finished, report.failed) == (False, 0)


def test_a_job_that_moved_on_after_it_was_judged_is_not_failed(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(KEYS)
    judged = world.jobs.get(KEYS.tenant_id, KEYS.job_id)
    assert judged is not None
    error = DEADLINES.overdue(judged, CREATED + WINDOW * 2)
    assert error is not None
    mutate_job(
        world.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: j.mark_started("x", "v", "upload")
    )

    world.failer.fail(judged, error, only_as_read=True)

    record = world.jobs.get(KEYS.tenant_id, KEYS.job_id)
    assert record is not None and (record.status, record.started_at) == ("pending", "x")
    assert world.manifests.load(KEYS)[0].status == "pending"
    assert world.publisher.events == []
