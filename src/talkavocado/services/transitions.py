"""Changing a job: its record by compare-and-swap (``mutate_job``), or its
status across the manifest and the record (``change_status``), always for
one run only. Use cases make every change through these."""

from __future__ import annotations

from collections.abc import Callable

from talkavocado.domain.errors import InvalidTransition, JobNotFound, StorageObjectMissing
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import JobStatus, Manifest
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
    ``record`` and ``manifest`` are where it is now, in step again."""

    def __init__(self, record: JobRecord, manifest: Manifest) -> None:
        super().__init__(f"the job is {record.status}", job=record.pointer)
        self.record = record
        self.manifest = manifest


def change_status(
    jobs: JobRepository,
    manifests: ManifestStore,
    keys: JobKeys,
    status: JobStatus,
    change: Callable[[JobRecord], None],
    note: Callable[[Manifest], None] | None = None,
    run: int | None = None,
) -> tuple[JobRecord, Manifest]:
    """Move a job to ``status``: the manifest first (with ``note``), then the
    record (``change``), so whoever reads the record's status finds the
    manifest already saying it. If the record refuses, the record decides:
    the manifest follows it and ``JobMovedOn`` says where the job is. With
    ``run``, a change for an earlier run raises ``StaleRun`` before anything
    is written."""
    if run is not None:
        current = jobs.get(keys.tenant_id, keys.job_id)
        if current is None:
            raise JobNotFound("job not found", jobId=keys.job_id)
        _check_run(current, run)

    def mark(manifest: Manifest) -> None:
        manifest.status = status
        if note is not None:
            note(manifest)

    try:
        manifest = manifests.update(keys, mark)
    except StorageObjectMissing:
        if status != "failed":
            raise
        # Nothing to write first: the record alone can still say the job failed.
        manifest = Manifest.for_job(keys, status="failed")
        if note is not None:
            note(manifest)
    try:
        return mutate_job(jobs, keys.tenant_id, keys.job_id, change, run=run), manifest
    except InvalidTransition as refused:
        latest = jobs.get(keys.tenant_id, keys.job_id)
        if latest is None:
            raise
        if latest.status != status:
            now_status = latest.status
            manifest = manifests.update(keys, lambda m: setattr(m, "status", now_status))
        if isinstance(refused, StaleRun):  # retried since the check: the new run decides
            raise
        raise JobMovedOn(latest, manifest) from None
