"""Request and response bodies of the job API (the wire contract)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from talkavocado.domain.jobs import HistoryEntry, JobRecord
from talkavocado.domain.keys import JOB_ID_PATTERN, TENANT_ID_PATTERN, Env
from talkavocado.domain.manifest import MIME_PATTERN, JobStatus
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.domain.plans import (
    MAX_REASON_LENGTH,
    MAX_SEGMENTS,
    CutSettings,
    Fillers,
    MarginSeconds,
    MinPauseSeconds,
    Segment,
)
from talkavocado.domain.webhooks import OUTCOME_TYPES, Delivery, OutcomeType, WebhookState
from talkavocado.media.transcript import Transcript
from talkavocado.ports import UploadTarget
from talkavocado.services.job_queries import JobView
from talkavocado.services.plan_service import PlanView
from talkavocado.support.camel import CamelModel

# S3's largest object; the deployment's own limit (MAX_UPLOAD_BYTES) may be lower.
MAX_OBJECT_BYTES = 5 * 1024**4
TenantId = Annotated[str, Field(pattern=TENANT_ID_PATTERN, examples=["demo-tenant"])]
JobId = Annotated[str, Field(pattern=JOB_ID_PATTERN)]
# ISO 8601 in UTC, compared as text with createdAt (a date alone means its midnight).
Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?Z?)?$",
        examples=["2026-11-30T12:00:00.000Z"],
    ),
]


class _Wire(CamelModel):
    # Responses are built from records that hold more than they show.
    model_config = ConfigDict(extra="ignore")


class CreateJobInput(_Wire):
    model_config = ConfigDict(extra="forbid", strict=True)

    original_filename: Annotated[str, Field(min_length=1, max_length=1024)]
    bytes: Annotated[int, Field(ge=1, le=MAX_OBJECT_BYTES)]
    mime_type: Annotated[str, Field(pattern=MIME_PATTERN, examples=["video/mp4"])]


class JobSettingsBody(_Wire):
    """What the job asks of the planner (each left out: the deployment's
    default) and whether its plan waits for a review before the render."""

    model_config = ConfigDict(extra="forbid", strict=True)

    margin_seconds: MarginSeconds | None = None  # sound kept around speech, on each side
    min_pause_seconds: MinPauseSeconds | None = None  # the shortest pause that is cut
    fillers: Fillers | None = None  # the words and phrases to cut; [] cuts none
    review: bool = False  # stop after planning until the plan is approved or edited

    def to_settings(self) -> CutSettings:
        return CutSettings.of(
            self.margin_seconds, self.min_pause_seconds, self.fillers, self.review
        )


class CreateJobRequest(_Wire):
    """Unknown fields and wrong types are refused (strict), not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tenant_id: TenantId | None = None  # from the caller's identity when it has one
    job_id: JobId | None = None
    input: CreateJobInput | None = None
    settings: JobSettingsBody | None = None


class Upload(_Wire):
    """A form POST: every field, then the file as the last field, ``file``."""

    method: str
    url: str
    fields: dict[str, str]
    expires_in: int


class CreateJobResponse(_Wire):
    """The seed's fields; ``upload`` only while the input still has to be sent."""

    job_id: str
    status: JobStatus
    env: Env
    tenant_id: str
    manifest_key: str
    upload: Upload | None = None

    @classmethod
    def of(cls, record: JobRecord, upload: UploadTarget | None = None) -> CreateJobResponse:
        return cls(
            job_id=record.job_id,
            status=record.status,
            env=record.env,
            tenant_id=record.tenant_id,
            manifest_key=record.manifest_key,
            upload=Upload.model_validate(asdict(upload)) if upload else None,
        )


class CaptionPointers(_Wire):
    srt: str
    vtt: str


class ArtifactPointers(_Wire):
    audio: str | None = None
    transcript: str | None = None
    plan: str | None = None
    renders: list[str] = Field(default_factory=list)
    # The waveform's peaks (BBC audiowaveform's JSON): GET /jobs/{jobId}/peaks.
    peaks: str | None = None
    captions: CaptionPointers | None = None  # the cut video's SRT and WebVTT


