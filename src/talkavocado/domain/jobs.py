"""The job record and its state machine.

``pending -> processing -> completed | failed``; ``pending | processing ->
cancelled``; ``failed -> processing`` only through an explicit retry (run + 1).
A job whose settings ask for a review stops after planning: ``processing ->
awaiting-review -> processing`` once its plan is approved or edited (or
failed, REVIEW_EXPIRED, or cancelled); an edited plan of a finished job is
rendered as a new run: ``completed | failed -> processing`` (run + 1,
resuming at the render).
Transitions are computed here, on a freshly read record, and written back
with a compare-and-swap on ``version`` (:func:`mutate_job`), so a status never
moves backwards whatever order events arrive in.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, PrivateAttr, computed_field, model_validator

from talkavocado.domain.keys import Env, JobKeys
from talkavocado.domain.manifest import JobStatus
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.domain.plans import CutSettings
from talkavocado.errors import (
    ErrorType,
    InvalidTransition,
)
from talkavocado.support.camel import CamelModel
from talkavocado.support.clock import from_millis, now_iso, to_millis

TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
# Open jobs carry ``openShard``, the partition key of the sparse index the
# deadline sweep reads across tenants; a job leaves it when it finishes. A
# few shards spread the index's writes.
OPEN_SHARDS = 4

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "cancelled"}),
    "processing": frozenset({"completed", "failed", "cancelled", "awaiting-review"}),
    "awaiting-review": frozenset({"processing", "failed", "cancelled"}),
    "failed": frozenset({"processing"}),  # retry, or an edited plan rendered
    "completed": frozenset({"processing"}),  # an edited plan rendered as a new run
    "cancelled": frozenset(),
}
# The step after which a job that asks for a review waits, and the step an
# approved or edited plan goes on with.
REVIEWED_STEP = "smart-cut-planner"
RENDER_STEP = "video-render"
REVIEW_STEP = "review"  # the error's step of a review that never came

StepStatus = Literal["pending", "running", "completed", "failed", "skipped"]
DONE_STEP_STATUSES: frozenset[str] = frozenset({"completed", "skipped"})
FINISHED_STEP_STATUSES: frozenset[str] = DONE_STEP_STATUSES | {"failed"}


def job_sort_key(job_id: str) -> str:
    return f"JOB#{job_id}"


def open_shard(job_id: str) -> str:
    return f"open#{zlib.crc32(job_id.encode()) % OPEN_SHARDS}"


def history_prefix(job_id: str) -> str:
    return f"HIST#{job_id}#"


def history_key(job_id: str, version: int) -> str:
    """The history item of the transitions from version ``version`` of the
    record on: sorts in the order they happened."""
    return f"{history_prefix(job_id)}{version:010d}"


def status_sort_key(status: str, created_at: str, job_id: str) -> str:
    """Sort key of the by-status index: a tenant's jobs of one status, oldest first."""
    return f"{status}#{created_at}#{job_id}"


class _Camel(CamelModel):
    # Table items also carry the index attributes (jobSort, statusSort, openShard).
    model_config = ConfigDict(extra="ignore")


# A stored time stamp is epoch milliseconds where they give it back exactly:
# a number of about 8 bytes against a 24-byte string (item sizes are billed
# by the KB). ``createdAt`` stays a string: it is an index's sort key.
_RECORD_TIMES = ("updatedAt", "startedAt", "finishedAt", "reviewSince")
_STEP_TIMES = ("startedAt", "completedAt", "claimedUntil")
# A step's attributes are stored under one letter each, its status as its
# first letter, its run only where it is not the job's (0: none): five
# steps' names and values repeated cost about 200 bytes of the record's 1 KB.
_STEP_LETTERS = {
    "status": "s",
    "run": "r",
    "attempts": "n",
    "startedAt": "b",
    "completedAt": "e",
    "error": "x",
    "claimedUntil": "c",
}
_STEP_NAMES_OF = {letter: name for name, letter in _STEP_LETTERS.items()}
# A running step's claim as a stored step holds it (the local runtime drops it on a
# restart: the invocation that made it is gone).
STEP_CLAIM_ATTRIBUTE = _STEP_LETTERS["claimedUntil"]
_STEP_STATUS_OF = {status[0]: status for status in get_args(StepStatus)}


