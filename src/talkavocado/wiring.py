"""Builds the services from settings, once per process (cold start). The only
module that chooses adapters.

Adapters and services are imported by the builders that need them, so a
function's cold start pays only for its own: the API does not load the
workers (Powertools batch, the media steps), and the token
authorizer loads neither boto3 nor the job services."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache, wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from talkavocado.config import Settings
from talkavocado.errors import ConfigurationError

if TYPE_CHECKING:
    import boto3

    from talkavocado.adapters.dynamodb_jobs import DynamoJobRepository
    from talkavocado.adapters.dynamodb_webhooks import DynamoWebhookRepository
    from talkavocado.adapters.eventbridge import EventBridgePublisher
    from talkavocado.adapters.sqs import SqsVisibility
    from talkavocado.adapters.upload_policy import UploadSigner
    from talkavocado.adapters.webhook_http import HttpWebhookSender
    from talkavocado.ports import (
        FillerSpotter,
        Storage,
        TimelineWriter,
        TokenVerifier,
        TranscriptionEngine,
    )
    from talkavocado.services.job_queries import JobQueries
    from talkavocado.services.job_service import JobService, JobSettings
    from talkavocado.services.plan_service import PlanService
    from talkavocado.services.webhook_service import WebhookService
    from talkavocado.workers.batch import RetryPolicy
    from talkavocado.workers.context import StepBody
    from talkavocado.workers.dead_letter import DeadLetterHandler
    from talkavocado.workers.deadline_sweep import DeadlineSweep
    from talkavocado.workers.input_stored import InputStoredWorker
    from talkavocado.workers.notifier import Notifier
    from talkavocado.workers.steps import MediaSteps, StepSettings
    from talkavocado.workers.worker import StepWorker

P = ParamSpec("P")
T = TypeVar("T")
_LOCK = threading.RLock()
_BUILT: list[Callable[[], None]] = []


def _once(build: Callable[P, T]) -> Callable[P, T]:
    """Build once per process. Serialised: the local runtime's pollers may
    ask for their workers at the same moment, and boto3 sessions are not
    safe to create clients from concurrently."""
    cached = cache(build)
    _BUILT.append(cached.cache_clear)

    @wraps(build)
    def built(*args: P.args, **kwargs: P.kwargs) -> T:
        with _LOCK:
            return cached(*args, **kwargs)  # type: ignore[arg-type]

    return built


@_once
def settings() -> Settings:
    return Settings.from_env()


@_once
def session() -> boto3.Session:
    """One boto3 session for every adapter (credentials resolved once)."""
    import boto3

    return boto3.Session()


@_once
def jobs() -> DynamoJobRepository:
    from talkavocado.adapters.dynamodb_jobs import DynamoJobRepository

    return DynamoJobRepository(settings().jobs_table, session().client("dynamodb"))


@_once
def storage() -> Storage:
    from talkavocado.adapters.local_storage import LocalStorage
    from talkavocado.adapters.s3_storage import S3Storage

    config = settings()
    if config.storage_backend == "s3":
        if not config.media_bucket:
            raise ConfigurationError("STORAGE_BACKEND=s3 needs MEDIA_BUCKET", field="MEDIA_BUCKET")
        return S3Storage(config.media_bucket, session().client("s3"))
    return LocalStorage(config.storage_path, upload_signer())


def upload_signer() -> UploadSigner | None:
    """The local runtime's upload route signs like S3 presigns (None elsewhere)."""
    from talkavocado.adapters.upload_policy import UploadSigner

    config = settings()
    if config.local_upload_url and config.local_upload_secret:
        return UploadSigner(config.local_upload_url, config.local_upload_secret)
    return None


@_once
def publisher() -> EventBridgePublisher:
    from talkavocado.adapters.eventbridge import EventBridgePublisher

    return EventBridgePublisher(settings().event_bus, session().client("events"))


@_once
def visibility() -> SqsVisibility:
    from talkavocado.adapters.sqs import SqsVisibility

    return SqsVisibility(session().client("sqs"))