class StepError(_Wire):
    type: str
    message: str
    step: str


class StepView(_Wire):
    status: str
    run: int | None = None  # the run it last started in (earlier runs' work is reused)
    attempts: int
    started_at: str | None = None
    completed_at: str | None = None
    error: StepError | None = None


class Progress(_Wire):
    completed_steps: int
    total_steps: int


class SettingsView(_Wire):
    """The job's own settings; a setting left out is the deployment's default."""

    margin_seconds: float | None = None
    min_pause_seconds: float | None = None
    fillers: list[str] | None = None
    review: bool = False

    @classmethod
    def of(cls, settings: CutSettings) -> SettingsView:
        return cls(
            margin_seconds=settings.margin_seconds,
            min_pause_seconds=settings.min_pause_seconds,
            fillers=settings.fillers,
            review=settings.review,
        )


class JobResponse(_Wire):
    """The seed's fields, then additive ones (steps, progress, error...)."""

    job_id: str
    tenant_id: str
    status: JobStatus
    artifacts: ArtifactPointers
    manifest_key: str
    updated_at: str
    created_at: str
    correlation_id: str
    run: int
    steps: dict[str, StepView]
    progress: Progress
    error: StepError | None = None
    settings: SettingsView = Field(default_factory=SettingsView)
    # The plan the render reads (1: the planner's own; above: an edit), and
    # since when it has awaited its review (status awaiting-review).
    plan_version: int | None = None
    review_since: str | None = None

    @classmethod
    def of(cls, view: JobView) -> JobResponse:
        record, artifacts = view.record, view.artifacts
        return cls(
            job_id=record.job_id,
            tenant_id=record.tenant_id,
            status=record.status,
            artifacts=ArtifactPointers.model_validate(asdict(artifacts)),
            manifest_key=record.manifest_key,
            updated_at=view.updated_at,
            created_at=record.created_at,
            correlation_id=record.correlation_id,
            run=record.run,
            steps={
                name: StepView.model_validate(record.steps[name].model_dump())
                for name in STEP_NAMES
                if name in record.steps
            },
            progress=Progress(completed_steps=record.finished_steps, total_steps=len(STEP_NAMES)),
            error=StepError.model_validate(record.error.model_dump()) if record.error else None,
            settings=SettingsView.of(record.settings) if record.settings else SettingsView(),
            plan_version=record.plan_version,
            review_since=record.review_since,
        )


class SegmentBody(_Wire):
    model_config = ConfigDict(extra="forbid", strict=True)

    start: Annotated[float, Field(ge=0, examples=[0.0])]
    end: Annotated[float, Field(gt=0, examples=[2.76])]
    action: Literal["keep", "cut"]
    reason: Annotated[str, Field(max_length=MAX_REASON_LENGTH)] = "edited"
    # As GET answers them, so that a plan read can be sent back as it is;
    # the times decide.
    start_frame: Annotated[int, Field(ge=0)] | None = None
    end_frame: Annotated[int, Field(ge=0)] | None = None


class EditPlanRequest(_Wire):
    """The whole plan: segments in order, covering the input from 0 to its
    end, without gap or overlap."""

    model_config = ConfigDict(extra="forbid", strict=True)

    segments: Annotated[list[SegmentBody], Field(min_length=1, max_length=MAX_SEGMENTS)]

    def to_segments(self) -> list[Segment]:
        return [Segment(s.start, s.end, s.action, s.reason) for s in self.segments]


class SegmentView(_Wire):
    start: float
    end: float
    action: Literal["keep", "cut"]
    reason: str
    # The frames [startFrame, endFrame) of the source, with a picture.
    start_frame: int | None = None
    end_frame: int | None = None


