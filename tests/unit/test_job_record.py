from __future__ import annotations

import pytest

from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.errors import ErrorType, InvalidTransition, JobNotFound
from talkavocado.services.transitions import mutate_job
from tests.fakes import InMemoryJobRepository, run_every_step

NOW = "2026-01-01T00:00:00.000Z"
LATER = "2026-01-01T00:00:01.000Z"


def record(status: str = "pending") -> JobRecord:
    keys = JobKeys("test", "t", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69")
    return JobRecord.for_job(keys, correlation_id="c", status=status, now=NOW)  # type: ignore[arg-type]


def test_a_new_record_lists_every_step_as_pending() -> None:
    job = record()
    assert list(job.steps) == list(STEP_NAMES)
    assert all(s.status == "pending" and s.attempts == 0 for s in job.steps.values())


def test_the_first_step_to_start_moves_the_job_to_processing() -> None:
    job = record()
    job.start_step("audio-extraction", NOW)
    assert job.status == "processing"
    state = job.steps["audio-extraction"]
    assert (state.status, state.attempts, state.started_at) == ("running", 1, NOW)


def test_a_retried_step_counts_attempts_and_keeps_its_first_start() -> None:
    job = record()
    job.start_step("audio-extraction", NOW)
    job.start_step("audio-extraction", LATER)
    state = job.steps["audio-extraction"]
    assert (state.attempts, state.started_at) == (2, NOW)


def test_a_finished_step_cannot_start_again() -> None:
    job = record()
    job.start_step("transcription", NOW)
    job.finish_step("transcription", "completed", LATER)
    with pytest.raises(InvalidTransition):
        job.start_step("transcription", LATER)


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_no_step_starts_on_a_finished_job(status: str) -> None:
    with pytest.raises(InvalidTransition):
        record(status).start_step("audio-extraction", NOW)


def test_finishing_clears_the_error_of_an_earlier_attempt() -> None:
    job = record()
    job.start_step("transcription", NOW)
    job.note_step_error(
        "transcription", JobError(type=ErrorType.TIMEOUT, message="slow", step="transcription")
    )
    job.start_step("transcription", LATER)
    job.finish_step("transcription", "completed", LATER)
    assert job.steps["transcription"].error is None
    assert job.finished_steps == 1


def test_complete_is_only_reachable_from_processing() -> None:
    with pytest.raises(InvalidTransition):
        record("pending").complete()
    job = record("processing")
    run_every_step(job)
    assert job.status == "completed"
    with pytest.raises(InvalidTransition):
        job.complete()


def test_fail_records_the_error_on_the_job_and_its_step() -> None:
    job = record("processing")
    error = JobError(type=ErrorType.CODEC_UNSUPPORTED, message="no audio", step="audio-extraction")
    job.fail(error, NOW)
    assert job.status == "failed"
    assert job.error == error
    assert job.steps["audio-extraction"].status == "failed"


def test_a_pending_job_can_fail_before_any_step_ran() -> None:
    job = record("pending")
    job.fail(JobError(type=ErrorType.UNKNOWN, message="poison", step="audio-extraction"), NOW)
    assert job.status == "failed"


def test_a_finished_job_cannot_fail() -> None:
    with pytest.raises(InvalidTransition):
        record("completed").fail(JobError(type=ErrorType.UNKNOWN, message="x", step="s"), NOW)


def test_the_record_round_trips_through_a_table_item() -> None:
    job = record()
    job.start_step("audio-extraction", NOW)
    item = job.to_item()
    assert item["jobSort"] == f"JOB#{job.job_id}"
    assert item["statusSort"].startswith("processing#")
    assert JobRecord.model_validate(item) == job.without_journal()


def stored() -> tuple[InMemoryJobRepository, JobRecord]:
    jobs = InMemoryJobRepository()
    job = record()
    jobs.create(job)
    return jobs, job


def test_mutate_job_reads_applies_and_bumps_the_version() -> None:
    jobs, job = stored()
    saved = mutate_job(
        jobs, job.tenant_id, job.job_id, lambda j: j.start_step("transcription", NOW)
    )
    assert saved.version == 2
    assert jobs.get(job.tenant_id, job.job_id) == saved


def test_mutate_job_with_a_stale_known_copy_rereads_and_keeps_both_changes() -> None:
    jobs, stale = stored()
    mutate_job(jobs, stale.tenant_id, stale.job_id, lambda j: j.start_step("audio-extraction", NOW))
    saved = mutate_job(
        jobs,
        stale.tenant_id,
        stale.job_id,
        lambda j: j.start_step("transcription", NOW),
        known=stale,
    )
    assert saved.steps["audio-extraction"].status == "running"
    assert saved.steps["transcription"].status == "running"
    assert saved.version == 3


def test_mutate_job_of_a_missing_job_is_not_found() -> None:
    with pytest.raises(JobNotFound):
        mutate_job(InMemoryJobRepository(), "t", "x", lambda j: None)
