"""Failing a job: the record, the manifest and the JobFailed event, in that
order, each safe to repeat."""

from __future__ import annotations

from talkavocado.clock import now_iso
from talkavocado.errors import InvalidTransition
from talkavocado.jobs import JobError, JobRecord, mutate_job
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
        now = now_iso()
        try:
            failed = mutate_job(self._jobs, job.tenant_id, job.job_id, lambda j: j.fail(error, now))
        except InvalidTransition:
            logger.info("job already finished; failure not recorded", extra={"error": error.type})
            return

        def mark_failed(manifest: Manifest) -> None:
            manifest.status = "failed"
            manifest.put_log(
                LogEntry(
                    type="error",
                    created_at=now,
                    step=error.step,
                    message=f"{error.type}: {error.message}",
                )
            )

        keys = JobKeys(failed.env, failed.tenant_id, failed.job_id)
        manifest = self._manifests.update(keys, mark_failed)
        self._publisher.publish(event_for("JobFailed", failed, manifest, error))
        logger.warning("job failed", extra={"errorType": error.type, "errorMessage": error.message})
