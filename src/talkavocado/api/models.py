"""Request and response bodies of the job API (the wire contract)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from pydantic import ConfigDict, Field

from talkavocado.domain.jobs import HistoryEntry, JobRecord
from talkavocado.domain.keys import JOB_ID_PATTERN, TENANT_ID_PATTERN, Env
from talkavocado.domain.manifest import MIME_PATTERN, JobStatus
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.domain.webhooks import OUTCOME_TYPES, Delivery, OutcomeType, WebhookState
from talkavocado.ports import UploadTarget
from talkavocado.services.job_queries import JobView
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


class CreateJobRequest(_Wire):
    """Unknown fields and wrong types are refused (strict), not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tenant_id: TenantId | None = None  # from the caller's identity when it has one
    job_id: JobId | None = None
    input: CreateJobInput | None = None


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


class ErrorDetail(_Wire):
    code: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class ErrorResponse(_Wire):
    error: ErrorDetail
    correlation_id: str
