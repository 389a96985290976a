"""The one step runner every pipeline worker shares.

For each delivered event: check it belongs to the job it names, skip what is
stale, already decided or out of the pipeline's order (a step runs only after
its previous step completed in the same run), run the step body once
(Powertools idempotency, key ``tenantId#jobId#step#run``), record the outcome in the manifest and on
the job record, and publish the next event.

Crash safety: work is recorded before the next event is published. A
redelivery that finds the step already recorded re-publishes the next event
(unless the next step has visibly received it), so a crash between
"recorded" and "published" never stalls a job, and a duplicate delivery
repeats no side effect.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from talkavocado.domain.errors import ErrorType, InvalidKey, InvalidTransition, StorageObjectMissing
from talkavocado.domain.events import EVENT_TYPES, JobOutcome, PipelineEvent, event_for
from talkavocado.domain.jobs import DONE_STEP_STATUSES, TERMINAL_STATUSES, JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import LogEntry, Manifest
from talkavocado.domain.pipeline import FINALIZER, Step, next_step
from talkavocado.ports import EventPublisher, JobRepository, Storage
from talkavocado.services.announce import Announcer
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import StaleRun, mutate_job
from talkavocado.support.clock import now_iso
from talkavocado.support.observability import logger, record_step_metrics
from talkavocado.workers.context import StepBody, StepContext, StepOutcome, classify
from talkavocado.workers.failure import JobFailer

Work = dict[str, Any]
Idempotency = Callable[[Callable[..., Any]], Callable[..., Any]]


class RejectedEvent(Exception):
    """An event that must change nothing: it names keys outside its job, a
    tenant that does not own the job, or another environment."""


class StepRunner:
    def __init__(
        self,
        step: Step,
        body: StepBody,
        jobs: JobRepository,
        manifests: ManifestStore,
        storage: Storage,
        publisher: EventPublisher,
        idempotency: Idempotency | None = None,
    ) -> None:
        self.step = step
        self._body = body
        self._jobs = jobs
        self._manifests = manifests
        self._storage = storage
        self._publisher = publisher
        self._announcer = Announcer(jobs, publisher)
        self._failer = JobFailer(jobs, manifests, publisher)
        self._execute_once = idempotency(self._execute) if idempotency else self._execute

    def process(self, event: PipelineEvent, remaining_seconds: Callable[[], float]) -> None:
        try:
            job = self._job_for(event)
        except RejectedEvent as rejected:
            logger.warning("event rejected; nothing changed", extra={"reason": str(rejected)})
            return
        if job.run != event.run:
            logger.info("stale event of an earlier run; ignored", extra={"eventRun": event.run})
            return
        state = job.steps.get(self.step.name)
        if state is not None and state.status in DONE_STEP_STATUSES:
            self._replay(job)
            return
        if job.error is not None and job.error.step == self.step.name and job.status == "failed":
            # This step failed the job; a crash may have stopped the failure halfway.
            self._failer.fail(job, job.error)
            return
        if job.status in TERMINAL_STATUSES:
            logger.info("job is already finished; step not run", extra={"status": job.status})
            return
        refusal = job.refusal_to_run(self.step.name)
        if refusal is not None:
            # Before the idempotent run: a refused event must not use up its key.
            logger.warning("event refused; nothing changed", extra={"reason": refusal})
            return
        work = {"key": f"{job.tenant_id}#{job.job_id}#{self.step.name}#{job.run}"}
        following = self._execute_once(work=work, job=job, remaining=remaining_seconds)
        if following is not None:
            self._publish(EVENT_TYPES[following["detailType"]].model_validate(following["detail"]))

    def _job_for(self, event: PipelineEvent) -> JobRecord:
        keys = event.keys
        if event.manifest_key != keys.manifest:
            raise RejectedEvent("manifestKey is not the job's manifest")
        for key in event.storage_keys():
            try:
                keys.check(key)
            except InvalidKey:
                raise RejectedEvent(f"key outside the job's prefix: {key[:200]}") from None
        job = self._jobs.get(event.tenant_id, event.job_id)
        if job is None:
            raise RejectedEvent("no such job for this tenant")
        if job.env != event.env:
            raise RejectedEvent("event env does not match the job's")
        return job

    def _execute(
        self, work: Work, job: JobRecord, remaining: Callable[[], float]
    ) -> dict[str, Any] | None:
        """Run the step once and record it; return the next event to publish
        (stored by the idempotency layer, keyed on ``work``, for duplicate
        deliveries)."""
        started_at = now_iso()
        try:
            job = mutate_job(
                self._jobs,
                job.tenant_id,
                job.job_id,
                lambda j: j.start_step(self.step.name, started_at),
                known=job,
                run=job.run,
            )
        except InvalidTransition as refused:
            logger.info("step not started", extra={"reason": refused.message})
            return None
        keys = JobKeys(job.env, job.tenant_id, job.job_id)
        try:
            manifest, _ = self._manifests.load(keys)
        except StorageObjectMissing:
            missing = "the job's manifest is missing from storage"
            self._failer.fail(
                job, JobError(type=ErrorType.INPUT_MISSING, message=missing, step=self.step.name)
            )
            return None
        if manifest.status == "pending":
            manifest = self._manifests.update(keys, _mark_processing)
        logger.info("step started", extra={"attempt": job.steps[self.step.name].attempts})

        clock = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix=f"talkavocado-{self.step.name}-") as scratch:
                outcome = self._body(
                    StepContext(
                        self.step, keys, job, manifest, self._storage, remaining, Path(scratch)
                    )
                )
        except Exception as raised:
            error = classify(raised, self.step.name)
            record_step_metrics(self.step.name, "failed", _ms_since(clock), error.type)
            if error.type.retryable:
                mutate_job(
                    self._jobs,
                    job.tenant_id,
                    job.job_id,
                    lambda j: j.note_step_error(self.step.name, error),
                    known=job,
                    run=job.run,
                )
                raise
            logger.exception("step failed", extra={"errorType": error.type})
            self._failer.fail(job, error)
            return None

        manifest = self._manifests.update(keys, lambda m: self._record(m, outcome))
        finished_at = now_iso()

        def finish(j: JobRecord) -> None:
            j.finish_step(self.step.name, outcome.status, finished_at)
            if self.step is FINALIZER:
                j.complete()

        try:
            job = mutate_job(self._jobs, job.tenant_id, job.job_id, finish, known=job, run=job.run)
        except StaleRun as retried:  # retried while the step ran
            logger.info("step result dropped", extra={"reason": retried.message})
            return None
        except InvalidTransition as refused:
            current = self._jobs.get(job.tenant_id, job.job_id)
            if current is None or current.status not in TERMINAL_STATUSES:
                raise
            # Cancelled (or failed) while the step ran: its result goes no further.
            logger.info("step result dropped", extra={"reason": refused.message})
            return None
        duration = _ms_since(clock)
        record_step_metrics(self.step.name, outcome.status, duration, None)
        logger.info(
            "step finished",
            extra={"outcome": outcome.status, "summary": outcome.summary, "durationMs": duration},
        )
        if job.awaits_review:
            # Its plan waits for a person: approving or editing it goes on.
            self._manifests.project(keys, job)
            logger.info("plan awaits its review")
            return None
        following = event_for(self.step.emits, job, manifest)
        return {"detailType": following.detail_type, "detail": following.model_dump(mode="json")}

    def _record(self, manifest: Manifest, outcome: StepOutcome) -> None:
        outcome.apply(manifest)
        if self.step is FINALIZER and manifest.status == "processing":  # not if cancelled
            manifest.status = "completed"
        manifest.put_log(
            LogEntry(
                type="pipeline",
                created_at=now_iso(),
                step=self.step.name,
                message=f"{outcome.status}: {outcome.summary}",
            )
        )

    def _replay(self, job: JobRecord) -> None:
        """The step is already recorded: publish its event again, unless the
        next step shows it has received it."""
        after = next_step(self.step)
        if job.awaits_review:
            logger.info("duplicate delivery; the plan awaits its review")
            return
        if after is not None and job.steps[after.name].status != "pending":
            logger.info("duplicate delivery; already done and passed on")
            return
        manifest, _ = self._manifests.load(JobKeys(job.env, job.tenant_id, job.job_id))
        logger.info("already done; re-publishing its event")
        self._publish(event_for(self.step.emits, job, manifest))

    def _publish(self, event: PipelineEvent) -> None:
        if isinstance(event, JobOutcome):  # once per run, recorded on the job
            self._announcer.announce(event)
            return
        self._publisher.publish(event)
        logger.info("event published", extra={"detailType": event.detail_type})


def _mark_processing(manifest: Manifest) -> None:
    if manifest.status == "pending":
        manifest.status = "processing"


def _ms_since(clock: float) -> float:
    return round((time.perf_counter() - clock) * 1000, 1)
