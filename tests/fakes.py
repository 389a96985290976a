"""In-memory stand-ins for the ports, for unit tests (fakes over mocks)."""

from __future__ import annotations

import threading
from typing import Any

from talkavocado.clock import now_iso
from talkavocado.errors import ConcurrentUpdate, JobAlreadyExists
from talkavocado.events import PipelineEvent
from talkavocado.jobs import JobRecord
from talkavocado.pipeline import STEP_NAMES


class InMemoryJobRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create(self, record: JobRecord) -> None:
        with self._lock:
            key = (record.tenant_id, record.job_id)
            if key in self.items:
                raise JobAlreadyExists("exists", job=record.pointer)
            self.items[key] = record.to_item()

    def get(self, tenant_id: str, job_id: str) -> JobRecord | None:
        item = self.items.get((tenant_id, job_id))
        return JobRecord.model_validate(item) if item else None

    def save(self, record: JobRecord, *, expected_version: int) -> JobRecord:
        with self._lock:
            key = (record.tenant_id, record.job_id)
            if key not in self.items or self.items[key]["version"] != expected_version:
                raise ConcurrentUpdate("changed meanwhile")
            saved = record.model_copy(
                update={"version": expected_version + 1, "updated_at": now_iso()}
            )
            self.items[key] = saved.to_item()
            return saved

    def list_jobs(
        self, tenant_id: str, *, status: str | None = None, limit: int = 50
    ) -> list[JobRecord]:
        records = [
            JobRecord.model_validate(item)
            for (tenant, _), item in self.items.items()
            if tenant == tenant_id and (status is None or item["status"] == status)
        ]
        return sorted(records, key=lambda r: r.created_at, reverse=True)[:limit]


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[PipelineEvent] = []

    def publish(self, event: PipelineEvent) -> None:
        self.events.append(event)


def run_every_step(job: JobRecord, now: str = "2026-01-01T00:00:00.000Z") -> None:
    """Record every step of the job's run as completed, then the job, as the
    pipeline would (a job completes only once all its steps have)."""
    for name in STEP_NAMES:
        if job.steps[name].status != "completed":
            job.start_step(name, now)
            job.finish_step(name, "completed", now)
    job.complete()
