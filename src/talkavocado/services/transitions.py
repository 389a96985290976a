"""Changing a job: its record by compare-and-swap (``mutate_job``), or its
status (``change_status``: the record, then its projection onto the
manifest), always for one run only. Use cases make every change through these."""

from __future__ import annotations

from collections.abc import Callable

from talkavocado.domain.errors import InvalidTransition, JobNotFound
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado.ports import JobRepository
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.support.retry import retry_on_conflict


class StaleRun(InvalidTransition):
    """A change for a run that is over: the job was retried meanwhile."""


def _check_run(record: JobRecord, run: int | None) -> None:
    if run is not None and record.run != run:
        raise StaleRun(
            f"run {run} of job {record.job_id} is over (it is in run {record.run})",
            job=record.pointer,
        )


def mutate_job(
    jobs: JobRepository,
    tenant_id: str,
    job_id: str,
    change: Callable[[JobRecord], None],
    known: JobRecord | None = None,
    run: int | None = None,
) -> JobRecord:
    """Read the record, apply ``change`` (which may raise InvalidTransition),
    and write it back only if nobody wrote in between; re-read on a lost race.
    ``known``, a copy just read or written, saves the first read. With
    ``run``, the change applies to that run only (``StaleRun`` otherwise):
    nothing of run N ever changes run N + 1."""
    fresh = [known] if known is not None else []

    def attempt() -> JobRecord:
        current = fresh.pop() if fresh else jobs.get(tenant_id, job_id)
        if current is None:
            raise JobNotFound("job not found", jobId=job_id)
        _check_run(current, run)
        updated = current.without_journal().model_copy(deep=True)
        change(updated)
        return jobs.save(updated, expected_version=current.version)

    return retry_on_conflict(attempt, f"job {job_id}")


class JobMovedOn(InvalidTransition):
    """The record refused a status change: the job moved on meanwhile.
    ``record`` and ``manifest`` are where it is now."""

    def __init__(self, record: JobRecord, manifest: Manifest) -> None:
        super().__init__(f"the job is {record.status}", job=record.pointer)
        self.record = record
        self.manifest = manifest


def change_status(
    jobs: JobRepository,
    manifests: ManifestStore,
    keys: JobKeys,
    change: Callable[[JobRecord], None],
    note: Callable[[Manifest], None] | None = None,
    run: int | None = None,
) -> tuple[JobRecord, Manifest]:
    """Move a job by ``change`` on its record, the one truth of its status,
    then project the record onto the manifest (with ``note``). If the record
    refuses, the manifest is projected from where the job is and
    ``JobMovedOn`` says where. With ``run``, a change for an earlier run
    raises ``StaleRun`` and writes nothing."""
    try:
        record = mutate_job(jobs, keys.tenant_id, keys.job_id, change, run=run)
    except StaleRun:
        raise
    except InvalidTransition:
        latest = jobs.get(keys.tenant_id, keys.job_id)
        if latest is None:
            raise
        raise JobMovedOn(latest, manifests.project(keys, latest)) from None
    return record, manifests.project(keys, record, note)
