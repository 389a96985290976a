"""The interfaces the domain needs from the outside world. Adapters implement
them over AWS or the filesystem; unit tests implement them in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from talkavocado.domain.events import PipelineEvent
    from talkavocado.domain.jobs import HistoryEntry, JobRecord
    from talkavocado.domain.keys import JobKeys
    from talkavocado.domain.webhooks import Delivery, Webhook, WebhookState
    from talkavocado.media.info import MediaInfo
    from talkavocado.media.timeline import Timeline, TimelineFormat
    from talkavocado.media.transcript import Segment


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    version: str


@dataclass(frozen=True)
class UploadTarget:
    """Where and how a client sends a file: a form POST (S3's presigned POST)
    of every field, then the file as the last field, named ``file``. The
    signed policy pins the key, the content type and the size."""

    url: str
    method: str
    fields: dict[str, str]
    expires_in: int


class Storage(Protocol):
    """Object storage addressed by canonical keys. Every call names the job the
    key must belong to; implementations refuse keys outside its prefix."""

    def get(self, job: JobKeys, key: str) -> StoredObject:
        """Raise ``StorageObjectMissing`` when absent."""
        ...

    def put(
        self,
        job: JobKeys,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Write atomically and return the new version. ``if_none_match``
        creates only; ``if_match`` replaces only that version. A failed
        condition raises ``ConcurrentUpdate``."""
        ...

    def exists(self, job: JobKeys, key: str) -> bool: ...

    def stored_version(self, job: JobKeys, key: str) -> str:
        """The version of the object now stored (S3's version id; locally, a
        stamp of the file). Raise ``StorageObjectMissing`` when absent."""
        ...

    def fetch(self, job: JobKeys, key: str, into: Path, version: str | None = None) -> Path:
        """A local file with the object's content (of ``version`` when given):
        downloaded into the directory ``into`` (the caller's scratch space),
        or on local storage the stored file itself. Raise
        ``StorageObjectMissing`` when absent (or no longer that version)."""
        ...

    def upload(self, job: JobKeys, key: str, source: Path) -> None:
        """Store a local file under ``key`` (streamed, atomic)."""
        ...

    def upload_target(
        self, job: JobKeys, key: str, content_type: str | None, max_bytes: int, expires_in: int
    ) -> UploadTarget | None:
        """Where a client may upload ``key``: that key only, of that content
        type (any, when None), 1 to ``max_bytes`` bytes; None where there is
        no such route."""
        ...

    def download_url(self, job: JobKeys, key: str, expires_in: int) -> str | None:
        """A URL that reads ``key`` (and ranges of it: a player seeks) for
        ``expires_in`` seconds, with no other credential; None where there
        is no such route."""
        ...

    def download_origin(self) -> str | None:
        """The origin (scheme, host, port) that download URLs point to."""
        ...


@dataclass(frozen=True)
class JobQuery:
    """Which of a tenant's jobs to list: by status and creation time (both
    bounds exclusive), a page of ``limit``, after the page ``cursor`` ended."""

    status: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    limit: int = 50
    cursor: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class JobPage:
    records: list[JobRecord]
    cursor: Mapping[str, Any] | None  # where the next page starts; None: this was the last


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    cursor: Mapping[str, Any] | None


class JobRepository(Protocol):
    def create(self, record: JobRecord) -> None:
        """Conditional put, with the record's journal; raise
        ``JobAlreadyExists`` if the job exists."""
        ...

    def get(self, tenant_id: str, job_id: str) -> JobRecord | None: ...

    def save(self, record: JobRecord, *, expected_version: int) -> JobRecord:
        """Replace the record if its stored ``version`` is still
        ``expected_version``; bump ``version`` and ``updatedAt``; its journal
        joins the job's history if and only if the record is written, and
        the record is answered without it. Raise ``ConcurrentUpdate`` if
        another writer got there first (and then add no history)."""
        ...

    def history(
        self, tenant_id: str, job_id: str, limit: int, cursor: Mapping[str, Any] | None
    ) -> HistoryPage:
        """The job's transitions, oldest first, a page of ``limit`` after ``cursor``."""
        ...

    def open_jobs(self, created_before: str) -> Iterator[tuple[str, str]]:
        """(tenant, job id) of every pending or processing job, of every
        tenant, created before ``created_before``: for the deadline sweep
        only, which judges each from its record (a job created before a time
        may have changed since; none changed before it was created)."""
        ...

    def list_jobs(self, tenant_id: str, query: JobQuery) -> JobPage:
        """The tenant's jobs that ``query`` selects, newest first, one page."""
        ...


class EventPublisher(Protocol):
    def publish(self, event: PipelineEvent) -> None: ...


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    cursor: Mapping[str, Any] | None


class WebhookRepository(Protocol):
    """A tenant's webhooks and their delivery records; every call is keyed
    by tenant."""

    def add(self, webhook: Webhook, limit: int) -> None:
        """Raise ``WebhookLimitReached`` when the tenant has ``limit`` already."""
        ...

    def get(self, tenant_id: str, webhook_id: str) -> Webhook | None: ...

    def of_tenant(self, tenant_id: str) -> list[Webhook]: ...

    def remove(self, tenant_id: str, webhook_id: str) -> bool:
        """False when there was no such webhook."""
        ...

    def set_state(
        self, tenant_id: str, webhook_id: str, state: WebhookState, reason: str | None
    ) -> None: ...

    def claim(self, tenant_id: str, webhook_id: str, event_id: str, owner: str) -> bool:
        """True for the first ``owner`` (a message) to claim ``event_id`` for
        the webhook, and again for that owner (its retries); False for every
        other: one notification per event and webhook."""
        ...

    def record(self, tenant_id: str, delivery: Delivery) -> None: ...

    def deliveries(
        self, tenant_id: str, webhook_id: str, limit: int, cursor: Mapping[str, Any] | None
    ) -> DeliveryPage:
        """Newest first."""
        ...


@dataclass(frozen=True)
class HttpResult:
    status: int | None  # None: no answer (refused, timed out, unsafe)
    error: str | None
    duration_ms: float


class WebhookSender(Protocol):
    def check(self, url: str) -> None:
        """Raise ``UnsafeWebhookUrl`` for a URL this deployment must not call."""
        ...

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResult:
        """One POST, no redirects followed, short timeouts, a capped answer."""
        ...


class MessageQueue(Protocol):
    def send(self, body: str) -> None: ...

    def dead_letter(self, body: str) -> None:
        """Park a message that will not be tried again."""
        ...


class MediaTool(Protocol):
    """The media work the steps have done on files (ffmpeg): each call a
    sandboxed process with a timeout, a failure a ``StepFailed``."""

    def probe(self, path: Path, timeout: float, max_pixels: int | None = None) -> MediaInfo:
        """What the file holds (streams, duration, picture), decoding no picture
        larger than ``max_pixels``."""
        ...

    def run(self, argv: list[str], timeout: float) -> str:
        """Run one command (its arguments, after the tool's own), answering its report."""
        ...

    def reported_duration(self, report: str) -> float:
        """The length of what a :meth:`run` wrote, as its report states it."""
        ...

    def stream_duration(self, media: Path, stream: str, fps: float | None, timeout: float) -> float:
        """How long a file's audio (``"a"``) or picture (``"v"``) stream lasts, decoded."""
        ...

    def silences(
        self, audio: Path, noise_db: float, min_duration: float, timeout: float
    ) -> list[tuple[float, float]]:
        """Stretches quieter than ``noise_db`` for at least ``min_duration`` seconds."""
        ...

    def pcm_stream(self, media: Path, sample_rate: int) -> AbstractContextManager[IO[bytes]]:
        """The audio decoded to 16-bit mono PCM, streamed."""
        ...


class TranscriptionEngine(Protocol):
    """Turns a stream of 16-bit mono PCM into timed words."""

    name: str
    model: str
    language: str
    sample_rate: int

    def transcribe(self, pcm: Iterable[bytes]) -> list[Segment]: ...


class FillerSpotter(Protocol):
    """A second look at a short stretch of 16-bit mono PCM: the filler word
    spoken there, if it is one."""

    sample_rate: int

    def spot(self, pcm: bytes) -> str | None: ...


class TimelineWriter(Protocol):
    """An editor's timeline file of a plan's kept segments."""

    def write(self, timeline: Timeline, fmt: TimelineFormat) -> bytes: ...


class Visibility(Protocol):
    """When SQS delivers a message again (a retry's backoff)."""

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None: ...


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Mapping[str, Any]:
        """The claims of a token its issuer signed for this API. Raise
        ``Unauthenticated`` for any other token, ``DependencyUnavailable``
        when the issuer's keys cannot be fetched."""
        ...
