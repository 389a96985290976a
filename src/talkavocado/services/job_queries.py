"""Reading jobs: one job with its manifest, a tenant's jobs page by page,
and a job's history, free of HTTP and AWS. Another tenant's job reads
exactly like a missing one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from talkavocado.domain.jobs import HistoryEntry, JobRecord
from talkavocado.domain.keys import JobKeys, parse_job_id, parse_tenant_id
from talkavocado.domain.manifest import Manifest
from talkavocado.errors import (
    ArtifactNotFound,
    JobDataMissing,
    JobNotFound,
    StorageObjectMissing,
)
from talkavocado.ports import JobQuery, JobRepository, Storage
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.support.observability import bind_job, logger
from talkavocado.support.paging import cursor_of, token_of


@dataclass(frozen=True)
class Listing:
    """GET /jobs: filters, page size, and the token of the page to read."""

    status: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    limit: int = 50
    next_token: str | None = None


@dataclass(frozen=True)
class Captions:
    srt: str
    vtt: str


@dataclass(frozen=True)
class Artifacts:
    audio: str | None = None
    transcript: str | None = None
    plan: str | None = None
    renders: list[str] = field(default_factory=list)
    peaks: str | None = None
    captions: Captions | None = None  # the cut video's


@dataclass(frozen=True)
class JobView:
    record: JobRecord
    manifest: Manifest

    @property
    def artifacts(self) -> Artifacts:
        m = self.manifest
        return Artifacts(
            audio=m.audio.key if m.audio else None,
            transcript=m.transcript.json_key if m.transcript else None,
            plan=m.plan.key if m.plan else None,
            renders=[r.key for r in m.renders],
            peaks=m.audio.peaks_key if m.audio else None,
            captions=Captions(m.captions.srt_key, m.captions.vtt_key) if m.captions else None,
        )

    @property
    def updated_at(self) -> str:
        return max(self.record.updated_at, self.manifest.updated_at)


Document = Literal["peaks", "transcript"]
Media = Literal["source", "render", "preview"]
# How long a media link reads its object: a player asks for ranges as it
# plays, and the page asks for a new link when one has expired.
MEDIA_LINK_SECONDS = 3600


@dataclass(frozen=True)
class MediaLink:
    url: str
    expires_in: int


def existing(jobs: JobRepository, tenant_id: str, job_id: str) -> JobRecord:
    """The tenant's job; another tenant's looks exactly like a missing one."""
    tenant_id = parse_tenant_id(tenant_id)
    job_id = parse_job_id(job_id)
    bind_job(tenant_id=tenant_id, job_id=job_id)
    record = jobs.get(tenant_id, job_id)
    if record is None:
        raise JobNotFound("job not found", jobId=job_id)
    return record


class JobQueries:
    def __init__(self, jobs: JobRepository, storage: Storage) -> None:
        self._jobs = jobs
        self._storage = storage
        self._manifests = ManifestStore(storage)

    def get_job(self, tenant_id: str, job_id: str) -> JobView:
        record = existing(self._jobs, tenant_id, job_id)
        keys = JobKeys(record.env, record.tenant_id, record.job_id)
        try:
            manifest, _ = self._manifests.load(keys)
        except StorageObjectMissing:
            logger.error("the job's manifest is missing", extra={"key": keys.manifest})
            raise JobDataMissing(
                "the job's stored documents are missing; it can no longer be read",
                jobId=record.job_id,
            ) from None
        if (manifest.tenant_id, manifest.job_id) != (record.tenant_id, record.job_id):
            # Never answer with another tenant's data, whatever the storage holds.
            logger.error("manifest does not belong to the job record")
            raise JobNotFound("job not found", jobId=record.job_id)
        return JobView(record=record, manifest=manifest)

    def document(self, tenant_id: str, job_id: str, which: Document) -> bytes:
        """A JSON document of the tenant's job, under the key its manifest
        records (never one a client names)."""
        view = self.get_job(tenant_id, job_id)
        keys = JobKeys(view.record.env, view.record.tenant_id, view.record.job_id)
        key = view.artifacts.peaks if which == "peaks" else view.artifacts.transcript
        if key is None:
            raise ArtifactNotFound(f"the job has no {which} yet", jobId=job_id, artifact=which)
        try:
            return self._storage.get(keys, key).data
        except StorageObjectMissing:
            raise ArtifactNotFound(
                f"the job's {which} is missing", jobId=job_id, artifact=which
            ) from None

    def media_link(self, tenant_id: str, job_id: str, which: Media) -> MediaLink:
        """A short-lived link that plays the tenant's job's input or render."""
        view = self.get_job(tenant_id, job_id)
        keys = JobKeys(view.record.env, view.record.tenant_id, view.record.job_id)
        manifest = view.manifest
        key: str | None
        if which == "source":
            key = manifest.source_video_key
        else:
            wanted = "final" if which == "render" else "preview"
            key = next((r.key for r in manifest.renders if r.type == wanted), None)
        if key is None or not self._storage.exists(keys, key):
            raise ArtifactNotFound(f"the job has no {which} yet", jobId=job_id, artifact=which)
        url = self._storage.download_url(keys, key, MEDIA_LINK_SECONDS)
        if url is None:
            raise ArtifactNotFound(
                "this deployment serves no media links", jobId=job_id, artifact=which
            )
        return MediaLink(url=url, expires_in=MEDIA_LINK_SECONDS)

    def list_jobs(self, tenant_id: str, listing: Listing) -> tuple[list[JobRecord], str | None]:
        """One page of the tenant's jobs, newest first, and the token of the
        next page (None on the last). A token is bound to its tenant and its
        filters: used by another tenant or with other filters, it is refused."""
        tenant_id = parse_tenant_id(tenant_id)
        bind_job(tenant_id=tenant_id)
        filters = [listing.status, listing.created_after, listing.created_before]
        cursor = cursor_of(listing.next_token, tenant_id, filters) if listing.next_token else None
        query = JobQuery(
            listing.status, listing.created_after, listing.created_before, listing.limit, cursor
        )
        page = self._jobs.list_jobs(tenant_id, query)
        return page.records, token_of(page.cursor, tenant_id, filters)

    def job_history(
        self, tenant_id: str, job_id: str, limit: int, next_token: str | None
    ) -> tuple[list[HistoryEntry], str | None]:
        """One page of the job's transitions, oldest first, and the token of
        the next page; a token is bound to its tenant and job."""
        record = existing(self._jobs, tenant_id, job_id)
        scope: list[str | None] = ["history", record.job_id]
        cursor = cursor_of(next_token, record.tenant_id, scope) if next_token else None
        page = self._jobs.history(record.tenant_id, record.job_id, limit, cursor)
        return page.entries, token_of(page.cursor, record.tenant_id, scope)