@_once
def token_verifier() -> TokenVerifier | None:
    """None without JWT_ISSUER: requests then name their own tenant."""
    config = settings()
    if not config.jwt_issuer:
        return None
    if not config.jwt_audience:
        raise ConfigurationError("JWT_ISSUER needs JWT_AUDIENCE", field="JWT_AUDIENCE")
    from talkavocado.adapters.oidc import OidcTokenVerifier

    return OidcTokenVerifier(config.jwt_issuer, config.jwt_audience)


def _retry_policy() -> RetryPolicy:
    from talkavocado.workers.batch import RetryPolicy

    return RetryPolicy(settings().retry_base_seconds, settings().retry_max_seconds)


@_once
def job_queries() -> JobQueries:
    from talkavocado.services.job_queries import JobQueries

    return JobQueries(jobs(), storage())


@_once
def job_service() -> JobService:
    from talkavocado.services.job_service import JobService

    return JobService(job_settings(settings()), jobs(), storage(), publisher())


@_once
def plan_service() -> PlanService:
    from talkavocado.services.plan_service import PlanService

    return PlanService(jobs(), storage(), publisher(), timeline_writer)


@_once
def timeline_writer() -> TimelineWriter:
    """Editor timelines (OpenTimelineIO): loaded by the first export only."""
    from talkavocado.adapters.otio_timeline import OtioTimelineWriter

    return OtioTimelineWriter()


def job_settings(config: Settings) -> JobSettings:
    from talkavocado.services.job_service import JobSettings

    return JobSettings(
        config.env, config.start_on_create, config.max_upload_bytes, config.upload_window_seconds
    )


@_once
def _bodies() -> dict[str, StepBody]:
    from talkavocado.adapters import ffmpeg
    from talkavocado.workers import steps

    return steps.media_steps(step_settings(), ffmpeg, transcription_engine, filler_spotter)


def step_settings(config: Settings | None = None) -> StepSettings:
    from talkavocado.workers.steps import StepSettings

    config = config or settings()
    return StepSettings(config.max_input_minutes, config.pictures, config.planner)


def media_steps(
    config: Settings,
    engine: Callable[[], TranscriptionEngine],
    spotter: Callable[[], FillerSpotter] | None = None,
) -> MediaSteps:
    """The media steps over ffmpeg, with ``config``'s settings."""
    from talkavocado.adapters import ffmpeg
    from talkavocado.workers.steps import MediaSteps

    return MediaSteps(step_settings(config), ffmpeg, engine, spotter)


def step_body(name: str) -> StepBody:
    """The body of the pipeline step ``name``, as its worker runs it."""
    return _bodies()[name]


@_once
def transcription_engine() -> TranscriptionEngine:
    """The recogniser TRANSCRIPTION_ENGINE names, loaded once per process:
    faster-whisper with the pinned package's model (or WHISPER_MODEL_DIR's,
    checked against the same digests) unless it names pocketsphinx."""
    if settings().transcription_engine == "faster-whisper":
        from talkavocado.adapters.whisper_engine import WhisperEngine

        return WhisperEngine(settings().whisper_model_dir)
    from talkavocado.adapters.pocketsphinx_engine import PocketSphinxEngine

    return PocketSphinxEngine()


@_once
def filler_spotter() -> FillerSpotter:
    """The planner's second look at short sounds between pauses."""
    from talkavocado.adapters.pocketsphinx_engine import PocketSphinxFillerSpotter

    return PocketSphinxFillerSpotter(settings().planner.fillers)


@_once
def step_worker(name: str) -> StepWorker:
    from talkavocado.domain.pipeline import step_named
    from talkavocado.services.manifest_store import ManifestStore
    from talkavocado.workers.batch import SqsBatch
    from talkavocado.workers.runner import StepRunner
    from talkavocado.workers.worker import StepWorker

    runner = StepRunner(
        step_named(name), _bodies()[name], jobs(), ManifestStore(storage()), storage(), publisher()
    )
    return StepWorker(runner, SqsBatch(name, visibility(), _retry_policy()))


