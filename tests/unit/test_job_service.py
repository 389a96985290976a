from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.adapters.upload_policy import PolicyRefused, SizeRefused, UploadSigner
from talkavocado.config import Settings
from talkavocado.domain.events import JobCreated
from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import STEP_NAMES, step_named
from talkavocado.errors import (
    ErrorType,
    InputNotUploaded,
    InvalidTransition,
    JobAlreadyExists,
    JobDataMissing,
    JobNotFound,
    ValidationFailed,
)
from talkavocado.services.job_queries import JobQueries, Listing
from talkavocado.services.job_service import CreateJob, InputSpec, JobService
from talkavocado.services.transitions import mutate_job
from talkavocado.wiring import job_settings
from tests import fakes
from tests.fakes import run_every_step

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"


class World(fakes.World):
    def __init__(self, root: Path, start_on_create: bool = True) -> None:
        super().__init__(root)
        self.settings = replace(job_settings(Settings.from_env()), start_on_create=start_on_create)
        self.service = JobService(self.settings, self.jobs, self.storage, self.publisher)
        self.queries = JobQueries(self.jobs, self.storage)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def create(world: World, **kwargs: object) -> CreateJob:
    """A job whose input was stored before its create: it starts at once."""
    command = CreateJob(tenant_id="demo-tenant", correlation_id="corr-1", **kwargs)  # type: ignore[arg-type]
    keys = JobKeys("test", "demo-tenant", command.job_id or JOB)
    world.storage.put(keys, keys.input, b"video")
    world.service.create_job(command)
    return command


def test_create_writes_manifest_and_record_and_publishes_job_created(world: World) -> None:
    keys = JobKeys("test", "demo-tenant", JOB)
    world.storage.put(keys, keys.input, b"video")  # uploaded beforehand
    created = world.service.create_job(
        CreateJob(
            tenant_id="demo-tenant",
            correlation_id="corr-1",
            job_id=JOB,
            input=InputSpec("../My Talk.mp4", 1000, "video/mp4"),
        )
    )
    record = created.record
    assert created.upload is None
    manifest, _ = world.manifests.load(keys)
    assert (record.status, record.manifest_key) == ("pending", keys.manifest)
    assert manifest.status == "pending" and manifest.correlation_id == "corr-1"
    assert manifest.input is not None
    assert manifest.input.source_key == keys.prefix + "input/source"  # not the client's name
    assert manifest.input.original_filename == "My_Talk.mp4"
    assert world.jobs.get("demo-tenant", JOB) is not None
    [event] = world.publisher.events
    assert isinstance(event, JobCreated)
    assert (event.job_id, event.run, event.correlation_id) == (JOB, 1, "corr-1")
    assert event.source_key == manifest.input.source_key


def test_a_job_id_is_generated_when_the_client_gives_none(world: World) -> None:
    record = world.service.create_job(CreateJob(tenant_id="demo-tenant", correlation_id="c")).record
    assert len(record.job_id) == 36 and record.job_id != JOB


def test_no_event_when_start_on_create_is_off(tmp_path: Path) -> None:
    world = World(tmp_path, start_on_create=False)
    create(world, job_id=JOB)
    assert world.publisher.events == []


def test_second_create_with_the_same_job_id_is_a_conflict_with_a_pointer(
    world: World,
) -> None:
    create(world, job_id=JOB)
    with pytest.raises(JobAlreadyExists) as refused:
        create(world, job_id=JOB)
    assert refused.value.details["job"]["jobId"] == JOB
    assert len(world.publisher.events) == 1


def test_the_same_job_id_under_another_tenant_is_another_job(world: World) -> None:
    create(world, job_id=JOB)
    world.service.create_job(CreateJob(tenant_id="other", correlation_id="c", job_id=JOB))
    assert world.jobs.get("other", JOB) is not None


def test_an_orphan_manifest_from_a_crashed_create_is_adopted(world: World) -> None:
    keys = JobKeys("test", "demo-tenant", JOB)
    world.storage.put(keys, keys.manifest, b"{}")  # the crash left only a manifest
    record = world.service.create_job(
        CreateJob(tenant_id="demo-tenant", correlation_id="retry", job_id=JOB)
    ).record
    manifest, _ = world.manifests.load(keys)
    assert record.correlation_id == manifest.correlation_id == "retry"