class PlanResponse(_Wire):
    """The plan the render reads, on the frame grid it cuts on."""

    job_id: str
    tenant_id: str
    status: JobStatus
    run: int
    version: int
    edited: bool  # an edit, not the planner's own (which is kept beside it)
    frame_rate: float | None  # None: no picture; times are to the ms
    source_duration: float
    kept_duration: float
    segments: list[SegmentView]

    @classmethod
    def of(cls, view: PlanView) -> PlanResponse:
        fps = view.frame_rate

        def frame(seconds: float) -> int | None:
            return round(seconds * fps) if fps else None

        return cls(
            job_id=view.record.job_id,
            tenant_id=view.record.tenant_id,
            status=view.record.status,
            run=view.record.run,
            version=view.version,
            edited=view.edited,
            frame_rate=fps,
            source_duration=view.source_duration,
            kept_duration=round(view.kept_duration, 6),
            segments=[
                SegmentView(
                    start=round(s.start, 6),
                    end=round(s.end, 6),
                    action=s.action,
                    reason=s.reason,
                    start_frame=frame(s.start),
                    end_frame=frame(s.end),
                )
                for s in view.segments
            ],
        )


class PlanAccepted(_Wire):
    """The plan is being rendered: in the job's run, or as a new one."""

    job_id: str
    tenant_id: str
    status: JobStatus
    run: int
    plan_version: int | None

    @classmethod
    def of(cls, record: JobRecord) -> PlanAccepted:
        return cls(
            job_id=record.job_id,
            tenant_id=record.tenant_id,
            status=record.status,
            run=record.run,
            plan_version=record.plan_version,
        )


class JobSummary(_Wire):
    job_id: str
    status: JobStatus
    created_at: str
    updated_at: str
    manifest_key: str


class JobListResponse(_Wire):
    """One page; ``nextToken`` reads the next (absent on the last page)."""

    tenant_id: str
    jobs: list[JobSummary]
    next_token: str | None = None


class HistoryResponse(_Wire):
    """One page of a job's transitions, oldest first; ``nextToken`` reads the
    next (absent on the last page)."""

    tenant_id: str
    job_id: str
    history: list[HistoryEntry]
    next_token: str | None = None


class RegisterWebhookRequest(_Wire):
    """Unknown fields and wrong types are refused (strict), not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tenant_id: TenantId | None = None  # from the caller's identity when it has one
    url: Annotated[
        str, Field(min_length=1, max_length=2048, examples=["https://example.com/hooks"])
    ]
    event_types: Annotated[list[OutcomeType], Field(min_length=1, max_length=3)] = Field(
        default_factory=lambda: list(OUTCOME_TYPES)
    )


class WebhookView(_Wire):
    webhook_id: str
    tenant_id: str
    url: str
    event_types: list[OutcomeType]
    state: WebhookState
    registered_at: str
    reason: str | None = None


class RegisteredWebhook(WebhookView):
    """Answered once, at registration: the secret that signs its notifications."""

    secret: str


class WebhookListResponse(_Wire):
    tenant_id: str
    webhooks: list[WebhookView]


class DeliveryListResponse(_Wire):
    """Newest first; ``nextToken`` reads the next page (absent on the last)."""

    tenant_id: str
    webhook_id: str
    deliveries: list[Delivery]
    next_token: str | None = None


class Peaks(BaseModel):
    """BBC audiowaveform's JSON (version 2, one channel, 8 bits): ``data``
    holds each pixel's lowest and highest sample, ``samples_per_pixel``
    samples at ``sample_rate`` a pixel. Its own names, not camelCase."""

    version: Literal[2]
    channels: Literal[1]
    sample_rate: int
    samples_per_pixel: int
    bits: Literal[8]
    length: int
    data: list[Annotated[int, Field(ge=-128, le=127)]]


# The transcript's document, as the transcription step stores it.
TranscriptDocument = Transcript


class MediaLinkResponse(_Wire):
    """A link that reads the media (and ranges of it) with no other
    credential, for ``expiresIn`` seconds: for a player's ``src``."""

    url: str
    expires_in: int


class ErrorDetail(_Wire):
    code: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class ErrorResponse(_Wire):
    error: ErrorDetail
    correlation_id: str
