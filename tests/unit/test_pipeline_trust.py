"""Only the pipeline drives a job: a step runs only after an accepted start
(the first step) or its previous step completed in the same run; the
finalizer completes only a job whose steps all completed; a dead letter fails
only the job's running step in its current run. Anything else changes nothing."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from talkavocado.domain.errors import DependencyUnavailable, ErrorType, InvalidTransition
from talkavocado.domain.events import EVENT_TYPES, JobOutcome, PipelineEvent
from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado.domain.pipeline import FINALIZER, PIPELINE, STEP_NAMES, Step, step_named
from talkavocado.services.transitions import mutate_job
from talkavocado.workers.batch import RetryPolicy, SqsBatch
from talkavocado.workers.context import StepContext, StepOutcome
from talkavocado.workers.dead_letter import MAX_ATTEMPTS, DeadLetterHandler
from talkavocado.workers.failure import JobFailer
from talkavocado.workers.runner import StepRunner
from talkavocado.workers.worker import StepWorker
from tests import fakes

KEYS = JobKeys("test", "acme", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69")
NOW = "2026-01-01T00:00:00.000Z"


class NoVisibility:
    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Retries are not exercised here."""


class World(fakes.World):
    """One job, and the steps that record what ran."""

    def __init__(self, root: Path, **record: Any) -> None:
        super().__init__(root)
        self.ran: list[str] = []
        self.add(KEYS, **record)

    def body(self, context: StepContext) -> StepOutcome:
        self.ran.append(context.step.name)
        return StepOutcome("completed", "done")

    def runner(self, step: Step) -> StepRunner:
        return StepRunner(step, self.body, self.jobs, self.manifests, self.storage, self.publisher)

    def deliver(self, step: Step, run: int = 1) -> None:
        event = event_of(step.consumes, run)
        self.runner(step).process(event, lambda: 600.0)

    def complete_steps(self, count: int) -> None:
        """Record the first ``count`` steps as done, as the pipeline would."""

        def done(job: JobRecord) -> None:
            job.started_at = NOW
            for name in STEP_NAMES[:count]:
                job.start_step(name, NOW)
                job.finish_step(name, "completed", NOW)

        mutate_job(self.jobs, KEYS.tenant_id, KEYS.job_id, done)


def event_of(detail_type: str, run: int = 1) -> PipelineEvent:
    return EVENT_TYPES[detail_type](
        env=KEYS.env,
        tenant_id=KEYS.tenant_id,
        job_id=KEYS.job_id,
        correlation_id="forged",
        run=run,
        manifest_key=KEYS.manifest,
    )


@pytest.fixture
def pending(tmp_path: Path) -> World:
    """A job created with a declared input that was never uploaded or started."""
    return World(tmp_path, source_key=KEYS.input)


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_no_event_drives_a_job_that_was_never_started(pending: World, step: Step) -> None:
    before = pending.record()
    pending.deliver(step)
    assert pending.ran == []
    assert pending.record() == before
    assert pending.publisher.events == []


def test_an_accepted_start_lets_the_first_step_run(pending: World) -> None:
    mutate_job(
        pending.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: j.mark_started(NOW, None, "call")
    )
    pending.deliver(PIPELINE[0])
    assert pending.ran == [PIPELINE[0].name]
    assert [e.detail_type for e in pending.publisher.events] == [PIPELINE[0].emits]


@pytest.mark.parametrize("done", range(len(PIPELINE) - 1))
def test_a_step_ahead_of_the_pipeline_does_not_run(tmp_path: Path, done: int) -> None:
    world = World(tmp_path, status="processing")
    world.complete_steps(done)
    before = world.record()
    for step in PIPELINE[done + 1 :]:
        world.deliver(step)
    assert world.ran == []
    assert world.record() == before
    assert world.publisher.events == []


def test_each_step_runs_once_its_previous_step_completed(tmp_path: Path) -> None:
    world = World(tmp_path, status="processing")
    for step in PIPELINE:
        world.deliver(step)
    assert world.ran == list(STEP_NAMES)
    assert world.record().status == "completed"


def test_an_event_of_an_earlier_run_changes_nothing(tmp_path: Path) -> None:
    world = World(tmp_path, status="processing", run=2)
    before = world.record()
    world.deliver(PIPELINE[0], run=1)
    assert world.ran == [] and world.record() == before


def test_a_job_with_unfinished_steps_cannot_complete() -> None:
    job = JobRecord.for_job(KEYS, correlation_id="c", status="processing")
    job.start_step(PIPELINE[-1].name, NOW)
    job.finish_step(PIPELINE[-1].name, "completed", NOW)
    with pytest.raises(InvalidTransition, match="not completed"):
        job.complete()