@_once
def input_stored_worker() -> InputStoredWorker:
    from talkavocado.workers.batch import SqsBatch
    from talkavocado.workers.input_stored import InputStoredWorker

    return InputStoredWorker(job_service(), SqsBatch("input-stored", visibility(), _retry_policy()))


@_once
def dead_letter_worker() -> DeadLetterHandler:
    from talkavocado.services.manifest_store import ManifestStore
    from talkavocado.workers.batch import SqsBatch
    from talkavocado.workers.dead_letter import DeadLetterHandler
    from talkavocado.workers.failure import JobFailer

    failer = JobFailer(jobs(), ManifestStore(storage()), publisher())
    return DeadLetterHandler(jobs(), failer, SqsBatch("dead-letter", visibility(), _retry_policy()))


@_once
def deadline_sweep() -> DeadlineSweep:
    from datetime import timedelta

    from talkavocado.adapters.sqs import QueueLimits
    from talkavocado.domain.deadlines import Deadlines
    from talkavocado.domain.pipeline import STEP_NAMES
    from talkavocado.services.manifest_store import ManifestStore
    from talkavocado.workers.deadline_sweep import DeadlineSweep
    from talkavocado.workers.failure import JobFailer

    @cache
    def deadlines() -> Deadlines:
        config = settings()
        limits = QueueLimits(session().client("sqs"))
        margin = timedelta(seconds=config.watchdog_margin_seconds)
        return Deadlines(
            upload_window=timedelta(
                seconds=config.upload_window_seconds + config.upload_grace_seconds
            ),
            step_budgets={
                step: limits.longest_delivery(config.step_queue_prefix + step) + margin
                for step in STEP_NAMES
            },
            review_window=timedelta(seconds=config.review_window_seconds),
        )

    failer = JobFailer(jobs(), ManifestStore(storage()), publisher())
    return DeadlineSweep(jobs(), failer, deadlines)


@_once
def webhooks() -> DynamoWebhookRepository:
    from talkavocado.adapters.dynamodb_webhooks import DynamoWebhookRepository

    return DynamoWebhookRepository(settings().webhooks_table, session().client("dynamodb"))


@_once
def webhook_sender() -> HttpWebhookSender:
    from talkavocado.adapters.webhook_http import HttpWebhookSender

    config = settings()
    return HttpWebhookSender(config.webhook_allow_loopback, config.webhook_deadline_seconds)


@_once
def webhook_service() -> WebhookService:
    from talkavocado.services.webhook_service import WebhookService

    return WebhookService(webhooks(), webhook_sender(), settings().max_webhooks_per_tenant)


@_once
def notifier() -> Notifier:
    from datetime import timedelta

    from talkavocado.adapters.sqs import SqsMessageQueue
    from talkavocado.services.manifest_store import ManifestStore
    from talkavocado.workers.batch import RetryPolicy, SqsBatch
    from talkavocado.workers.notifier import Notifier

    config = settings()
    if not config.notifications_queue_url or not config.notifications_dead_letter_url:
        raise ConfigurationError(
            "NOTIFICATIONS_QUEUE_URL and NOTIFICATIONS_DEAD_LETTER_URL must be set"
        )
    queue = SqsMessageQueue(
        config.notifications_queue_url,
        config.notifications_dead_letter_url,
        session().client("sqs"),
    )
    # Up to an hour between attempts: about 30 attempts in a day.
    retry = RetryPolicy(base_seconds=config.webhook_retry_base_seconds, max_seconds=3600)
    return Notifier(
        jobs(),
        ManifestStore(storage()),
        webhooks(),
        webhook_sender(),
        queue,
        SqsBatch("notifier", visibility(), retry),
        timedelta(seconds=config.webhook_retry_seconds),
    )


def reset() -> None:
    """Forget built services, e.g. after the environment changed (tests)."""
    for clear in _BUILT:
        clear()
