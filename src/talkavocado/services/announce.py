"""Announcing how a job run ended (JobCompleted, JobFailed, JobCancelled):
once per run when nothing crashes. The announcement goes out after the
conditional write that ended the job, and is then recorded on the job; a
repeat of the ending (a duplicate delivery, a second cancel) finds it
recorded and stays quiet. Only a crash between the two repeats it, with the
same event id."""

from __future__ import annotations

from contextlib import suppress

from talkavocado.domain.errors import InvalidTransition
from talkavocado.domain.events import JobOutcome
from talkavocado.domain.jobs import JobRecord
from talkavocado.ports import EventPublisher, JobRepository
from talkavocado.services.transitions import mutate_job
from talkavocado.support.observability import logger


class Announcer:
    def __init__(self, jobs: JobRepository, publisher: EventPublisher) -> None:
        self._jobs = jobs
        self._publisher = publisher

    def announce(self, outcome: JobOutcome, job: JobRecord | None = None) -> None:
        """``job``: the record just written, when the caller has it (saves a read)."""
        job = job or self._jobs.get(outcome.tenant_id, outcome.job_id)
        if job is None or job.run != outcome.run or job.status != outcome.status:
            logger.info(
                "the job moved on; outcome not announced", extra={"outcome": outcome.status}
            )
            return
        if job.announced == outcome.announcement:
            logger.info("outcome already announced", extra={"eventId": outcome.event_id})
            return
        self._publisher.publish(outcome)
        logger.info(
            "outcome announced",
            extra={"detailType": outcome.detail_type, "eventId": outcome.event_id},
        )
        with suppress(InvalidTransition):  # retried meanwhile: the new run announces its own
            mutate_job(
                self._jobs,
                job.tenant_id,
                job.job_id,
                lambda j: j.mark_announced(outcome.announcement),
                known=job,
                run=job.run,
            )
