"""When an open job is overdue, so that no job waits forever for a person.

- A job never started (its input not stored) expires once its upload window
  and a grace period have passed: failed with UPLOAD_EXPIRED.
- A started job is stuck once its current step has taken longer than that
  step can possibly take: its queue redelivers a message at most
  ``maxReceiveCount`` times, each after the visibility timeout, and then the
  dead-letter handler fails the job; a step past that (plus a margin) lost
  its message and its dead letter. Failed with TIMEOUT, the step named.
- A plan awaiting its review that is neither approved nor edited within the
  review window: failed with REVIEW_EXPIRED.

The budgets come from the deployment (the queues' settings); this module
only compares times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from talkavocado.domain.jobs import REVIEW_STEP, JobError, JobRecord
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.errors import ErrorType
from talkavocado.support.clock import parse_time

UPLOAD_STEP = "upload"  # the error's step of a job whose input never came
DEFAULT_REVIEW_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Deadlines:
    upload_window: timedelta  # the upload target's validity plus the grace period
    step_budgets: Mapping[str, timedelta]  # the longest each step can take, margin included
    review_window: timedelta = DEFAULT_REVIEW_WINDOW  # how long a plan waits for its review

    def __post_init__(self) -> None:
        missing = set(STEP_NAMES) - set(self.step_budgets)
        if missing:
            raise ValueError(f"no time budget for {', '.join(sorted(missing))}")

    @property
    def shortest(self) -> timedelta:
        """No open job is overdue sooner than this after its last change, nor
        so after its creation."""
        return min(self.upload_window, self.review_window, *self.step_budgets.values())

    def overdue(self, record: JobRecord, now: datetime) -> JobError | None:
        """Why ``record`` should be failed now, or None while it may still progress."""
        if record.status == "pending" and record.started_at is None:
            if now - parse_time(record.created_at) <= self.upload_window:
                return None
            return JobError(
                type=ErrorType.UPLOAD_EXPIRED,
                message=f"no input was stored within {_seconds(self.upload_window)} s "
                "of the job's creation",
                step=UPLOAD_STEP,
            )
        if record.status == "awaiting-review":
            asked = parse_time(record.review_since or record.updated_at)
            if now - asked <= self.review_window:
                return None
            return JobError(
                type=ErrorType.REVIEW_EXPIRED,
                message=f"the plan was neither approved nor edited within "
                f"{_seconds(self.review_window)} s of its review being asked for "
                "(ReviewWindowSeconds)",
                step=REVIEW_STEP,
            )
        if record.status not in ("pending", "processing"):
            return None
        step = record.current_step
        state = record.steps[step]
        # A running step since its first attempt in this run; a step not yet
        # started since the job's last change (the step before it completed,
        # the start, or the retry that resumes at it).
        since = state.started_at if state.status == "running" and state.started_at else None
        elapsed = now - parse_time(since or record.updated_at)
        budget = self.step_budgets[step]
        if elapsed <= budget:
            return None
        waiting = "ran" if since else "waited to start"
        return JobError(
            type=ErrorType.TIMEOUT,
            message=f"{step} {waiting} for {_seconds(elapsed)} s; "
            f"it can take at most {_seconds(budget)} s",
            step=step,
        )


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())
