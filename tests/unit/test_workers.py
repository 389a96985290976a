from __future__ import annotations

import json
from typing import Any

import pytest

from talkavocado.domain.errors import (
    DependencyUnavailable,
    ErrorType,
    StepFailed,
    StorageObjectMissing,
    ValidationFailed,
)
from talkavocado.domain.events import AudioExtracted, JobFailed, event_for
from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import AudioSection, Manifest
from talkavocado.support.retry import backoff_seconds
from talkavocado.workers.batch import parse_event
from talkavocado.workers.context import classify
from talkavocado.workers.dead_letter import step_of_dead_letter_queue

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
NOW = "2026-01-01T00:00:00.000Z"
PREFIX = f"test/t/{JOB}/"


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (StepFailed(ErrorType.CODEC_UNSUPPORTED, "x"), ErrorType.CODEC_UNSUPPORTED),
        (DependencyUnavailable("throttled"), ErrorType.TRANSIENT_DEPENDENCY),
        (ConnectionResetError(), ErrorType.TRANSIENT_DEPENDENCY),
        (TimeoutError("slow"), ErrorType.TIMEOUT),
        (StorageObjectMissing("gone"), ErrorType.INPUT_MISSING),
        (ValidationFailed("bad"), ErrorType.VALIDATION_FAILED),
        (KeyError("bug"), ErrorType.UNKNOWN),
    ],
)
def test_errors_are_classified_into_the_taxonomy(raised: Exception, expected: ErrorType) -> None:
    error = classify(raised, "audio-extraction")
    assert (error.type, error.step) == (expected, "audio-extraction")
    assert error.message


def test_only_timeouts_and_transient_dependencies_are_retried() -> None:
    assert {t for t in ErrorType if t.retryable} == {
        ErrorType.TIMEOUT,
        ErrorType.TRANSIENT_DEPENDENCY,
    }


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (10, 60)]:
        delays = {backoff_seconds(attempt, base=2, cap=60) for _ in range(200)}
        assert min(delays) >= max(1, ceiling // 2 - 1)
        assert max(delays) <= ceiling
    assert len({backoff_seconds(5, base=2, cap=60) for _ in range(200)}) > 1


def job_and_manifest() -> tuple[JobRecord, Manifest]:
    keys = JobKeys("test", "t", JOB)
    job = JobRecord.for_job(keys, correlation_id="corr", status="processing", now=NOW, run=2)
    manifest = Manifest.for_job(
        keys,
        status="processing",
        now=NOW,
        source_video_key=PREFIX + "input/a.mp4",
        audio=AudioSection(
            key=PREFIX + f"audio/{JOB}.mp3",
            codec="mp3",
            duration_sec=1,
            bitrate_kbps=128,
            sample_rate=44100,
            extracted_at=NOW,
        ),
    )
    return job, manifest


def test_events_carry_the_full_job_context() -> None:
    job, manifest = job_and_manifest()
    event = event_for("AudioExtracted", job, manifest)
    assert isinstance(event, AudioExtracted)
    assert (event.run, event.correlation_id) == (2, "corr")
    assert event.source_key == PREFIX + "input/a.mp4"
    assert event.audio_key == PREFIX + f"audio/{JOB}.mp3"
    assert event.storage_keys() == [job.manifest_key, event.source_key, event.audio_key]


def test_job_failed_carries_the_error() -> None:
    job, manifest = job_and_manifest()
    error = JobError(type=ErrorType.TIMEOUT, message="slow", step="video-render")
    event = event_for("JobFailed", job, manifest, error)
    assert isinstance(event, JobFailed)
    assert event.error.type == ErrorType.TIMEOUT


def envelope(detail_type: str, detail: Any, source: str = "talkavocado.pipeline") -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "1",
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def test_an_eventbridge_event_parses_into_its_pipeline_event() -> None:
    job, manifest = job_and_manifest()
    detail = json.loads(event_for("AudioExtracted", job, manifest).detail_json())
    assert parse_event(envelope("AudioExtracted", detail)) == event_for(
        "AudioExtracted", job, manifest
    )


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"detail": {}}),
        envelope("JobCreated", {"tenantId": "t"}),
        envelope("SomethingElse", {}),
        envelope("JobCreated", {}, source="evil.source"),
        envelope(
            "JobCreated",
            {
                "env": "test",
                "tenantId": "t",
                "jobId": JOB,
                "correlationId": "c",
                "manifestKey": "k",
                "detailVersion": 99,
            },
        ),
    ],
)
def test_malformed_messages_are_refused(body: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_event(body)


def test_the_step_of_a_dead_letter_queue_is_known() -> None:
    arn = "arn:aws:sqs:us-east-1:123456789012:talkavocado-dev-smart-cut-planner-dlq"
    assert step_of_dead_letter_queue(arn) == "smart-cut-planner"
    assert step_of_dead_letter_queue("arn:aws:sqs:us-east-1:123456789012:other") is None
