"""Failing a job: manifest, record and JobFailed, safe to repeat, and never
over a job that finished otherwise meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkavocado.domain.errors import ErrorType
from talkavocado.domain.jobs import JobError
from talkavocado.domain.keys import JobKeys
from talkavocado.services.transitions import mutate_job
from tests.fakes import World, run_every_step

KEYS = JobKeys("test", "tenant-a", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69")
ERROR = JobError(type=ErrorType.CODEC_UNSUPPORTED, message="no audio track", step="transcription")


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = World(tmp_path)
    world.add(KEYS, correlation_id="c-1", status="processing")
    return world


def test_failing_a_job_marks_manifest_and_record_and_announces_it(world: World) -> None:
    world.failer.fail(world.record(), ERROR)
    assert (world.record().status, world.record().error) == ("failed", ERROR)
    manifest = world.manifest()
    assert manifest.status == "failed"
    assert [(entry.type, entry.step) for entry in manifest.logs] == [("error", "transcription")]
    assert [event.detail_type for event in world.publisher.events] == ["JobFailed"]


def test_failing_a_failed_job_again_completes_it_with_the_recorded_error(world: World) -> None:
    world.failer.fail(world.record(), ERROR)
    other = JobError(type=ErrorType.UNKNOWN, message="later", step="video-render")
    world.failer.fail(world.record(), other)
    assert world.record().error == ERROR
    assert [entry.message for entry in world.manifest().logs] == [
        "CODEC_UNSUPPORTED: no audio track"
    ]
    assert all(event.detail_type == "JobFailed" for event in world.publisher.events)


def test_a_job_that_completed_meanwhile_stays_completed(world: World) -> None:
    stale = world.record()
    mutate_job(world.jobs, KEYS.tenant_id, KEYS.job_id, run_every_step)
    world.failer.fail(stale, ERROR)
    assert world.record().status == "completed"
    assert world.manifest().status == "completed"  # the manifest follows the record
    assert world.publisher.events == []


def test_a_failure_whose_manifest_write_was_lost_is_projected_when_seen_again(
    world: World,
) -> None:
    failing = world.record()
    mutate_job(
        world.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: j.fail(ERROR, "2026-01-01T00:00:00.000Z")
    )
    assert world.manifest().status == "processing"  # a crash right after the record's write
    world.failer.fail(failing, ERROR)  # the redelivery
    assert (world.record().status, world.manifest().status) == ("failed", "failed")
    [event] = world.publisher.events
    assert event.detail_type == "JobFailed"
