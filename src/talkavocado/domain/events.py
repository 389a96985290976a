"""Pipeline events on the bus ``talkavocado-{env}``, source
``talkavocado.pipeline``; the detail-type is the class name.

Every detail carries the full job context: the job's identity, its run and
every artifact key known so far, so that no consumer depends on state that a
previous event held. ``detailVersion`` lets the shape evolve: consumers accept
the versions they know.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import JOB_ID_PATTERN, TENANT_ID_PATTERN, Env, JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado.domain.pipeline import PIPELINE
from talkavocado.errors import ErrorType
from talkavocado.support.camel import CamelModel

EVENT_SOURCE = "talkavocado.pipeline"
DETAIL_VERSION = 1


class EventError(CamelModel):
    type: ErrorType
    message: str
    step: str


class PipelineEvent(CamelModel):
    detail_type: ClassVar[str]

    detail_version: Annotated[int, Field(ge=1, le=DETAIL_VERSION)] = DETAIL_VERSION
    env: Env
    tenant_id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    job_id: Annotated[str, Field(pattern=JOB_ID_PATTERN)]
    correlation_id: Annotated[str, Field(min_length=1, max_length=128)]
    run: Annotated[int, Field(ge=1)] = 1
    manifest_key: str
    source_key: str | None = None
    audio_key: str | None = None
    transcript_key: str | None = None
    captions_key: str | None = None
    plan_key: str | None = None
    render_keys: list[str] = Field(default_factory=list)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.detail_type = cls.__name__

    def detail_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @property
    def keys(self) -> JobKeys:
        return JobKeys(self.env, self.tenant_id, self.job_id)

    def storage_keys(self) -> list[str]:
        named = [
            self.manifest_key,
            self.source_key,
            self.audio_key,
            self.transcript_key,
            self.captions_key,
            self.plan_key,
            *self.render_keys,
        ]
        return [key for key in named if key is not None]


class JobCreated(PipelineEvent):
    pass


class AudioExtracted(PipelineEvent):
    pass


class TranscriptReady(PipelineEvent):
    pass


class CutPlanReady(PipelineEvent):
    pass


class RenderCompleted(PipelineEvent):
    pass


# Event ids of outcomes: the same job, run and outcome always get the same id.
_OUTCOME_IDS = uuid.UUID("6f0b9d3e-2c1a-4f6e-9a7b-5d8c3e1f2a40")


class JobOutcome(PipelineEvent):
    """How a run of a job ended: the public contract (a committed schema per
    outcome) that clients and the webhook notifier consume. ``eventId`` is
    stable per job, run and outcome, so a consumer deduplicates on it."""

    job_status: ClassVar[Literal["completed", "failed", "cancelled"]]

    event_id: str = ""
    status: Literal["completed", "failed", "cancelled"] | None = None
    created_at: str | None = None
    finished_at: str | None = None

    @model_validator(mode="after")
    def _identify(self) -> JobOutcome:
        name = f"{self.env}/{self.tenant_id}/{self.job_id}/{self.run}/{self.detail_type}"
        expected = str(uuid.uuid5(_OUTCOME_IDS, name))
        if self.event_id not in ("", expected):
            raise ValueError("eventId is not this outcome's id")
        self.event_id, self.status = expected, self.job_status
        return self

    @property
    def announcement(self) -> str:
        return f"{self.detail_type}#{self.run}"


class JobCompleted(JobOutcome):
    job_status = "completed"


class JobFailed(JobOutcome):
    job_status = "failed"
    error: EventError


class JobCancelled(JobOutcome):
    job_status = "cancelled"


_CLASSES: tuple[type[PipelineEvent], ...] = (
    JobCreated,
    AudioExtracted,
    TranscriptReady,
    CutPlanReady,
    RenderCompleted,
    JobCompleted,
    JobFailed,
    JobCancelled,
)
EVENT_TYPES: dict[str, type[PipelineEvent]] = {cls.detail_type: cls for cls in _CLASSES}
# An event a step declares (domain/pipeline.py) and no class above names: a
# pipeline event with the common fields, its schema written by ``make contracts``.
EVENT_TYPES |= {
    name: type(name, (PipelineEvent,), {"__module__": __name__})
    for step in PIPELINE
    for name in (step.consumes, step.emits)
    if name not in EVENT_TYPES
}
OUTCOMES: tuple[str, ...] = ("JobCompleted", "JobFailed", "JobCancelled")


def event_for(
    detail_type: str, job: JobRecord, manifest: Manifest, error: JobError | None = None
) -> PipelineEvent:
    """The event announcing the job's current state: its identity and run
    from the record, every artifact key from the manifest."""
    fields = {
        "env": job.env,
        "tenant_id": job.tenant_id,
        "job_id": job.job_id,
        "correlation_id": job.correlation_id,
        "run": job.run,
        "manifest_key": job.manifest_key,
        "source_key": manifest.source_video_key,
        "audio_key": manifest.audio.key if manifest.audio else None,
        "transcript_key": manifest.transcript.json_key if manifest.transcript else None,
        "captions_key": manifest.transcript.srt_key if manifest.transcript else None,
        # The plan the render reads: an edit of the planner's, or its own.
        "plan_key": (manifest.plan.edited_key or manifest.plan.key) if manifest.plan else None,
        "render_keys": [render.key for render in manifest.renders],
    }
    if error is not None:
        fields["error"] = EventError(type=error.type, message=error.message, step=error.step)
    event_type = EVENT_TYPES[detail_type]
    if issubclass(event_type, JobOutcome):
        fields.update(created_at=job.created_at, finished_at=job.finished_at)
    return event_type(**fields)