def test_retrying_the_create_of_an_abandoned_job_republishes_job_created(
    world: World,
) -> None:
    create(world, job_id=JOB)
    item = world.jobs.items[("demo-tenant", JOB)]
    item["createdAt"] = item["startedAt"] = "2020-01-01T00:00:00.000Z"
    with pytest.raises(JobAlreadyExists):
        create(world, job_id=JOB)
    assert len(world.publisher.events) == 2


def test_an_upload_long_after_creation_then_a_start_call_publish_once(world: World) -> None:
    key = uploaded(world)
    item = world.jobs.items[("demo-tenant", JOB)]
    item["createdAt"] = "2020-01-01T00:00:00.000Z"  # created long ago, uploaded now
    world.service.start_stored_input(key)
    world.service.start_job("demo-tenant", JOB)
    assert [event.detail_type for event in world.publisher.events] == ["JobCreated"]


def test_get_returns_status_and_artifact_pointers(world: World) -> None:
    create(world, job_id=JOB)
    view = world.queries.get_job("demo-tenant", JOB)
    assert view.record.status == "pending"
    assert view.artifacts.audio is None and view.artifacts.renders == []


def test_another_tenant_cannot_read_the_job(world: World) -> None:
    create(world, job_id=JOB)
    with pytest.raises(JobNotFound):
        world.queries.get_job("other-tenant", JOB)


def test_a_manifest_of_another_tenant_is_never_returned(world: World) -> None:
    create(world, job_id=JOB)
    keys = JobKeys("test", "demo-tenant", JOB)
    world.manifests.update(keys, lambda m: setattr(m, "tenant_id", "intruder"))
    with pytest.raises(JobNotFound):
        world.queries.get_job("demo-tenant", JOB)


@pytest.mark.parametrize(("tenant", "job"), [("Bad Tenant", JOB), ("demo-tenant", "../x")])
def test_malformed_identifiers_are_refused(world: World, tenant: str, job: str) -> None:
    with pytest.raises(ValidationFailed):
        world.queries.get_job(tenant, job)


def test_list_returns_only_the_tenants_jobs(world: World) -> None:
    create(world, job_id=JOB)
    world.service.create_job(CreateJob(tenant_id="other", correlation_id="c"))
    records, token = world.queries.list_jobs("demo-tenant", Listing(limit=10))
    assert [r.job_id for r in records] == [JOB] and token is None


def test_pages_cover_every_job_once_newest_first(world: World) -> None:
    for _ in range(10):
        world.service.create_job(CreateJob(tenant_id="demo-tenant", correlation_id="c"))
    seen, token = [], None
    while True:
        records, token = world.queries.list_jobs("demo-tenant", Listing(limit=3, next_token=token))
        seen += records
        if token is None:
            break
    assert len(seen) == 10 and len({r.job_id for r in seen}) == 10
    assert [r.created_at for r in seen] == sorted((r.created_at for r in seen), reverse=True)


def test_a_page_token_is_bound_to_its_tenant_and_filters(world: World) -> None:
    for tenant in ("demo-tenant", "other"):
        for _ in range(3):
            world.service.create_job(CreateJob(tenant_id=tenant, correlation_id="c"))
    _, token = world.queries.list_jobs("demo-tenant", Listing(limit=1))
    assert token is not None
    for tenant, listing in [
        ("other", Listing(limit=1, next_token=token)),
        ("demo-tenant", Listing(status="pending", limit=1, next_token=token)),
        ("demo-tenant", Listing(limit=1, next_token="not-a-token")),
        ("demo-tenant", Listing(limit=1, next_token=token[:-4])),
    ]:
        with pytest.raises(ValidationFailed):
            world.queries.list_jobs(tenant, listing)


def test_a_conflicting_create_of_a_fresh_job_does_not_republish(world: World) -> None:
    create(world, job_id=JOB)
    with pytest.raises(JobAlreadyExists):
        create(world, job_id=JOB)
    assert len(world.publisher.events) == 1


def with_input(world: World) -> CreateJob:
    return CreateJob(
        tenant_id="demo-tenant",
        correlation_id="c",
        job_id=JOB,
        input=InputSpec("talk.mp4", 10, "video/mp4"),
    )


def test_a_job_whose_input_is_not_stored_waits_for_it(world: World) -> None:
    created = world.service.create_job(with_input(world))
    assert created.record.status == "pending"
    assert world.publisher.events == []