def sqs_record(body: str, queue: str) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-1",
            "receiptHandle": "r-1",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:talkavocado-test-{queue}",
        }
    )


def envelope(event: PipelineEvent) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "1",
            "detail-type": event.detail_type,
            "source": "talkavocado.pipeline",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": json.loads(event.detail_json()),
        }
    )


def dead_letter(world: World, detail_type: str, queue: str, run: int = 1) -> None:
    failer = JobFailer(world.jobs, world.manifests, world.publisher)
    batch = SqsBatch("dead-letter", NoVisibility(), RetryPolicy())
    handler = DeadLetterHandler(world.jobs, failer, batch)
    handler.process(sqs_record(envelope(event_of(detail_type, run)), f"{queue}-dlq"))


@pytest.fixture
def transcribing(tmp_path: Path) -> World:
    """A job whose transcription is running (after a failed attempt, say)."""
    world = World(tmp_path, status="processing")
    world.complete_steps(1)
    mutate_job(
        world.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: j.start_step("transcription", NOW)
    )
    return world


@pytest.mark.parametrize(
    ("detail_type", "queue", "run"),
    [
        ("JobCreated", "audio-extraction", 1),  # a step that already completed
        ("TranscriptReady", "smart-cut-planner", 1),  # a step not yet started
        ("JobCreated", "transcription", 1),  # not a message of that queue
        ("AudioExtracted", "transcription", 2),  # another run
        ("AudioExtracted", "unknown-queue", 1),
    ],
)
def test_a_dead_letter_that_is_not_the_running_step_changes_nothing(
    transcribing: World, detail_type: str, queue: str, run: int
) -> None:
    before = transcribing.record()
    dead_letter(transcribing, detail_type, queue, run)
    assert transcribing.record() == before
    assert transcribing.publisher.events == []


def test_a_dead_letter_of_the_running_step_fails_the_job(transcribing: World) -> None:
    dead_letter(transcribing, "AudioExtracted", "transcription")
    record = transcribing.record()
    assert record.status == "failed"
    assert record.error is not None and record.error.step == "transcription"
    assert [e.detail_type for e in transcribing.publisher.events] == ["JobFailed"]


def test_an_invalid_event_is_dropped_without_a_retry(transcribing: World) -> None:
    """Retrying it could only dead-letter it; it must change nothing."""
    before = transcribing.record()
    worker = StepWorker(
        transcribing.runner(step_named("transcription")),
        SqsBatch("transcription", NoVisibility(), RetryPolicy()),
    )
    body = json.loads(envelope(event_of("AudioExtracted")))
    body["detail"]["run"] = "not a run"
    answer = worker.handle(
        {"Records": [{**sqs_record(json.dumps(body), "transcription").raw_event}]}, None
    )
    assert answer == {"batchItemFailures": []}
    assert transcribing.record() == before


