"""A job's plan as people use it: read it as the render will cut it, replace
it, approve it, and take it away as an editor's timeline or as captions.

An edit is stored beside the planner's own plan under a key of its own,
then recorded on the job by compare-and-swap, then rendered: a job awaiting
review goes on in its run; a finished job is rendered again as run + 1,
resuming at the render with the earlier steps' artifacts (its earlier
render stays until the new one replaces it). Of two edits at once, one is
recorded; the other is refused (409), its file never read.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from talkavocado.domain.events import event_for
from talkavocado.domain.jobs import RENDER_STEP, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado.domain.pipeline import step_named
from talkavocado.domain.plans import Segment, edited_plan, snap
from talkavocado.errors import (
    InvalidTransition,
    JobDataMissing,
    PlanNotFound,
    StorageObjectMissing,
    ValidationFailed,
)
from talkavocado.media.planner import CutPlan
from talkavocado.media.timeline import TIMELINE_FORMATS, timeline_of
from talkavocado.ports import EventPublisher, JobRepository, Storage, TimelineWriter
from talkavocado.services.job_queries import existing
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import change_status
from talkavocado.support.clock import now_iso
from talkavocado.support.observability import logger

CAPTION_FORMATS = ("srt", "vtt")
EXPORT_FORMATS: tuple[str, ...] = (*TIMELINE_FORMATS, *CAPTION_FORMATS)
MEDIA_TYPES = {
    "fcpxml": "application/xml",
    "xml": "application/xml",
    "edl": "text/plain",
    "otio": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
}


@dataclass(frozen=True)
class PlanView:
    record: JobRecord
    version: int
    edited: bool
    frame_rate: float | None
    source_duration: float
    segments: list[Segment]  # on the frame grid the render cuts on

    @property
    def kept_duration(self) -> float:
        return sum(s.end - s.start for s in self.segments if s.action == "keep")


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    body: bytes


class PlanService:
    def __init__(
        self,
        jobs: JobRepository,
        storage: Storage,
        publisher: EventPublisher,
        timelines: Callable[[], TimelineWriter],
    ) -> None:
        """``timelines``: the timeline writer, built when an export asks."""
        self._jobs = jobs
        self._storage = storage
        self._manifests = ManifestStore(storage)
        self._publisher = publisher
        self._timelines = timelines

    # --- reading ------------------------------------------------------------

    def current_plan(self, tenant_id: str, job_id: str) -> PlanView:
        """The plan the render reads (or has read), frame-snapped as it cuts."""
        record = existing(self._jobs, tenant_id, job_id)
        keys, manifest = self._documents(record)
        plan = self._plan(record, keys, record.plan_key or keys.cut_plan)
        fps = _frame_rate(manifest)
        return PlanView(
            record=record,
            version=record.plan_version or 1,
            edited=record.plan_key is not None,
            frame_rate=fps,
            source_duration=plan.source_duration,
            segments=snap(plan, fps),
        )

    def export(self, tenant_id: str, job_id: str, fmt: str) -> Export:
        """The current plan as an editor's timeline, or the captions of the
        render; 404 while there is none."""
        if fmt not in EXPORT_FORMATS:
            raise ValidationFailed(
                f"format must be one of {', '.join(EXPORT_FORMATS)}", field="format"
            )
        record = existing(self._jobs, tenant_id, job_id)
        keys, manifest = self._documents(record)
        source = manifest.input.original_filename if manifest.input else "source"
        stem = posixpath.splitext(source)[0] or "source"
        if fmt in CAPTION_FORMATS:
            return self._captions(keys, manifest, fmt, stem)
        plan = self._plan(record, keys, record.plan_key or keys.cut_plan)
        fps = _frame_rate(manifest)
        if fmt == "edl" and fps is None:
            raise ValidationFailed(
                "an EDL cuts pictures; this job's input has none (export fcpxml, xml or otio)",
                field="format",
            )
        video = manifest.video
        size = (video.width, video.height) if video and video.width and video.height else None
        keeps = [(s.start, s.end) for s in snap(plan, fps) if s.action == "keep"]
        timeline = timeline_of(keeps, fps, plan.source_duration, source, size=size)
        body = self._timelines().write(timeline, fmt)  # type: ignore[arg-type]
        return Export(f"{stem}_cut.{fmt}", MEDIA_TYPES[fmt], body)

    def _captions(self, keys: JobKeys, manifest: Manifest, fmt: str, stem: str) -> Export:
        # The captions of the cut (the render writes them), not the source's own.
        if manifest.captions is None:
            raise PlanNotFound(f"the job has no {fmt} captions of its render", format=fmt)
        key = manifest.captions.srt_key if fmt == "srt" else manifest.captions.vtt_key
        try:
            body = self._storage.get(keys, key).data
        except StorageObjectMissing:
            raise PlanNotFound(f"the job's {fmt} captions are no longer stored") from None
        return Export(f"{stem}_cut.{fmt}", MEDIA_TYPES[fmt], body)

    # --- changing -----------------------------------------------------------

    def replace_plan(self, tenant_id: str, job_id: str, segments: Sequence[Segment]) -> JobRecord:
        """Replace the plan with ``segments`` and render it: a job awaiting
        review goes on; a finished one is rendered again as run + 1."""
        record = existing(self._jobs, tenant_id, job_id)
        keys, manifest = self._documents(record)
        if not record.has_plan:
            raise PlanNotFound("the job has no plan yet", jobId=record.job_id)
        if not (record.awaits_review or record.status in ("completed", "failed")):
            raise InvalidTransition(
                "a render of this job is running; edit its plan once it has finished"
                if record.status == "processing"
                else f"the job is {record.status}; its plan can no longer be rendered",
                job=record.pointer,
            )
        planner = self._plan(record, keys, keys.cut_plan)
        plan = edited_plan(segments, planner, _frame_rate(manifest))
        version = (record.plan_version or 1) + 1
        key = keys.edited_plan(version, uuid.uuid4().hex[:12])
        self._storage.put(keys, key, plan.to_json(), if_none_match=True)
        now = now_iso()
        known_version = record.plan_version

        def change(job: JobRecord) -> None:
            if job.plan_version != known_version:
                raise InvalidTransition("the plan was changed meanwhile; read it again")
            if job.awaits_review:
                job.approve_plan(now, (version, key))
            else:
                job.rerender((version, key), now)

        def note(m: Manifest) -> None:
            if m.plan is not None:
                m.plan.version, m.plan.edited_key = version, key
                m.plan.total_cuts = plan.total_cuts

        record, manifest = change_status(self._jobs, self._manifests, keys, change, note)
        self._render(record, manifest)
        logger.info("plan edited", extra={"planVersion": version, "run": record.run})
        return record

    def approve(self, tenant_id: str, job_id: str) -> JobRecord:
        """Render the plan awaiting review as it stands. Asking again is
        harmless; it announces the render again while it has not started."""
        record = existing(self._jobs, tenant_id, job_id)
        keys = JobKeys(record.env, record.tenant_id, record.job_id)
        if record.status == "processing" and record.has_plan:
            if record.steps[RENDER_STEP].attempts == 0:  # its event may have been lost
                self._render(record, self._documents(record)[1])
            return record
        if not record.awaits_review:
            raise InvalidTransition(
                f"the job does not await a review; it is {record.status}", job=record.pointer
            )
        self._documents(record)
        now = now_iso()
        record, manifest = change_status(
            self._jobs, self._manifests, keys, lambda job: job.approve_plan(now)
        )
        self._render(record, manifest)
        logger.info("plan approved", extra={"planVersion": record.plan_version})
        return record

    # --- shared -------------------------------------------------------------

    def _render(self, record: JobRecord, manifest: Manifest) -> None:
        self._publisher.publish(event_for(step_named(RENDER_STEP).consumes, record, manifest))

    def _documents(self, record: JobRecord) -> tuple[JobKeys, Manifest]:
        keys = JobKeys(record.env, record.tenant_id, record.job_id)
        try:
            manifest, _ = self._manifests.load(keys)
        except StorageObjectMissing:
            raise JobDataMissing(
                "the job's stored documents are missing", jobId=record.job_id
            ) from None
        return keys, manifest

    def _plan(self, record: JobRecord, keys: JobKeys, key: str) -> CutPlan:
        if not record.has_plan:
            raise PlanNotFound("the job has no plan yet", jobId=record.job_id)
        try:
            return CutPlan.model_validate_json(self._storage.get(keys, key).data)
        except StorageObjectMissing:
            raise JobDataMissing(
                "the job's plan is no longer stored", jobId=record.job_id
            ) from None


def _frame_rate(manifest: Manifest) -> float | None:
    return manifest.video.frame_rate if manifest.video else None
