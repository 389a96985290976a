"""Settings read from the environment, once per process (cold start)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from talkavocado.domain.keys import Env, parse_env
from talkavocado.errors import ConfigurationError
from talkavocado.media.limits import PictureLimits
from talkavocado.media.planner import PlannerParameters

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false; got {raw!r}", field=name)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(f"{name} must be a number >= 0; got {raw!r}", field=name)
    return value


# The notifier's function has 60 s (template.yaml) for a batch, whose POSTs
# run together: one deadline, and the reads and writes around them.
MAX_WEBHOOK_DEADLINE_SECONDS = 30.0


def _webhook_deadline() -> float:
    value = _number("WEBHOOK_DEADLINE_SECONDS", 5)
    if not 0 < value <= MAX_WEBHOOK_DEADLINE_SECONDS:
        raise ConfigurationError(
            f"WEBHOOK_DEADLINE_SECONDS must be over 0 and at most "
            f"{MAX_WEBHOOK_DEADLINE_SECONDS:g}; got {value:g}",
            field="WEBHOOK_DEADLINE_SECONDS",
        )
    return value


DEFAULT_TENANT_CLAIM = "custom:tenant_id"
DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024**3  # one S3 PUT or POST
# Transcription (about 5 s) and render (about 5.2 s on a 3 GB function's 1.7
# vCPU) per input minute, from make bench, within 900 s timeouts: about 170
# minutes; a third of it is kept, as margin for denser media and cold starts.
DEFAULT_MAX_INPUT_MINUTES = 60
# The largest picture the render takes (README, "Picture limits", from
# python -m bench.pictures): 8K UHD, whose render peaks at 5.7 GB with the
# threads of the function's 6 vCPU (of its 10 GB); and 8K at 30 fps, the
# most pixels a second measured to cost the render no more per pixel than
# 1080p at 30 fps does (what the length limit's shrinking assumes).
DEFAULT_MAX_FRAME_PIXELS = 7680 * 4320
DEFAULT_MAX_PIXEL_RATE = 7680 * 4320 * 30
TRANSCRIPTION_ENGINES = ("faster-whisper", "pocketsphinx")
STORAGE_BACKENDS = ("local", "s3")
PLANNER_VARIABLES = {
    "PLAN_MIN_PAUSE_SECONDS": "min_pause",
    "PLAN_PADDING_SECONDS": "padding",
    "PLAN_MIN_CUT_SECONDS": "min_cut",
    "PLAN_MERGE_GAP_SECONDS": "merge_gap",
    "PLAN_SILENCE_THRESHOLD_DB": "silence_threshold_db",
}


def _choice(name: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or choices[0]
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _planner_parameters() -> PlannerParameters:
    values: dict[str, object] = {
        field: os.environ[name] for name, field in PLANNER_VARIABLES.items() if os.environ.get(name)
    }
    if os.environ.get("PLAN_FILLERS"):
        values["fillers"] = [f.strip() for f in os.environ["PLAN_FILLERS"].split(",") if f.strip()]
    try:
        return PlannerParameters.model_validate(values)
    except ValueError as invalid:
        raise ConfigurationError(f"invalid planner settings: {invalid}") from None


@dataclass(frozen=True)
class Settings:
    env: Env
    storage_path: Path
    storage_backend: str
    media_bucket: str | None
    local_upload_url: str | None
    local_upload_secret: str | None
    jobs_table: str
    event_bus: str
    start_on_create: bool
    retry_base_seconds: float
    retry_max_seconds: float
    transcription_engine: str
    whisper_model_dir: Path | None
    planner: PlannerParameters
    jwt_issuer: str | None
    jwt_audience: str | None
    tenant_claim: str
    # Without an issuer, callers are let through only where the deployment
    # says so explicitly (AllowUnauthenticated); the local runtime does.
    allow_unauthenticated: bool
    max_upload_bytes: int
    # The longest input the media steps can process within their timeouts.
    max_input_minutes: int
    # The largest picture the render can take within its memory and timeout.
    pictures: PictureLimits
    # A job's upload target is valid this long; a job still waiting for its
    # input the grace period after it expires (UPLOAD_EXPIRED).
    upload_window_seconds: int
    upload_grace_seconds: int
    # Added to the longest a step's queue lets it take before a job stuck in
    # it is failed (TIMEOUT); the step queues are named prefix + step name.
    watchdog_margin_seconds: int
    step_queue_prefix: str
    # A plan awaiting its review this long fails the job (REVIEW_EXPIRED).
    review_window_seconds: int
    # Webhooks: their table, the notifier's queue and its dead-letter queue,
    # how long a delivery is retried (from its first attempt) and how soon,
    # how many a tenant may register, whether loopback http receivers are
    # allowed (the local runtime only), and the deadline of one delivery.
    webhooks_table: str
    notifications_queue_url: str | None
    notifications_dead_letter_url: str | None
    webhook_retry_seconds: int
    webhook_retry_base_seconds: float
    max_webhooks_per_tenant: int
    webhook_allow_loopback: bool
    webhook_deadline_seconds: float

    @classmethod
    def from_env(cls) -> Settings:
        env = parse_env(os.environ.get("TALKAVOCADO_ENV"))
        return cls(
            env=env,
            storage_path=Path(os.environ.get("MEDIA_STORAGE_PATH") or "./storage"),
            storage_backend=_choice("STORAGE_BACKEND", STORAGE_BACKENDS),
            media_bucket=os.environ.get("MEDIA_BUCKET") or None,
            local_upload_url=os.environ.get("LOCAL_UPLOAD_URL") or None,
            local_upload_secret=os.environ.get("LOCAL_UPLOAD_SECRET") or None,
            jobs_table=os.environ.get("JOBS_TABLE") or f"talkavocado-{env}-jobs",
            event_bus=os.environ.get("EVENT_BUS_NAME") or f"talkavocado-{env}",
            start_on_create=_flag("START_ON_CREATE", True),
            retry_base_seconds=_number("RETRY_BASE_SECONDS", 2),
            retry_max_seconds=_number("RETRY_MAX_SECONDS", 300),
            transcription_engine=_choice("TRANSCRIPTION_ENGINE", TRANSCRIPTION_ENGINES),
            whisper_model_dir=Path(os.environ["WHISPER_MODEL_DIR"])
            if os.environ.get("WHISPER_MODEL_DIR")
            else None,
            planner=_planner_parameters(),
            jwt_issuer=os.environ.get("JWT_ISSUER") or None,
            jwt_audience=os.environ.get("JWT_AUDIENCE") or None,
            tenant_claim=os.environ.get("TENANT_CLAIM") or DEFAULT_TENANT_CLAIM,
            allow_unauthenticated=_flag("ALLOW_UNAUTHENTICATED", False),
            max_upload_bytes=int(_number("MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)),
            max_input_minutes=int(_number("MAX_INPUT_MINUTES", DEFAULT_MAX_INPUT_MINUTES)),
            pictures=PictureLimits(
                max_frame_pixels=int(_number("MAX_FRAME_PIXELS", DEFAULT_MAX_FRAME_PIXELS)),
                max_pixel_rate=int(_number("MAX_PIXEL_RATE", DEFAULT_MAX_PIXEL_RATE)),
            ),
            upload_window_seconds=int(_number("UPLOAD_WINDOW_SECONDS", 3600)),
            upload_grace_seconds=int(_number("UPLOAD_GRACE_SECONDS", 900)),
            watchdog_margin_seconds=int(_number("WATCHDOG_MARGIN_SECONDS", 300)),
            step_queue_prefix=os.environ.get("STEP_QUEUE_PREFIX") or f"talkavocado-{env}-",
            review_window_seconds=int(_number("REVIEW_WINDOW_SECONDS", 86400)),
            webhooks_table=os.environ.get("WEBHOOKS_TABLE") or f"talkavocado-{env}-webhooks",
            notifications_queue_url=os.environ.get("NOTIFICATIONS_QUEUE_URL") or None,
            notifications_dead_letter_url=os.environ.get("NOTIFICATIONS_DEAD_LETTER_URL") or None,
            webhook_retry_seconds=int(_number("WEBHOOK_RETRY_SECONDS", 86400)),
            webhook_retry_base_seconds=_number("WEBHOOK_RETRY_BASE_SECONDS", 30),
            max_webhooks_per_tenant=int(_number("MAX_WEBHOOKS_PER_TENANT", 5)),
            webhook_allow_loopback=_flag("WEBHOOK_ALLOW_LOOPBACK", False),
            webhook_deadline_seconds=_webhook_deadline(),
        )
