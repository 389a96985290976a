"""In-memory stand-ins for the ports, for unit tests (fakes over mocks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.domain.errors import ConcurrentUpdate, JobAlreadyExists
from talkavocado.domain.events import PipelineEvent
from talkavocado.domain.jobs import HistoryEntry, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.ports import HistoryPage, JobPage, JobQuery
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.support.clock import now_iso
from talkavocado.workers.failure import JobFailer


class InMemoryJobRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.histories: dict[tuple[str, str], list[HistoryEntry]] = {}
        self._lock = threading.Lock()

    def create(self, record: JobRecord) -> None:
        with self._lock:
            key = (record.tenant_id, record.job_id)
            if key in self.items:
                raise JobAlreadyExists("exists", job=record.pointer)
            self.items[key] = record.to_item()
            self.histories[key] = record.journal

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
            self.histories[key] += saved.journal
            return saved.without_journal()

    def open_jobs(self, updated_before: str) -> Iterator[tuple[str, str]]:
        for (tenant, job), item in list(self.items.items()):
            if "openShard" in item and item["updatedAt"] < updated_before:
                yield tenant, job

    def history(
        self, tenant_id: str, job_id: str, limit: int, cursor: Mapping[str, Any] | None
    ) -> HistoryPage:
        entries = self.histories.get((tenant_id, job_id), [])
        start = int(cursor["n"]) if cursor else 0
        page = entries[start : start + limit]
        more = start + limit < len(entries)
        return HistoryPage(page, {"n": start + limit} if more else None)

    def list_jobs(self, tenant_id: str, query: JobQuery) -> JobPage:
        """As the index does it: newest first, a page of ``limit``, resumed
        after the cursor's (createdAt, jobId)."""
        records = sorted(
            (
                JobRecord.model_validate(item)
                for (tenant, _), item in self.items.items()
                if tenant == tenant_id
                and (query.status is None or item["status"] == query.status)
                and (query.created_after is None or item["createdAt"] > query.created_after)
                and (query.created_before is None or item["createdAt"] < query.created_before)
            ),
            key=lambda r: (r.created_at, r.job_id),
            reverse=True,
        )
        if query.cursor is not None:
            after = (query.cursor["createdAt"], query.cursor["jobId"])
            records = [r for r in records if (r.created_at, r.job_id) < after]
        page = records[: query.limit]
        more = len(records) > query.limit
        cursor = {"createdAt": page[-1].created_at, "jobId": page[-1].job_id} if more else None
        return JobPage(page, cursor)


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


class World:
    """The stores the services and workers run over, as fakes: an in-memory
    job table, files under a temporary root, a publisher that keeps what it
    sends, and the job failer over them. Tests add what their case needs."""

    def __init__(self, root: Path) -> None:
        self.jobs = InMemoryJobRepository()
        self.storage = LocalStorage(root)
        self.manifests = ManifestStore(self.storage)
        self.publisher = RecordingPublisher()
        self.failer = JobFailer(self.jobs, self.manifests, self.publisher)
        self.keys: JobKeys | None = None

    def add(self, keys: JobKeys, **record: Any) -> JobRecord:
        """A job's record and manifest, as its create wrote them; the job
        :meth:`record` and :meth:`manifest` read from now on."""
        job = JobRecord.for_job(keys, **{"correlation_id": "c", **record})
        self.jobs.create(job)
        self.manifests.create(keys, Manifest.for_job(keys, status=job.status))
        self.keys = keys
        return job

    def record(self, keys: JobKeys | None = None) -> JobRecord:
        keys = keys or self.keys
        assert keys is not None
        found = self.jobs.get(keys.tenant_id, keys.job_id)
        assert found is not None
        return found

    def manifest(self, keys: JobKeys | None = None) -> Manifest:
        keys = keys or self.keys
        assert keys is not None
        return self.manifests.load(keys)[0]