def _store_times(values: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = values.get(name)
        if isinstance(value, str) and (millis := to_millis(value)) is not None:
            values[name] = millis


def _read_times(values: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = values.get(name)
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            values[name] = from_millis(int(value))


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
    "awaiting-review",
    "plan-approved",
    "rerendered",
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
    plan_version: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _of_item(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("at"), int | Decimal):
            data = {**data}
            _read_times(data, ("at",))
        return data

    def to_item(self) -> dict[str, Any]:
        """As the jobs table stores it (its time in epoch milliseconds)."""
        item = self.model_dump(by_alias=True, exclude_none=True)
        _store_times(item, ("at",))
        return item


# Transitions whose entry always carries the error that ended the run.
_FAILURES: frozenset[str] = frozenset({"failed", "expired"})


def stored_journal(entries: list[HistoryEntry], error: JobError | None) -> list[dict[str, Any]]:
    """``entries`` as a record whose error is ``error`` stores them: a
    failure's error that is the record's own is left out (a record carries
    it once), and given back by :func:`journal_of` from the same record."""
    stored = []
    for entry in entries:
        item = entry.to_item()
        if entry.kind in _FAILURES and error is not None and entry.error == error:
            del item["error"]
        stored.append(item)
    return stored


def journal_of(stored: list[dict[str, Any]], error: dict[str, Any] | None) -> list[HistoryEntry]:
    """The entries of a record's stored journal, ``error`` the record's own
    (as stored)."""
    return [
        HistoryEntry.model_validate(
            {"error": error, **item}
            if item.get("kind") in _FAILURES and "error" not in item
            else item
        )
        for item in stored
    ]


def _step_of(stored: dict[str, Any], run: Any, error: Any, name: str) -> dict[str, Any]:
    """A step's fields from its stored form (:meth:`JobRecord._stored_step`)."""
    if "s" not in stored:  # as earlier code stored it
        return stored
    state = {_STEP_NAMES_OF.get(letter, letter): value for letter, value in stored.items()}
    state["status"] = _STEP_STATUS_OF.get(state["status"], state["status"])
    if "run" not in state:
        state["run"] = run
    elif state["run"] == 0:
        state["run"] = None
    _read_times(state, _STEP_TIMES)
    failed = state["status"] == "failed" and "error" not in state
    if failed and isinstance(error, dict) and error.get("step") == name:
        state["error"] = error  # the job's own
    return state


def _initial_steps() -> dict[str, StepState]:
    return {name: StepState() for name in STEP_NAMES}


class JobRecord(_Camel):
    """One item of the jobs table (partition ``tenantId``, sort ``jobSort``).

    The item (:meth:`to_item`) leaves out what the keys give (the job id,
    the manifest's and the input's keys, a plan edit's prefix), the steps
    not started, and a failed step's error where it is the job's; its times
    are epoch milliseconds. A finished job's record, its journal included,
    stays under the 1 KB of a write unit. Validating an item gives them back."""

    tenant_id: str
    job_id: str
    env: Env
    status: JobStatus
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
    # What the job asked of the planner, and whether its plan waits for a
    # review; the plan the render reads (1: the planner's, above: an edit);
    # since when the plan has waited for its review.
    settings: CutSettings | None = None
    plan_version: Annotated[int, Field(ge=1)] | None = None
    plan_key: str | None = None  # an edit's key; None: the planner's own plan
    review_since: str | None = None
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

    @property
    def keys(self) -> JobKeys:
        return JobKeys(self.env, self.tenant_id, self.job_id)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def manifest_key(self) -> str:
        return self.keys.manifest

    def to_item(self) -> dict[str, Any]:
        derived = {"job_id", "manifest_key", "source_key", "plan_key", "steps"}
        item = self.model_dump(by_alias=True, exclude_none=True, exclude=derived)
        keys = self.keys
        if self.source_key != keys.input:  # None (no input declared) is stored as NULL
            item["sourceKey"] = self.source_key
        if self.plan_key is not None:
            item["planKey"] = self.plan_key.removeprefix(keys.prefix)
        steps = {
            name: self._stored_step(state)
            for name, state in self.steps.items()
            if state != StepState()
        }
        if steps:
            item["steps"] = steps
        _store_times(item, _RECORD_TIMES)
        item["jobSort"] = self.job_sort
        item["statusSort"] = self.status_sort
        if self.status not in TERMINAL_STATUSES:
            item["openShard"] = open_shard(self.job_id)
        return item

    def _stored_step(self, state: StepState) -> dict[str, Any]:
        stored = state.model_dump(by_alias=True, exclude_none=True)
        stored["status"] = state.status[0]
        if state.run == self.run:
            del stored["run"]
        elif state.run is None:
            stored["run"] = 0
        if state.status == "failed" and state.error is not None and state.error == self.error:
            del stored["error"]  # the job's own error: stored once
        _store_times(stored, _STEP_TIMES)
        return {_STEP_LETTERS[name]: value for name, value in stored.items()}

    @model_validator(mode="before")
    @classmethod
    def _of_item(cls, data: Any) -> Any:
        """A table item (:meth:`to_item`, or as earlier code wrote it) as the
        record's fields; anything else as it is."""
        if not isinstance(data, dict) or "jobSort" not in data:
            return data
        values = {**data}
        values.setdefault("jobId", str(values["jobSort"]).removeprefix(job_sort_key("")))
        keys = JobKeys(values["env"], values["tenantId"], values["jobId"])
        values.setdefault("sourceKey", keys.input)
        plan_key = values.get("planKey")
        if isinstance(plan_key, str) and not plan_key.startswith(keys.prefix):
            values["planKey"] = keys.prefix + plan_key
        _read_times(values, _RECORD_TIMES)
        steps: dict[str, Any] = {name: {} for name in STEP_NAMES}
        for name, stored in (values.get("steps") or {}).items():
            steps[name] = _step_of(stored, values.get("run", 1), values.get("error"), name)
        values["steps"] = steps
        return values

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
        if self.awaits_review:
            return "the job's plan awaits its review"
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
        if step == REVIEWED_STEP:
            self.plan_version, self.plan_key = 1, None  # a new plan of the planner's own
            if self.settings is not None and self.settings.review:
                self._move_to("awaiting-review")
                self.review_since = now
                self._note("awaiting-review", now, plan_version=self.plan_version)

    @property
    def awaits_review(self) -> bool:
        return self.status == "awaiting-review"

    @property
    def has_plan(self) -> bool:
        return self.plan_version is not None and self.steps[REVIEWED_STEP].status == "completed"

    @property
    def rendering(self) -> bool:
        """Its plan is being rendered: approved in this run, the render (or
        what follows it) not finished."""
        return self.status == "processing" and self.has_plan

    def approve_plan(self, now: str, edit: tuple[int, str] | None = None) -> None:
        """The plan awaiting review (or ``edit``, the version and key of an
        edit made of it) is rendered: the job goes on with its render, in
        the same run."""
        if not self.awaits_review:
            raise InvalidTransition(
                f"the job does not await a review; it is {self.status}", job=self.pointer
            )
        self._move_to("processing")
        self.review_since = None
        if edit is not None:
            self.plan_version, self.plan_key = edit
        self._note("plan-approved", now, plan_version=self.plan_version)

    def rerender(self, edit: tuple[int, str], now: str) -> None:
        """An edited plan of a finished job is rendered as run + 1, resuming
        at the render with the earlier steps' artifacts; the earlier run's
        render stays until this one replaces it."""
        if self.status not in ("completed", "failed") or not self.has_plan:
            raise InvalidTransition(
                f"only a finished job with a plan can be rendered again; this one is {self.status}",
                job=self.pointer,
            )
        self._move_to("processing")
        self.run += 1
        self.error = None
        self.plan_version, self.plan_key = edit
        for name in STEP_NAMES[STEP_NAMES.index(RENDER_STEP) :]:
            self.steps[name] = StepState()
        self._note("rerendered", now, resume_at=RENDER_STEP, plan_version=self.plan_version)

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
        self.review_since = None
        self._note("cancelled")

    def retry(self, resume_at: str | None = None) -> None:
        """A failed job runs again as run + 1, from ``resume_at`` (default its
        first step): the steps before it keep what they completed, with the
        run they completed in; it and every step after it start afresh. The
        earlier run's late events no longer apply."""
        if self.status != "failed":
            raise InvalidTransition(
                f"only a failed job can be retried; this one is {self.status}", job=self.pointer
            )
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
        self.review_since = None
        state = self.steps.get(error.step)
        if state is not None and state.status not in DONE_STEP_STATUSES:
            state.status = "failed"
            state.completed_at = now
            state.error = error
            state.claimed_until = None
        expired = error.type in (ErrorType.UPLOAD_EXPIRED, ErrorType.REVIEW_EXPIRED)
        kind: HistoryKind = "expired" if expired else "failed"
        attempt = state.attempts if state is not None and state.attempts else None
        self._note(kind, now, step=error.step, attempt=attempt, error=error)
