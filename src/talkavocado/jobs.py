"""The job record and its state machine.

``pending -> processing -> completed | failed``; ``pending | processing ->
cancelled``; ``failed -> processing`` only through an explicit retry (run + 1).
Every transition is a conditional write on the current status, so status never
moves backwards, whatever order events arrive in.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from talkavocado.keys import Env
from talkavocado.manifest import JobStatus

TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "cancelled"}),
    "processing": frozenset({"completed", "failed", "cancelled"}),
    "failed": frozenset({"processing"}),  # retry only
    "completed": frozenset(),
    "cancelled": frozenset(),
}


def statuses_that_may_become(target: str) -> list[str]:
    return sorted(s for s, targets in ALLOWED_TRANSITIONS.items() if target in targets)


def job_sort_key(job_id: str) -> str:
    return f"JOB#{job_id}"


def status_sort_key(status: str, created_at: str, job_id: str) -> str:
    """Sort key of the by-status index: a tenant's jobs of one status, oldest first."""
    return f"{status}#{created_at}#{job_id}"


class JobRecord(BaseModel):
    """One item of the jobs table (partition ``tenantId``, sort ``jobSort``)."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)

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
    published_at: str | None = None

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
