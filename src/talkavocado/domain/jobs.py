"""The job record and its state machine.

``pending -> processing -> completed | failed``; ``pending | processing ->
cancelled``; ``failed -> processing`` only through an explicit retry (run + 1).
Transitions are computed here, on a freshly read record, and written back
with a compare-and-swap on ``version`` (:func:`mutate_job`), so a status never
moves backwards whatever order events arrive in.
"""

from __future__ import annotations

import zlib
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from talkavocado.domain.errors import (
    ErrorType,
    InvalidTransition,
)
from talkavocado.domain.keys import Env, JobKeys
from talkavocado.domain.manifest import JobStatus
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.support.camel import CamelModel
from talkavocado.support.clock import now_iso

TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
# Open jobs carry ``openShard``, the partition key of the sparse index the
# deadline sweep reads across tenants; a job leaves it when it finishes. A
# few shards spread the index's writes.
OPEN_SHARDS = 4

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "cancelled"}),
    "processing": frozenset({"completed", "failed", "cancelled"}),
    "failed": frozenset({"processing"}),  # retry only
    "completed": frozenset(),
    "cancelled": frozenset(),
}

StepStatus = Literal["pending", "running", "completed", "failed", "skipped"]
DONE_STEP_STATUSES: frozenset[str] = frozenset({"completed", "skipped"})
FINISHED_STEP_STATUSES: frozenset[str] = DONE_STEP_STATUSES | {"failed"}


def job_sort_key(job_id: str) -> str:
    return f"JOB#{job_id}"


def open_shard(job_id: str) -> str:
    return f"open#{zlib.crc32(job_id.encode()) % OPEN_SHARDS}"


def history_prefix(job_id: str) -> str:
    return f"HIST#{job_id}#"


def history_sort_key(job_id: str, version: int, n: int) -> str:
    """The ``n``-th transition written with version ``version`` of the
    record: sorts in the order they happened."""
    return f"{history_prefix(job_id)}{version:010d}#{n:03d}"


def status_sort_key(status: str, created_at: str, job_id: str) -> str:
    """Sort key of the by-status index: a tenant's jobs of one status, oldest first."""
    return f"{status}#{created_at}#{job_id}"


class _Camel(CamelModel):
    # Table items also carry the index attributes (jobSort, statusSort, openShard).
    model_config = ConfigDict(extra="ignore")


class JobError(_Camel):
    type: ErrorType
    message: str
    step: str


class StepState(_Camel):
    status: StepStatus = "pending"
    run: Annotated[int, Field(ge=1)] | None = None  # the run it last started in
    attempts: Annotated[int, Field(ge=0)] = 0
    started_at: str | None = None
    completed_at: str | None = None
    error: JobError | None = None
    # While a delivery runs the step: until when its invocation may run. A
    # second delivery meanwhile (SQS delivers at least once) does not run it
    # too; a claim left by an invocation that died ends with its time.
    claimed_until: str | None = None


class StepClaimed(InvalidTransition):
    """The step is running under another delivery, whose invocation may
    still be running: this one must not run it too."""


StartedBy = Literal["create", "call", "upload"]
HistoryKind = Literal[
    "created",
    "started",
    "step-started",
    "step-completed",
    "step-skipped",
    "step-retrying",
    "failed",
    "expired",
    "cancelled",
    "retried",
    "completed",
]


class HistoryEntry(_Camel):
    """One transition of a job, stored beside its record in the same write."""

    at: str
    kind: HistoryKind
    run: Annotated[int, Field(ge=1)]
    status: JobStatus  # the job's status after it
    step: str | None = None
    attempt: Annotated[int, Field(ge=1)] | None = None
    by: StartedBy | None = None
    resume_at: str | None = None
    error: JobError | None = None


def _initial_steps() -> dict[str, StepState]:
    return {name: StepState() for name in STEP_NAMES}