def test_a_job_without_a_declared_input_waits_for_any_upload_up_to_the_limit(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    signer = UploadSigner("http://127.0.0.1:3000/_uploads", "secret")
    world.service = JobService(
        world.settings, world.jobs, LocalStorage(tmp_path, signer), world.publisher
    )
    created = world.service.create_job(CreateJob("demo-tenant", "c", job_id=JOB))
    assert created.record.status == "pending" and created.record.started_at is None
    assert world.publisher.events == []
    upload = created.upload
    assert upload is not None and "Content-Type" not in upload.fields
    limit = world.settings.max_upload_bytes
    signer.accept({**upload.fields, "Content-Type": "video/quicktime"}, limit)
    with pytest.raises(SizeRefused):
        signer.accept(upload.fields, limit + 1)
    with pytest.raises(InputNotUploaded):
        world.service.start_job("demo-tenant", JOB)
    keys = JobKeys("test", "demo-tenant", JOB)
    world.storage.put(keys, keys.input, b"video")
    world.service.start_stored_input(keys.input)
    [event] = world.publisher.events
    assert (event.detail_type, event.source_key) == ("JobCreated", keys.input)


def test_the_upload_target_is_a_signed_post_of_the_input_key_and_declared_size(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    signer = UploadSigner("http://127.0.0.1:3000/_uploads", "secret")
    world.service = JobService(
        world.settings, world.jobs, LocalStorage(tmp_path, signer), world.publisher
    )
    command = with_input(world)
    assert command.input is not None
    upload = world.service.create_job(command).upload
    assert upload is not None and (upload.method, upload.url) == ("POST", signer.url)
    key = JobKeys("test", "demo-tenant", JOB).input
    assert upload.fields["key"] == key
    declared = command.input.bytes
    signer.accept(upload.fields, declared)
    with pytest.raises(SizeRefused):
        signer.accept(upload.fields, declared + 1)
    with pytest.raises(PolicyRefused):
        signer.accept({**upload.fields, "key": key.replace("source", "other")}, declared)
    with pytest.raises(PolicyRefused):
        signer.accept({**upload.fields, "Content-Type": "text/html"}, declared)


def test_start_refuses_a_job_without_its_input_then_starts_it(world: World) -> None:
    world.service.create_job(with_input(world))
    with pytest.raises(InputNotUploaded):
        world.service.start_job("demo-tenant", JOB)
    keys = JobKeys("test", "demo-tenant", JOB)
    world.storage.put(keys, keys.input, b"video")
    world.service.start_job("demo-tenant", JOB)
    [event] = world.publisher.events
    assert event.source_key == keys.input


def test_starting_a_started_job_again_answers_it_and_publishes_nothing(world: World) -> None:
    create(world, job_id=JOB)
    mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.start_step("audio-extraction", "x"))
    world.publisher.events.clear()
    assert world.service.start_job("demo-tenant", JOB).status == "processing"
    assert world.publisher.events == []
    mutate_job(world.jobs, "demo-tenant", JOB, run_every_step)
    with pytest.raises(InvalidTransition):  # finished: nothing to start
        world.service.start_job("demo-tenant", JOB)


def uploaded(world: World) -> str:
    """A job created with a declared input, its file now stored."""
    world.service.create_job(with_input(world))
    keys = JobKeys("test", "demo-tenant", JOB)
    world.storage.put(keys, keys.input, b"video")
    return keys.input


@pytest.mark.parametrize("order", ["upload event first", "start call first"])
def test_the_upload_event_and_a_start_call_start_the_job_once(world: World, order: str) -> None:
    key = uploaded(world)
    if order == "upload event first":
        world.service.start_stored_input(key)
        world.service.start_job("demo-tenant", JOB)
    else:
        world.service.start_job("demo-tenant", JOB)
        world.service.start_stored_input(key)
    assert [event.detail_type for event in world.publisher.events] == ["JobCreated"]
    record = world.jobs.get("demo-tenant", JOB)
    assert record is not None and record.started_at is not None


@pytest.mark.parametrize(
    "key",
    [
        f"dev/demo-tenant/{JOB}/input/source",  # another env
        f"test/demo-tenant/{JOB}/renders/base_cuts.mp4",  # not an input
        "test/demo-tenant/3f1c2a9e-8b7d-4c6e-9a5f-000000000000/input/source",  # no such job
        "test/../../etc/passwd",
        "garbage",
    ],
)
def test_an_object_that_is_no_jobs_input_starts_nothing(world: World, key: str) -> None:
    uploaded(world)
    world.publisher.events.clear()
    assert world.service.start_stored_input(key) is None
    assert world.publisher.events == []


def test_another_tenant_cannot_start_the_job(world: World) -> None:
    world.service.create_job(with_input(world))
    with pytest.raises(JobNotFound):
        world.service.start_job("other-tenant", JOB)


def failed_job(world: World) -> JobKeys:
    create(world, job_id=JOB)
    error = JobError(type=ErrorType.TRANSIENT_DEPENDENCY, message="down", step="transcription")
    mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.start_step("audio-extraction", "x"))
    mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.fail(error, "y"))
    keys = JobKeys("test", "demo-tenant", JOB)
    world.manifests.update(keys, lambda m: setattr(m, "status", "failed"))
    world.publisher.events.clear()
    return keys


