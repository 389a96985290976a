"""The deadline sweep (a scheduled function): every open job past its
deadline (talkavocado.domain.deadlines) is failed the way any failure is, with its
manifest, its record and JobFailed, unless it moved on since it was read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from talkavocado.domain.deadlines import Deadlines
from talkavocado.domain.jobs import TERMINAL_STATUSES
from talkavocado.ports import JobRepository
from talkavocado.support.clock import iso
from talkavocado.support.observability import bind_job, bind_work, logger, metrics
from talkavocado.workers.failure import JobFailer

STEP = "deadline-sweep"
# Stop this long before the invocation's end; the next sweep carries on.
RESERVE_MS = 15_000


@dataclass(frozen=True)
class SweepReport:
    examined: int
    failed: int
    finished: bool  # False: stopped for lack of time


class DeadlineSweep:
    def __init__(
        self, jobs: JobRepository, failer: JobFailer, deadlines: Callable[[], Deadlines]
    ) -> None:
        self._jobs = jobs
        self._failer = failer
        self._deadlines = deadlines  # read lazily: from the queues' settings

    def sweep(self, now: datetime, remaining_ms: Callable[[], int]) -> SweepReport:
        sweep_id = f"sweep-{uuid.uuid4()}"
        bind_work(correlation_id=sweep_id, step=STEP)
        deadlines = self._deadlines()
        examined = failed = 0
        for tenant_id, job_id in self._jobs.open_jobs(iso(now - deadlines.shortest)):
            if remaining_ms() < RESERVE_MS:
                logger.warning("sweep stopped for lack of time", extra={"examined": examined})
                return SweepReport(examined, failed, finished=False)
            examined += 1
            record = self._jobs.get(tenant_id, job_id)
            if record is None or record.status in TERMINAL_STATUSES:
                continue
            error = deadlines.overdue(record, now)
            if error is None:
                continue
            # Its lines join the job's own, under the job's correlation id.
            bind_work(correlation_id=record.correlation_id, step=STEP)
            bind_job(tenant_id=tenant_id, job_id=job_id)
            logger.warning("job overdue", extra={"errorType": error.type, "reason": error.message})
            self._failer.fail(record, error, only_as_read=True)
            failed += 1
            bind_work(correlation_id=sweep_id, step=STEP)
        logger.info("sweep done", extra={"examined": examined, "failed": failed})
        metrics.add_metric(name="JobsOverdue", unit=MetricUnit.Count, value=failed)
        return SweepReport(examined, failed, finished=True)

    def handle(self, remaining_ms: Callable[[], int]) -> dict[str, int | bool]:
        report = self.sweep(datetime.now(UTC), remaining_ms)
        return {"examined": report.examined, "failed": report.failed, "finished": report.finished}
