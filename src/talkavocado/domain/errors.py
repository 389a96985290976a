"""Domain errors. They carry a stable ``code`` and structured ``details``;
the API maps them to HTTP status codes in one place (``api/errors.py``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class TalkAvocadoError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(TalkAvocadoError):
    code = "VALIDATION_FAILED"


class ConfigurationError(TalkAvocadoError):
    """The deployment's settings are wrong: the operator's to fix, never the
    caller's fault (answered 500, with the reason in the log only)."""

    code = "CONFIGURATION_ERROR"


class InvalidKey(ValidationFailed):
    """A storage key that does not stay inside its job's prefix."""


class UnsafeWebhookUrl(ValidationFailed):
    """A webhook URL this deployment will not call (not https, or an address
    that is not public: private, loopback, link-local, metadata)."""


class WebhookNotFound(TalkAvocadoError):
    code = "NOT_FOUND"


class WebhookLimitReached(TalkAvocadoError):
    code = "WEBHOOK_LIMIT_REACHED"


class PayloadTooLarge(TalkAvocadoError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(TalkAvocadoError):
    """A request body in a format the API does not read (it reads JSON only)."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class Unauthenticated(TalkAvocadoError):
    """The request carries no valid bearer token where one is required."""

    code = "UNAUTHORIZED"


class TenantMismatch(TalkAvocadoError):
    """The request names a tenant its caller's identity does not belong to."""

    code = "FORBIDDEN"


class InputNotUploaded(TalkAvocadoError):
    """A job cannot start before its input file is stored."""

    code = "INPUT_MISSING"


class JobNotFound(TalkAvocadoError):
    code = "NOT_FOUND"


class JobAlreadyExists(TalkAvocadoError):
    code = "CONFLICT"


class InvalidTransition(TalkAvocadoError):
    """A conditional status write was refused: the job is not in a state
    that allows the transition (another writer got there first)."""

    code = "INVALID_TRANSITION"


class ConcurrentUpdate(TalkAvocadoError):
    """A versioned write lost the race against another writer."""

    code = "CONCURRENT_UPDATE"


class StorageObjectMissing(TalkAvocadoError):
    code = "NOT_FOUND"


class JobDataMissing(TalkAvocadoError):
    """The job exists, but its stored documents are gone."""

    code = "JOB_DATA_MISSING"


class SchemaViolation(ValidationFailed):
    """A document (such as a manifest) failed its JSON Schema."""


class DependencyUnavailable(TalkAvocadoError):
    """A dependency (AWS, the token issuer) refused or failed a request;
    retrying may succeed."""

    code = "DEPENDENCY_UNAVAILABLE"


class ErrorType(StrEnum):
    """Why a pipeline step failed. Only the retryable ones are retried."""

    INPUT_MISSING = "INPUT_MISSING"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    CODEC_UNSUPPORTED = "CODEC_UNSUPPORTED"
    TIMEOUT = "TIMEOUT"
    TRANSIENT_DEPENDENCY = "TRANSIENT_DEPENDENCY"
    INPUT_TOO_LONG = "INPUT_TOO_LONG"
    # More pixels a frame or a second than the render takes (MaxFramePixels,
    # MaxPixelRate).
    PICTURE_TOO_LARGE = "PICTURE_TOO_LARGE"
    # No input was stored within the upload window (and its grace period).
    UPLOAD_EXPIRED = "UPLOAD_EXPIRED"
    UNKNOWN = "UNKNOWN"

    @property
    def retryable(self) -> bool:
        return self in (ErrorType.TIMEOUT, ErrorType.TRANSIENT_DEPENDENCY)


class StepFailed(TalkAvocadoError):
    """A step could not do its work; ``type`` decides retry or fail."""

    code = "STEP_FAILED"

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.type = error_type
