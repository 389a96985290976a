"""Failing a job: the manifest, the record and the JobFailed event, in that
order (as when a step succeeds: a job whose record reads failed already has
its error in the manifest), each safe to repeat."""

from __future__ import annotations

from talkavocado.domain.errors import InvalidTransition
from talkavocado.domain.events import JobOutcome, event_for
from talkavocado.domain.jobs import TERMINAL_STATUSES, JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import LogEntry, Manifest
from talkavocado.ports import EventPublisher, JobRepository
from talkavocado.services.announce import Announcer
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import JobMovedOn, StaleRun, change_status
from talkavocado.support.clock import now_iso
from talkavocado.support.observability import logger


class JobFailer:
    def __init__(
        self, jobs: JobRepository, manifests: ManifestStore, publisher: EventPublisher
    ) -> None:
        self._jobs = jobs
        self._manifests = manifests
        self._announcer = Announcer(jobs, publisher)

    def fail(self, job: JobRecord, error: JobError, only_as_read: bool = False) -> None:
        """Safe to repeat: for a job already failed, it finishes what a crash
        may have left undone (the manifest, the event) with the recorded error.
        ``only_as_read``: fail it only if nothing changed it since ``job`` was
        read (a judgement made on that copy, such as a deadline, stands only
        for it)."""
        if job.status == "failed" and job.error is not None:
            error = job.error
        elif job.status in TERMINAL_STATUSES:
            logger.info("job already finished; failure not recorded", extra={"error": error.type})
            return
        now = now_iso()
        keys = JobKeys(job.env, job.tenant_id, job.job_id)
        try:
            failed, manifest = change_status(
                self._jobs,
                self._manifests,
                keys,
                lambda j: _fail(j, error, now, job.version if only_as_read else None),
                note=lambda m: _note_error(m, error, now),
                run=job.run,
            )
        except StaleRun:
            logger.info("the job was retried meanwhile; the failure of its earlier run is dropped")
            return
        except JobMovedOn as moved:  # failed already, or finished otherwise meanwhile
            if moved.record.status != "failed":
                logger.info("job finished meanwhile; failure not recorded")
                return
            failed, manifest = moved.record, moved.manifest
        outcome = event_for("JobFailed", failed, manifest, failed.error or error)
        assert isinstance(outcome, JobOutcome)
        self._announcer.announce(outcome, failed)
        logger.warning("job failed", extra={"errorType": error.type, "errorMessage": error.message})


def _fail(job: JobRecord, error: JobError, now: str, read_version: int | None) -> None:
    if read_version is not None and job.version != read_version:
        raise InvalidTransition(f"job {job.job_id} changed since it was judged", job=job.pointer)
    job.fail(error, now)


def _note_error(manifest: Manifest, error: JobError, now: str) -> None:
    manifest.put_log(
        LogEntry(
            type="error", created_at=now, step=error.step, message=f"{error.type}: {error.message}"
        )
    )