def test_a_failed_job_is_retried_as_a_new_run_from_its_first_step(world: World) -> None:
    keys = failed_job(world)
    record = world.service.retry_job("demo-tenant", JOB)
    assert (record.status, record.run, record.error) == ("processing", 2, None)
    assert {state.status for state in record.steps.values()} == {"pending"}
    assert world.manifests.load(keys)[0].status == "processing"
    [event] = world.publisher.events
    assert isinstance(event, JobCreated) and event.run == 2


def test_a_retry_interrupted_before_its_event_publishes_it_when_asked_again(
    world: World,
) -> None:
    failed_job(world)
    mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.retry())  # crashed before publishing
    record = world.service.retry_job("demo-tenant", JOB)
    assert record.run == 2  # not a third run
    assert [event.run for event in world.publisher.events] == [2]


@pytest.mark.parametrize("status", ["pending", "processing", "completed"])
def test_only_a_failed_job_can_be_retried(world: World, status: str) -> None:
    create(world, job_id=JOB)
    if status != "pending":
        mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.start_step("audio-extraction", "x"))
    if status == "completed":
        mutate_job(world.jobs, "demo-tenant", JOB, run_every_step)
    world.publisher.events.clear()
    with pytest.raises(InvalidTransition):
        world.service.retry_job("demo-tenant", JOB)
    assert world.publisher.events == []


def test_another_tenant_cannot_retry_the_job(world: World) -> None:
    failed_job(world)
    with pytest.raises(JobNotFound):
        world.service.retry_job("other-tenant", JOB)


@pytest.mark.parametrize("started", [False, True])
def test_a_pending_or_processing_job_can_be_cancelled_twice(world: World, started: bool) -> None:
    create(world, job_id=JOB)
    if started:
        mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.start_step("audio-extraction", "x"))
    assert world.service.cancel_job("demo-tenant", JOB).status == "cancelled"
    assert world.service.cancel_job("demo-tenant", JOB).status == "cancelled"
    keys = JobKeys("test", "demo-tenant", JOB)
    assert world.manifests.load(keys)[0].status == "cancelled"
    cancelled = [e for e in world.publisher.events if e.detail_type == "JobCancelled"]
    assert len(cancelled) == 1  # announced once


def test_a_finished_job_cannot_be_cancelled(world: World) -> None:
    failed_job(world)
    with pytest.raises(InvalidTransition):
        world.service.cancel_job("demo-tenant", JOB)


def test_a_job_that_completes_while_being_cancelled_stays_completed(world: World) -> None:
    create(world, job_id=JOB)
    mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.start_step("audio-extraction", "x"))
    keys = JobKeys("test", "demo-tenant", JOB)
    real_save = world.jobs.save

    def completes_first(record: JobRecord, *, expected_version: int) -> JobRecord:
        world.jobs.save = real_save  # type: ignore[method-assign]
        current = world.jobs.get("demo-tenant", JOB)
        assert current is not None
        mutate_job(world.jobs, "demo-tenant", JOB, run_every_step, known=current)
        return real_save(record, expected_version=expected_version)

    world.jobs.save = completes_first  # type: ignore[method-assign]
    with pytest.raises(InvalidTransition):
        world.service.cancel_job("demo-tenant", JOB)
    assert world.jobs.get("demo-tenant", JOB).status == "completed"  # type: ignore[union-attr]
    assert world.manifests.load(keys)[0].status == "completed"