class JobRecord(_Camel):
    """One item of the jobs table (partition ``tenantId``, sort ``jobSort``)."""

    tenant_id: str
    job_id: str
    env: Env
    status: JobStatus
    manifest_key: str
    correlation_id: str
    created_at: str
    updated_at: str
    version: Annotated[int, Field(ge=1)] = 1
    run: Annotated[int, Field(ge=1)] = 1
    source_key: str | None = None
    # When a start was accepted (on create, POST /start): before it, nothing
    # may run, whatever event names the job.
    started_at: str | None = None
    # The input's stored version at that start: every step reads that one.
    source_version: str | None = None
    steps: dict[str, StepState] = Field(default_factory=_initial_steps)
    error: JobError | None = None
    # When the current run ended (completed, failed or cancelled), and which
    # outcome announcement has gone out (``{detailType}#{run}``): an outcome
    # is announced once per run unless a crash comes between the two.
    finished_at: str | None = None
    announced: str | None = None
    # The transitions made since the record was read; the repository writes
    # them with the record, atomically, and hands back a record without them.
    _journal: list[HistoryEntry] = PrivateAttr(default_factory=list)

    @property
    def journal(self) -> list[HistoryEntry]:
        return list(self._journal)

    def without_journal(self) -> JobRecord:
        """This record as stored: its journal written with it."""
        stored = self.model_copy()
        stored._journal = []
        return stored

    def _note(self, kind: HistoryKind, now: str | None = None, **fields: Any) -> None:
        self._journal.append(
            HistoryEntry(at=now or now_iso(), kind=kind, run=self.run, status=self.status, **fields)
        )

    @classmethod
    def for_job(
        cls,
        keys: JobKeys,
        *,
        correlation_id: str,
        status: JobStatus = "pending",
        now: str | None = None,
        **fields: Any,
    ) -> JobRecord:
        """A new record of the job that ``keys`` names."""
        created = now or now_iso()
        record = cls(
            tenant_id=keys.tenant_id,
            job_id=keys.job_id,
            env=keys.env,
            status=status,
            manifest_key=keys.manifest,
            correlation_id=correlation_id,
            created_at=created,
            updated_at=created,
            **fields,
        )
        record._note("created", created)
        if record.started_at is not None:
            record._note("started", created, by="create")
        return record

    @property
    def job_sort(self) -> str:
        return job_sort_key(self.job_id)

    @property
    def status_sort(self) -> str:
        return status_sort_key(self.status, self.created_at, self.job_id)

    def to_item(self) -> dict[str, Any]:
        item = self.model_dump(by_alias=True, exclude_none=True)
        item["jobSort"] = self.job_sort
        item["statusSort"] = self.status_sort
        if self.status not in TERMINAL_STATUSES:
            item["openShard"] = open_shard(self.job_id)
        return item

    @property
    def pointer(self) -> dict[str, str]:
        """What a client needs to find this job again."""
        return {
            "jobId": self.job_id,
            "tenantId": self.tenant_id,
            "status": self.status,
            "manifestKey": self.manifest_key,
        }

    @property
    def finished_steps(self) -> int:
        return sum(1 for state in self.steps.values() if state.status in DONE_STEP_STATUSES)

    # --- transitions: each raises InvalidTransition when not allowed --------

    def _move_to(self, target: JobStatus) -> None:
        if target not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"job {self.job_id} cannot go from {self.status} to {target}", job=self.pointer
            )
        self.status = target
        self.finished_at = now_iso() if target in TERMINAL_STATUSES else None

    def mark_started(self, now: str, source_version: str | None, by: StartedBy) -> None:
        """Accept a start with the input as now stored: the first step may
        run. Only once: of a start call and an upload event together, one
        starts the job."""
        if self.status != "pending" or self.started_at is not None:
            raise InvalidTransition(
                f"the job has already started ({self.status})", job=self.pointer
            )
        self.started_at, self.source_version = now, source_version
        self._note("started", now, by=by)

    def refusal_to_run(self, step: str) -> str | None:
        """Why ``step`` may not run in the job's current run, or None. Only the
        pipeline's order drives a job: the first step needs an accepted start,
        every other step its previous step completed in this run."""
        index = STEP_NAMES.index(step)
        if index == 0:
            started = self.started_at is not None or self.status != "pending"
            return None if started else "the job has not been started"
        before = STEP_NAMES[index - 1]
        if self.steps[before].status not in DONE_STEP_STATUSES:
            return f"step {before} has not completed in run {self.run}"
        return None

    def is_running(self, step: str) -> bool:
        """``step`` started in the current run and has not finished."""
        return self.status == "processing" and self.steps[step].status == "running"

    def start_step(self, step: str, now: str, claim_until: str | None = None) -> None:
        """Mark ``step`` running (again, after a retryable failure or an
        invocation that died), claimed by this delivery until
        ``claim_until``; the first step to start also moves the job to
        processing (MarkProcessing). A step claimed by a delivery whose time
        has not run out is not started again (``StepClaimed``)."""
        if self.status == "pending":
            self._move_to("processing")
        if self.status != "processing":
            raise InvalidTransition(f"job {self.job_id} is {self.status}", job=self.pointer)
        state = self.steps.setdefault(step, StepState())
        if state.status in FINISHED_STEP_STATUSES:
            raise InvalidTransition(f"step {step} is already {state.status}", job=self.pointer)
        if state.status == "running" and state.claimed_until and state.claimed_until > now:
            raise StepClaimed(
                f"step {step} is running under another delivery until {state.claimed_until}",
                job=self.pointer,
            )
        state.claimed_until = claim_until
        state.status = "running"
        state.run = self.run
        state.attempts += 1
        state.started_at = state.started_at or now
        self._note("step-started", now, step=step, attempt=state.attempts)

    def release_step(self, step: str) -> None:
        """The delivery that claimed ``step`` stopped short of recording it:
        the next delivery may run it at once."""
        self.steps[step].claimed_until = None

    def note_step_error(self, step: str, error: JobError) -> None:
        """A retryable error: the step stays running, unclaimed, for its
        next delivery; the error is kept."""
        self.steps[step].error = error
        self.steps[step].claimed_until = None
        self._note("step-retrying", step=step, attempt=self.steps[step].attempts, error=error)

    def finish_step(self, step: str, status: Literal["completed", "skipped"], now: str) -> None:
        state = self.steps[step]
        if self.status != "processing" or state.status != "running":
            raise InvalidTransition(f"step {step} is not running", job=self.pointer)
        state.status = status
        state.completed_at = now
        state.error = None
        state.claimed_until = None
        self._note(f"step-{status}", now, step=step, attempt=state.attempts)  # type: ignore[arg-type]

    def complete(self) -> None:
        """Only a job whose every step completed (or was skipped) in this run."""
        unfinished = [
            name for name, state in self.steps.items() if state.status not in DONE_STEP_STATUSES
        ]
        if unfinished:
            raise InvalidTransition(
                f"job {self.job_id} cannot complete: {', '.join(unfinished)} not completed",
                job=self.pointer,
            )
        self._move_to("completed")
        self._note("completed")

    def cancel(self) -> None:
        """A pending or processing job stops: no further step starts, and a
        step already running has its result dropped."""
        self._move_to("cancelled")
        self._note("cancelled")

    def retry(self, resume_at: str | None = None) -> None:
        """A failed job runs again as run + 1, from ``resume_at`` (default its
        first step): the steps before it keep what they completed, with the
        run they completed in; it and every step after it start afresh. The
        earlier run's late events no longer apply."""
        self._move_to("processing")
        self.run += 1
        self.error = None
        first = STEP_NAMES.index(resume_at or STEP_NAMES[0])
        if any(self.steps[name].status not in DONE_STEP_STATUSES for name in STEP_NAMES[:first]):
            raise InvalidTransition(
                f"cannot resume at {resume_at}: an earlier step did not complete"
            )
        for name in STEP_NAMES[first:]:
            self.steps[name] = StepState()
        self._note("retried", resume_at=STEP_NAMES[first])

    @property
    def resume_step(self) -> str:
        """The first step of the pipeline not completed in this job's runs."""
        return next(
            (n for n in STEP_NAMES if self.steps[n].status not in DONE_STEP_STATUSES),
            STEP_NAMES[-1],
        )

    def mark_announced(self, announcement: str) -> None:
        self.announced = announcement

    @property
    def current_step(self) -> str:
        """The step running now, else the next one to run."""
        running = (n for n in STEP_NAMES if self.steps[n].status == "running")
        return next(running, self.resume_step)

    @property
    def retry_unannounced(self) -> bool:
        """Retried, but the step it resumes at has not started: its event may
        have been lost to a crash."""
        state = self.steps[self.resume_step]
        return self.status == "processing" and self.run > 1 and state.attempts == 0

    def fail(self, error: JobError, now: str) -> None:
        if self.status == "pending":  # failed before any step could start
            self._move_to("processing")
        self._move_to("failed")
        self.error = error
        state = self.steps.get(error.step)
        if state is not None and state.status not in DONE_STEP_STATUSES:
            state.status = "failed"
            state.completed_at = now
            state.error = error
            state.claimed_until = None
        kind: HistoryKind = "expired" if error.type == ErrorType.UPLOAD_EXPIRED else "failed"
        attempt = state.attempts if state is not None and state.attempts else None
        self._note(kind, now, step=error.step, attempt=attempt, error=error)
