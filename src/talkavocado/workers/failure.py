"""Failing a job: the manifest, the record and the JobFailed event, in that
order (as when a step succeeds: a job whose record reads failed already has
its error in the manifest), each safe to repeat."""

from __future__ import annotations

from talkavocado.clock import now_iso
from talkavocado.errors import InvalidTransition
from talkavocado.jobs import TERMINAL_STATUSES, JobError, JobRecord, mutate_job
from talkavocado.keys import JobKeys
from talkavocado.manifest import LogEntry, Manifest, ManifestStore
from talkavocado.observability import logger
from talkavocado.ports import EventPublisher, JobRepository
from talkavocado.workers.context import event_for


class JobFailer:
    def __init__(
        self, jobs: JobRepository, manifests: ManifestStore, publisher: EventPublisher
    ) -> None:
        self._jobs = jobs
        self._manifests = manifests
        self._publisher = publisher

    def fail(self, job: JobRecord, error: JobError) -> None:
        """Safe to repeat: for a job already failed, it finishes what a crash
        may have left undone (the manifest, the event) with the recorded error."""
        if job.status == "failed" and job.error is not None:
            error = job.error
        elif job.status in TERMINAL_STATUSES:
            logger.info("job already finished; failure not recorded", extra={"error": error.type})
            return
        now = now_iso()
        keys = JobKeys(job.env, job.tenant_id, job.job_id)
        manifest = self._manifests.update(keys, lambda m: _mark_failed(m, error, now))
        failed = job
        if job.status != "failed":
            try:
                failed = mutate_job(
                    self._jobs, job.tenant_id, job.job_id, lambda j: j.fail(error, now)
                )
            except InvalidTransition:
                if not self._follow_record(keys):
                    return
        self._publisher.publish(event_for("JobFailed", failed, manifest, error))
        logger.warning("job failed", extra={"errorType": error.type, "errorMessage": error.message})

    def _follow_record(self, keys: JobKeys) -> bool:
        """The job finished otherwise meanwhile (a late duplicate won the race):
        the record decides and the manifest follows it. True if it failed."""
        latest = self._jobs.get(keys.tenant_id, keys.job_id)
        status = latest.status if latest is not None else "failed"
        if status == "failed":
            return True
        logger.info("job finished meanwhile; failure not recorded", extra={"status": status})
        self._manifests.update(keys, lambda m: setattr(m, "status", status))
        return False


def _mark_failed(manifest: Manifest, error: JobError, now: str) -> None:
    manifest.status = "failed"
    manifest.put_log(
        LogEntry(
            type="error", created_at=now, step=error.step, message=f"{error.type}: {error.message}"
        )
    )
