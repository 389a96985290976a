"""Creating, starting, cancelling and retrying jobs: the control plane's
commands, free of HTTP and AWS (reading them: job_queries.py).

Write order on create, and why a crash never shows a half-created job:

1. ``manifest.json`` is created (create-only write).
2. The job record is put with ``attribute_not_exists`` - the single arbiter of
   "who created this job": of any number of simultaneous creates, exactly one
   wins it.
3. ``JobCreated`` is published.

Reads go through the record first, so a job is visible only once its manifest
exists. A crash after 1 leaves an orphan manifest that no read can reach; a
retry of the same create adopts it (rewriting it with its own content). A
crash after 2 leaves a pending job whose ``JobCreated`` may never have gone
out; a retry of the create answers 409 and, if the job is still pending well
after its creation, re-publishes it (consumers are idempotent, so a duplicate
is harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from talkavocado.domain.events import JobCreated, JobOutcome, event_for
from talkavocado.domain.jobs import (
    DONE_STEP_STATUSES,
    TERMINAL_STATUSES,
    JobRecord,
    StartedBy,
)
from talkavocado.domain.keys import (
    Env,
    JobKeys,
    new_job_id,
    parse_job_id,
    parse_tenant_id,
    safe_filename,
)
from talkavocado.domain.manifest import InputSection, Manifest
from talkavocado.domain.pipeline import STEP_NAMES, step_named
from talkavocado.domain.plans import CutSettings
from talkavocado.errors import (
    ConcurrentUpdate,
    InputNotUploaded,
    InvalidKey,
    InvalidTransition,
    JobAlreadyExists,
    JobDataMissing,
    JobNotFound,
    StorageObjectMissing,
    ValidationFailed,
)
from talkavocado.ports import EventPublisher, JobRepository, Storage, UploadTarget
from talkavocado.services.announce import Announcer
from talkavocado.services.job_queries import existing
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import JobMovedOn, change_status, mutate_job
from talkavocado.support.clock import now_iso, parse_time
from talkavocado.support.observability import bind_job, logger

# A job still pending this long after its start was accepted (no step has
# started) is taken to have lost its JobCreated.
REPUBLISH_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class InputSpec:
    original_filename: str
    bytes: int
    mime_type: str


@dataclass(frozen=True)
class CreateJob:
    tenant_id: str
    correlation_id: str
    job_id: str | None = None
    input: InputSpec | None = None
    settings: CutSettings | None = None  # the planner's, for this job, and its review


@dataclass(frozen=True)
class CreatedJob:
    record: JobRecord
    upload: UploadTarget | None  # where to PUT the input, when it is not stored yet


@dataclass(frozen=True)
class JobSettings:
    """What the job use cases are configured by (the composition root reads them)."""

    env: Env
    start_on_create: bool
    max_upload_bytes: int
    upload_window_seconds: int


class JobService:
    def __init__(
        self,
        settings: JobSettings,
        jobs: JobRepository,
        storage: Storage,
        publisher: EventPublisher,
    ) -> None:
        self._settings = settings
        self._jobs = jobs
        self._storage = storage
        self._manifests = ManifestStore(storage)
        self._publisher = publisher
        self._announcer = Announcer(jobs, publisher)

    def create_job(self, command: CreateJob) -> CreatedJob:
        tenant_id = parse_tenant_id(command.tenant_id)
        job_id = parse_job_id(command.job_id) if command.job_id else new_job_id()
        bind_job(tenant_id=tenant_id, job_id=job_id)
        keys = JobKeys(self._settings.env, tenant_id, job_id)
        manifest = self._initial_manifest(keys, command)
        source_version = self._stored_version(keys, keys.input)
        input_ready = source_version is not None
        starts_now = self._settings.start_on_create and input_ready
        record = JobRecord.for_job(
            keys,
            correlation_id=command.correlation_id,
            now=manifest.created_at,
            source_key=keys.input,
            started_at=manifest.created_at if starts_now else None,
            source_version=source_version if starts_now else None,
            settings=command.settings,
        )

        adopted_orphan = False
        try:
            self._manifests.create(keys, manifest)
        except ConcurrentUpdate:
            self._refuse_if_exists(tenant_id, job_id)
            if self._storage.exists(keys, keys.input):
                # Not a create a crash interrupted (its client had no upload
                # target yet): files of an earlier job under this id.
                raise JobAlreadyExists(
                    "this jobId was used before and its files are still stored; choose another"
                ) from None
            adopted_orphan = True
        try:
            self._jobs.create(record)
        except JobAlreadyExists:
            self._refuse_if_exists(tenant_id, job_id)
            raise
        if adopted_orphan:
            self._manifests.replace(keys, manifest, self._manifests.current_version(keys))
        logger.info("job created", extra={"status": record.status, "adopted": adopted_orphan})

        if not input_ready:
            declared = command.input
            upload = self._storage.upload_target(
                keys,
                keys.input,
                declared.mime_type if declared else None,
                declared.bytes if declared else self._settings.max_upload_bytes,
                self._settings.upload_window_seconds,
            )
            return CreatedJob(record, upload)
        if record.started_at is not None:
            self._publish_created(record)
        return CreatedJob(record, None)

    def start_job(self, tenant_id: str, job_id: str, by: StartedBy = "call") -> JobRecord:
        """Start a pending job whose input is stored (POST /jobs/{jobId}/start,
        or the upload's object-created event): once, whichever asks first.
        Asking again answers the job as it is until it has finished."""
        record = existing(self._jobs, tenant_id, job_id)
        if record.status in TERMINAL_STATUSES:
            raise InvalidTransition(f"the job has already {record.status}", job=record.pointer)
        if record.started_at is not None or record.status != "pending":
            if self._looks_abandoned(record):  # started, but its JobCreated was lost
                self._publish_created(record)
            return record
        keys = JobKeys(record.env, record.tenant_id, record.job_id)
        version = self._stored_version(keys, record.source_key) if record.source_key else None
        if record.source_key is not None and version is None:
            raise InputNotUploaded(
                "the input file has not been uploaded yet", key=record.source_key
            )
        now = now_iso()
        try:
            record = mutate_job(
                self._jobs,
                record.tenant_id,
                record.job_id,
                lambda job: job.mark_started(now, version, by),
                known=record,
            )
        except InvalidTransition:  # the other way of starting it won the race
            return existing(self._jobs, tenant_id, job_id)
        self._publish_created(record)
        logger.info("job started")
        return record

    def start_stored_input(self, key: str) -> JobRecord | None:
        """Start the job whose input ``key`` was just stored (the storage's
        object-created event): the same start as POST /start, once however
        the two meet. Anything else is logged and changes nothing."""
        try:
            keys = JobKeys.owning(key)
        except InvalidKey:
            keys = None
        if keys is None or keys.env != self._settings.env or key != keys.input:
            logger.warning("stored object is no job's input; ignored", extra={"key": key[:300]})
            return None
        try:  # start_job itself starts a job once, and answers a started one as it is
            return self.start_job(keys.tenant_id, keys.job_id, by="upload")
        except (JobNotFound, InvalidTransition, InputNotUploaded) as refused:
            logger.info("job not started by its upload", extra={"reason": refused.message})
            return None

    def cancel_job(self, tenant_id: str, job_id: str) -> JobRecord:
        """Stop a pending or processing job (POST /jobs/{jobId}/cancel); asking
        again is harmless. The record decides, the manifest follows it (also
        when the job finished meanwhile)."""
        record = existing(self._jobs, tenant_id, job_id)
        keys = JobKeys(record.env, record.tenant_id, record.job_id)
        if record.status == "cancelled":  # asked again: announce it if a crash did not
            self._announce(record, self._manifests.load(keys)[0], "JobCancelled")
            return record
        if record.status not in ("pending", "processing", "awaiting-review"):
            raise InvalidTransition(f"the job has already {record.status}", job=record.pointer)
        self._require_manifest(keys)
        try:
            record, manifest = change_status(
                self._jobs, self._manifests, keys, lambda job: job.cancel()
            )
        except JobMovedOn as moved:
            if moved.record.status != "cancelled":
                raise
            record, manifest = moved.record, moved.manifest
        logger.info("job cancelled")
        self._announce(record, manifest, "JobCancelled")
        return record

    def _announce(self, record: JobRecord, manifest: Manifest, detail_type: str) -> None:
        outcome = event_for(detail_type, record, manifest)
        assert isinstance(outcome, JobOutcome)
        self._announcer.announce(outcome, record)

    def retry_job(self, tenant_id: str, job_id: str, from_start: bool = False) -> JobRecord:
        """Run a failed job again as run + 1 (POST /jobs/{jobId}/retry): from
        the step that failed, reusing the earlier steps' artifacts while they
        are all stored (else from the first step whose artifacts are gone), or
        from its first step when asked. The record, then the manifest, then the
        event of the step it resumes at; asked again after a crash
        before the event, it publishes the event."""
        record = existing(self._jobs, tenant_id, job_id)
        keys = JobKeys(record.env, record.tenant_id, record.job_id)
        if record.retry_unannounced:
            self._announce_resume(record, keys)
            return record
        if record.status != "failed":
            raise InvalidTransition(
                f"only a failed job can be retried; this one is {record.status}",
                job=record.pointer,
            )
        if not self._input_ready(record):
            raise InputNotUploaded("the input file is no longer stored", key=record.source_key)
        self._require_manifest(keys)
        resume_at = STEP_NAMES[0] if from_start else self._resume_point(record, keys)
        record, manifest = change_status(
            self._jobs, self._manifests, keys, lambda job: job.retry(resume_at)
        )
        self._publisher.publish(event_for(step_named(resume_at).consumes, record, manifest))
        logger.info("job retried", extra={"run": record.run, "resumeAt": resume_at})
        return record

    def _resume_point(self, record: JobRecord, keys: JobKeys) -> str:
        """The failed step, or the first earlier one whose artifacts are gone."""
        failed = record.error.step if record.error and record.error.step in STEP_NAMES else None
        for name in STEP_NAMES:
            if name == failed or record.steps[name].status not in DONE_STEP_STATUSES:
                return name
            if not all(
                self._storage.exists(keys, key) for key in keys.outputs_of(step_named(name))
            ):
                logger.info("artifacts of an earlier step are gone", extra={"resumeAt": name})
                return name
        return STEP_NAMES[0]

    def _announce_resume(self, record: JobRecord, keys: JobKeys) -> None:
        manifest, _ = self._manifests.load(keys)
        self._publisher.publish(
            event_for(step_named(record.resume_step).consumes, record, manifest)
        )

    def _require_manifest(self, keys: JobKeys) -> None:
        """A change is projected onto the manifest: refuse it, unmade, when
        the manifest is gone (the job can no longer be read either)."""
        if not self._storage.exists(keys, keys.manifest):
            logger.error("the job's manifest is missing", extra={"key": keys.manifest})
            raise JobDataMissing(
                "the job's stored documents are missing; it can no longer be changed",
                jobId=keys.job_id,
            )

    def _stored_version(self, keys: JobKeys, key: str) -> str | None:
        """The input's version now stored, or None while it is not uploaded."""
        try:
            return self._storage.stored_version(keys, key)
        except StorageObjectMissing:
            return None

    def _input_ready(self, record: JobRecord) -> bool:
        """True when the job declared no input, or its input file is stored."""
        if record.source_key is None:
            return True
        keys = JobKeys(record.env, record.tenant_id, record.job_id)
        return self._storage.exists(keys, record.source_key)

    def _initial_manifest(self, keys: JobKeys, command: CreateJob) -> Manifest:
        source: InputSection | None = None
        if command.input is not None:
            limit = self._settings.max_upload_bytes
            if command.input.bytes > limit:
                raise ValidationFailed(
                    f"input.bytes is over this deployment's upload limit of {limit} bytes",
                    field="input.bytes",
                )
            filename = safe_filename(command.input.original_filename)
            source = InputSection(
                source_key=keys.input,
                original_filename=filename,
                bytes=command.input.bytes,
                mime_type=command.input.mime_type,
            )
        return Manifest.for_job(
            keys,
            correlation_id=command.correlation_id,
            source_video_key=keys.input,
            input=source,
        )

    def _refuse_if_exists(self, tenant_id: str, job_id: str) -> None:
        existing = self._jobs.get(tenant_id, job_id)
        if existing is None:
            return
        if self._looks_abandoned(existing):
            logger.warning("re-publishing JobCreated of a job whose create did not finish")
            self._publish_created(existing)
        raise JobAlreadyExists("a job with this jobId already exists", job=existing.pointer)

    def _looks_abandoned(self, record: JobRecord) -> bool:
        """Started a while ago and still pending: its JobCreated was lost."""
        if record.started_at is None or record.status != "pending":
            return False  # not started yet: waiting for its upload or its start call
        return datetime.now(UTC) - parse_time(record.started_at) > REPUBLISH_AFTER

    def _publish_created(self, record: JobRecord) -> None:
        self._publisher.publish(
            JobCreated(
                env=record.env,
                tenant_id=record.tenant_id,
                job_id=record.job_id,
                correlation_id=record.correlation_id,
                run=record.run,
                manifest_key=record.manifest_key,
                source_key=record.source_key,
            )
        )
