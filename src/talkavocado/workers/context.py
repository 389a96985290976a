"""What a step body receives and returns, and how job state becomes the next
event. No AWS here: bodies reach storage through the ``Storage`` port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from talkavocado.domain.errors import (
    ConfigurationError,
    DependencyUnavailable,
    ErrorType,
    StepFailed,
    StorageObjectMissing,
    TalkAvocadoError,
    ValidationFailed,
)
from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado.domain.pipeline import Step
from talkavocado.ports import Storage


@dataclass(frozen=True)
class StepContext:
    step: Step
    keys: JobKeys
    job: JobRecord
    manifest: Manifest
    storage: Storage
    remaining_seconds: Callable[[], float]
    scratch: Path  # private working directory, removed when the step ends


@dataclass(frozen=True)
class StepOutcome:
    """``apply`` records the step's artifacts in the manifest; it must be
    repeatable (it replaces, never appends), since a write may be retried."""

    status: Literal["completed", "skipped"]
    summary: str
    apply: Callable[[Manifest], None] = field(default=lambda manifest: None)


StepBody = Callable[[StepContext], StepOutcome]


def classify(error: BaseException, step: str) -> JobError:
    """Map whatever a step body raised onto the error taxonomy."""
    if isinstance(error, StepFailed):
        error_type = error.type
    elif isinstance(error, DependencyUnavailable | ConnectionError | ConfigurationError):
        # Not the job's fault: retried, so a fixed deployment carries it on.
        error_type = ErrorType.TRANSIENT_DEPENDENCY
    elif isinstance(error, TimeoutError):
        error_type = ErrorType.TIMEOUT
    elif isinstance(error, StorageObjectMissing):
        error_type = ErrorType.INPUT_MISSING
    elif isinstance(error, ValidationFailed):
        error_type = ErrorType.VALIDATION_FAILED
    else:
        error_type = ErrorType.UNKNOWN
    if isinstance(error, TalkAvocadoError):
        message = error.message
    else:
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return JobError(type=error_type, message=message[:1000], step=step)