def test_another_tenant_cannot_cancel_the_job(world: World) -> None:
    create(world, job_id=JOB)
    with pytest.raises(JobNotFound):
        world.service.cancel_job("other-tenant", JOB)


BEFORE_RENDER = STEP_NAMES[: STEP_NAMES.index("video-render")]


def failed_at_render(world: World, missing: list[str] | None = None) -> JobKeys:
    """A job whose steps up to the planner completed and whose render failed."""
    create(world, job_id=JOB)
    keys = JobKeys("test", "demo-tenant", JOB)
    error = JobError(type=ErrorType.UNKNOWN, message="render bug", step="video-render")

    def ran_until_render(job: JobRecord) -> None:
        for name in BEFORE_RENDER:
            job.start_step(name, "x")
            job.finish_step(name, "completed", "y")
        job.start_step("video-render", "x")
        job.fail(error, "z")

    mutate_job(world.jobs, "demo-tenant", JOB, ran_until_render)
    for step in BEFORE_RENDER:
        for key in keys.outputs_of(step_named(step)):
            if key not in (missing or []):
                world.storage.put(keys, key, b"artifact")
    world.manifests.update(keys, lambda m: setattr(m, "status", "failed"))
    world.publisher.events.clear()
    return keys


def test_a_retry_resumes_at_the_failed_step_reusing_earlier_artifacts(world: World) -> None:
    failed_at_render(world)
    record = world.service.retry_job("demo-tenant", JOB)
    assert record.run == 2
    statuses = [record.steps[n].status for n in STEP_NAMES]
    assert statuses == ["completed"] * len(BEFORE_RENDER) + ["pending"] * (
        len(STEP_NAMES) - len(BEFORE_RENDER)
    )
    assert record.steps["transcription"].run == 1
    [event] = world.publisher.events
    assert (event.detail_type, event.run) == (step_named("video-render").consumes, 2)


def test_a_retry_resumes_earlier_when_an_artifact_is_gone(world: World) -> None:
    keys = JobKeys("test", "demo-tenant", JOB)
    failed_at_render(world, missing=[keys.transcript_json])
    record = world.service.retry_job("demo-tenant", JOB)
    assert record.steps["audio-extraction"].status == "completed"
    assert record.steps["transcription"].status == "pending"
    [event] = world.publisher.events
    assert event.detail_type == "AudioExtracted"


def test_a_retry_resumes_at_extraction_when_the_recognisers_pcm_is_gone(world: World) -> None:
    keys = JobKeys("test", "demo-tenant", JOB)
    failed_at_render(world, missing=[keys.audio_pcm])
    record = world.service.retry_job("demo-tenant", JOB)
    assert record.steps["audio-extraction"].status == "pending"
    [event] = world.publisher.events
    assert isinstance(event, JobCreated) and event.run == 2


def test_a_retry_from_start_runs_every_step_again(world: World) -> None:
    failed_at_render(world)
    record = world.service.retry_job("demo-tenant", JOB, from_start=True)
    assert {state.status for state in record.steps.values()} == {"pending"}
    [event] = world.publisher.events
    assert isinstance(event, JobCreated) and event.run == 2


def test_a_resumed_retry_interrupted_before_its_event_publishes_it_again(
    world: World,
) -> None:
    failed_at_render(world)
    mutate_job(world.jobs, "demo-tenant", JOB, lambda j: j.retry("video-render"))  # crash
    record = world.service.retry_job("demo-tenant", JOB)
    assert record.run == 2
    resumed = (step_named("video-render").consumes, 2)
    assert [(e.detail_type, e.run) for e in world.publisher.events] == [resumed]


@pytest.mark.parametrize("change", ["cancel", "retry"])
def test_a_change_to_a_job_whose_manifest_is_gone_is_refused_unmade(
    world: World, change: str
) -> None:
    keys = (
        failed_job(world)
        if change == "retry"
        else JobKeys("test", "demo-tenant", create(world, job_id=JOB).job_id or JOB)
    )
    world.storage.path_of(keys, keys.manifest).unlink()
    before = world.jobs.get("demo-tenant", JOB)
    with pytest.raises(JobDataMissing):
        getattr(world.service, f"{change}_job")("demo-tenant", JOB)
    assert world.jobs.get("demo-tenant", JOB) == before