def test_a_retryable_failure_is_reported_for_its_record_alone(transcribing: World) -> None:
    def unavailable(context: StepContext) -> StepOutcome:
        raise DependencyUnavailable("throttled")

    runner = StepRunner(
        step_named("transcription"),
        unavailable,
        transcribing.jobs,
        transcribing.manifests,
        transcribing.storage,
        transcribing.publisher,
    )
    worker = StepWorker(runner, SqsBatch("transcription", NoVisibility(), RetryPolicy()))
    failing = sqs_record(envelope(event_of("AudioExtracted")), "transcription").raw_event
    stale = {**failing, "messageId": "m-2", "body": envelope(event_of("AudioExtracted", run=7))}
    answer = worker.handle({"Records": [failing, stale]}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    state = transcribing.record().steps["transcription"]
    assert state.status == "running" and state.error is not None


# --- every change names its run: nothing of run N changes run N + 1 --------

ERROR = JobError(type=ErrorType.CODEC_UNSUPPORTED, message="bad file", step="transcription")


def retry_meanwhile(world: World) -> None:
    """The job fails and is retried (run + 1) behind the worker's back."""
    mutate_job(world.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: j.fail(ERROR, NOW))
    mutate_job(world.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: j.retry())


def test_a_failure_of_an_earlier_run_does_not_fail_the_retried_run(
    transcribing: World,
) -> None:
    stale = transcribing.record()
    retry_meanwhile(transcribing)
    failer = JobFailer(transcribing.jobs, transcribing.manifests, transcribing.publisher)
    failer.fail(stale, ERROR)
    record = transcribing.record()
    assert (record.run, record.status, record.error) == (2, "processing", None)
    assert transcribing.publisher.events == []
    manifest, _ = transcribing.manifests.load(KEYS)
    assert manifest.status == "processing" and not manifest.logs


def test_a_step_result_of_an_earlier_run_goes_no_further(transcribing: World) -> None:
    def retried_while_running(context: StepContext) -> StepOutcome:
        retry_meanwhile(transcribing)
        return StepOutcome("completed", "done")

    runner = StepRunner(
        step_named("transcription"),
        retried_while_running,
        transcribing.jobs,
        transcribing.manifests,
        transcribing.storage,
        transcribing.publisher,
    )
    runner.process(event_of("AudioExtracted"), lambda: 600.0)
    record = transcribing.record()
    assert record.run == 2
    assert all(state.status == "pending" for state in record.steps.values())
    assert transcribing.publisher.events == []


@pytest.mark.parametrize("raised", [DependencyUnavailable("throttled"), ValueError("a bug")])
def test_a_step_error_of_an_earlier_run_leaves_the_retried_run_alone(
    transcribing: World, raised: Exception
) -> None:
    def retried_then_broken(context: StepContext) -> StepOutcome:
        retry_meanwhile(transcribing)
        raise raised

    runner = StepRunner(
        step_named("transcription"),
        retried_then_broken,
        transcribing.jobs,
        transcribing.manifests,
        transcribing.storage,
        transcribing.publisher,
    )
    with contextlib.suppress(Exception):  # a retryable error is raised for redelivery
        runner.process(event_of("AudioExtracted"), lambda: 600.0)
    record = transcribing.record()
    assert (record.run, record.status, record.error) == (2, "processing", None)
    assert all(state.status == "pending" and not state.error for state in record.steps.values())
    assert transcribing.publisher.events == []


def test_a_step_start_of_an_earlier_run_changes_nothing(transcribing: World) -> None:
    real_save = transcribing.jobs.save

    def retried_just_before(record: JobRecord, *, expected_version: int) -> JobRecord:
        transcribing.jobs.save = real_save  # type: ignore[method-assign]
        retry_meanwhile(transcribing)
        return real_save(record, expected_version=expected_version)

    mutate_job(
        transcribing.jobs,
        KEYS.tenant_id,
        KEYS.job_id,
        lambda j: j.finish_step("transcription", "completed", NOW),
    )
    transcribing.jobs.save = retried_just_before  # type: ignore[method-assign]
    transcribing.deliver(step_named("smart-cut-planner"))
    record = transcribing.record()
    assert record.run == 2 and record.steps["smart-cut-planner"].status == "pending"
    assert transcribing.ran == []


# --- a job whose manifest went missing ends, and its dead letters are bounded -


def test_a_step_of_a_job_whose_manifest_is_missing_fails_it_clearly(
    transcribing: World,
) -> None:
    transcribing.storage.path_of(KEYS, KEYS.manifest).unlink()
    transcribing.deliver(step_named("transcription"))
    record = transcribing.record()
    assert record.status == "failed" and record.error is not None
    assert (record.error.type, record.error.step) == (ErrorType.INPUT_MISSING, "transcription")
    assert "manifest is missing" in record.error.message
    assert [e.detail_type for e in transcribing.publisher.events] == ["JobFailed"]


def test_a_dead_letter_of_a_job_without_manifest_still_fails_it(
    transcribing: World,
) -> None:
    transcribing.storage.path_of(KEYS, KEYS.manifest).unlink()
    dead_letter(transcribing, "AudioExtracted", "transcription")
    assert transcribing.record().status == "failed"


def test_a_dead_letter_that_keeps_failing_is_dropped_after_a_few_attempts(
    transcribing: World,
) -> None:
    before = transcribing.record()
    failer = JobFailer(transcribing.jobs, transcribing.manifests, transcribing.publisher)
    handler = DeadLetterHandler(
        transcribing.jobs, failer, SqsBatch("dead-letter", NoVisibility(), RetryPolicy())
    )
    record = sqs_record(envelope(event_of("AudioExtracted")), "transcription-dlq")
    record.raw_event["attributes"]["ApproximateReceiveCount"] = str(MAX_ATTEMPTS + 1)
    handler.process(record)
    assert transcribing.record() == before


def test_a_job_run_announces_its_completion_once_however_often_it_is_delivered(
    pending: World,
) -> None:
    pending.complete_steps(len(PIPELINE) - 1)
    for _ in range(3):
        pending.deliver(FINALIZER)
    outcomes = [e for e in pending.publisher.events if isinstance(e, JobOutcome)]
    assert [e.detail_type for e in outcomes] == ["JobCompleted"]
    assert outcomes[0].status == "completed" and outcomes[0].finished_at is not None
    assert pending.record().announced == "JobCompleted#1"


def test_an_announcement_lost_to_a_crash_goes_out_again_with_the_same_event_id(
    pending: World,
) -> None:
    pending.complete_steps(len(PIPELINE) - 1)
    pending.deliver(FINALIZER)
    # The crash came after the publish, before the job recorded it.
    mutate_job(pending.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: setattr(j, "announced", None))
    pending.deliver(FINALIZER)
    pending.deliver(FINALIZER)
    first, again = [e for e in pending.publisher.events if isinstance(e, JobOutcome)]
    assert first.event_id == again.event_id


def test_a_failure_is_announced_once_however_often_it_is_made(pending: World) -> None:
    failer = JobFailer(pending.jobs, pending.manifests, pending.publisher)
    error = JobError(type=ErrorType.UNKNOWN, message="boom", step=PIPELINE[0].name)
    for _ in range(3):
        failer.fail(pending.record(), error)
    failed = [e for e in pending.publisher.events if isinstance(e, JobOutcome)]
    assert [(e.detail_type, e.status) for e in failed] == [("JobFailed", "failed")]


def test_each_run_has_its_own_outcome_event_id(pending: World) -> None:
    failer = JobFailer(pending.jobs, pending.manifests, pending.publisher)
    error = JobError(type=ErrorType.UNKNOWN, message="boom", step=PIPELINE[0].name)
    failer.fail(pending.record(), error)
    mutate_job(pending.jobs, KEYS.tenant_id, KEYS.job_id, lambda j: j.retry())
    failer.fail(pending.record(), error)
    first, second = [e for e in pending.publisher.events if isinstance(e, JobOutcome)]
    assert (first.run, second.run) == (1, 2) and first.event_id != second.event_id


def runner_with(world: World, body: Any) -> StepRunner:
    return StepRunner(
        step_named("transcription"),
        body,
        world.jobs,
        world.manifests,
        world.storage,
        world.publisher,
    )


def test_a_second_delivery_while_the_step_runs_does_not_run_it_too(transcribing: World) -> None:
    """SQS delivers at least once: a duplicate that arrives while the step runs
    under another delivery finds it claimed and changes nothing."""
    ran: list[str] = []

    def body(context: StepContext) -> StepOutcome:
        ran.append("body")
        if len(ran) == 1:  # the duplicate arrives mid-step
            runner_with(transcribing, body).process(event_of("AudioExtracted"), lambda: 600.0)
        return StepOutcome("completed", "done")

    before = transcribing.record().steps["transcription"].attempts
    runner_with(transcribing, body).process(event_of("AudioExtracted"), lambda: 600.0)
    state = transcribing.record().steps["transcription"]
    assert ran == ["body"]
    assert (state.status, state.attempts, state.claimed_until) == ("completed", before + 1, None)
    assert [e.detail_type for e in transcribing.publisher.events] == ["TranscriptReady"]


def test_a_claim_left_by_an_invocation_that_died_ends_with_its_time(transcribing: World) -> None:
    def died(job: JobRecord) -> None:
        job.start_step("transcription", NOW, claim_until="2026-01-01T00:15:00.000Z")

    mutate_job(transcribing.jobs, KEYS.tenant_id, KEYS.job_id, died)
    before = transcribing.record().steps["transcription"].attempts
    transcribing.deliver(step_named("transcription"))  # redelivered long after
    state = transcribing.record().steps["transcription"]
    assert transcribing.ran == ["transcription"]
    assert (state.status, state.attempts) == ("completed", before + 1)


@pytest.mark.parametrize("raised", [DependencyUnavailable("throttled"), OSError("disk full")])
def test_a_delivery_that_stops_short_of_recording_leaves_the_step_unclaimed(
    transcribing: World, raised: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retryable error, or a failure after the body (here: the manifest
    write), leaves the step for the next delivery to run at once."""
    if isinstance(raised, DependencyUnavailable):

        def body(context: StepContext) -> StepOutcome:
            raise raised

    else:
        body = transcribing.body

        def broken_update(*args: Any) -> Manifest:
            raise raised

        monkeypatch.setattr(transcribing.manifests, "update", broken_update)
    with pytest.raises(type(raised)):
        runner_with(transcribing, body).process(event_of("AudioExtracted"), lambda: 600.0)
    state = transcribing.record().steps["transcription"]
    assert (state.status, state.claimed_until) == ("running", None)
