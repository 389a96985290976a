"""The one step runner every pipeline worker shares.

For each delivered event: check it belongs to the job it names, skip what is
stale, already decided or out of the pipeline's order (a step runs only after
its previous step completed in the same run), run the step body once,
record the outcome in the manifest and on the job record, and publish the
next event.

Once: the job record decides, by conditional writes for one run. Starting
the step claims it for as long as this invocation may run; a second delivery
that finds it claimed, or recorded, does not run it. A claim ends when the
step is recorded, fails, or meets a retryable error, and by itself when the
invocation that made it could no longer be running (SQS redelivers a
message only after six times that long).

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
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from talkavocado.domain.errors import ErrorType, InvalidKey, InvalidTransition, StorageObjectMissing
from talkavocado.domain.events import JobOutcome, PipelineEvent, event_for
from talkavocado.domain.jobs import DONE_STEP_STATUSES, TERMINAL_STATUSES, JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import LogEntry, Manifest
from talkavocado.domain.pipeline import FINALIZER, Step, next_step
from talkavocado.ports import EventPublisher, JobRepository, Storage
from talkavocado.services.announce import Announcer
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import StaleRun, mutate_job
from talkavocado.support.clock import iso, now_iso
from talkavocado.support.observability import logger, record_step_metrics
from talkavocado.workers.context import StepBody, StepContext, StepOutcome, classify
from talkavocado.workers.failure import JobFailer

# The longest a Lambda invocation runs: no claim outlives its invocation.
MAX_CLAIM_SECONDS = 900.0


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
    ) -> None:
        self.step = step
        self._body = body
        self._jobs = jobs
        self._manifests = manifests
        self._storage = storage
        self._publisher = publisher
        self._announcer = Announcer(jobs, publisher)
        self._failer = JobFailer(jobs, manifests, publisher)

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
            logger.warning("event refused; nothing changed", extra={"reason": refusal})
            return
        following = self._execute(job, remaining_seconds)
        if following is not None:
            self._publish(following)

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

    def _execute(self, job: JobRecord, remaining: Callable[[], float]) -> PipelineEvent | None:
        """Claim the step, run it and record it; the next event to publish."""
        now = datetime.now(UTC)
        started_at = iso(now)
        claim = iso(now + timedelta(seconds=min(remaining(), MAX_CLAIM_SECONDS)))
        try:
            job = mutate_job(
                self._jobs,
                job.tenant_id,
                job.job_id,
                lambda j: j.start_step(self.step.name, started_at, claim),
                known=job,
                run=job.run,
            )
        except InvalidTransition as refused:  # recorded, claimed by another delivery, or over
            logger.info("step not started", extra={"reason": refused.message})
            return None
        released: list[bool] = []
        try:
            return self._run_claimed(job, remaining, released)
        except BaseException:
            if not released:
                self._release(job, claim)
            raise

    def _release(self, job: JobRecord, claim: str) -> None:
        """Stopped short of recording the step: the next delivery may run it
        at once (otherwise, once the claim has run out)."""

        def release(j: JobRecord) -> None:
            if j.steps[self.step.name].claimed_until != claim:
                raise InvalidTransition("the claim is no longer this delivery's")
            j.release_step(self.step.name)

        with suppress(Exception):
            mutate_job(self._jobs, job.tenant_id, job.job_id, release, run=job.run)

    def _run_claimed(
        self, job: JobRecord, remaining: Callable[[], float], released: list[bool]
    ) -> PipelineEvent | None:
        """``released`` is appended to once the record no longer holds the
        claim (the step failed, met a retryable error, or was recorded)."""
        keys = JobKeys(job.env, job.tenant_id, job.job_id)
        try:
            manifest, _ = self._manifests.load(keys)
        except StorageObjectMissing:
            missing = "the job's manifest is missing from storage"
            released.append(True)
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
            released.append(True)  # by the error's record, or the failure's
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
            released.append(True)
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
        return event_for(self.step.emits, job, manifest)

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
