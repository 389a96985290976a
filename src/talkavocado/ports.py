"""The interfaces the domain needs from the outside world. Adapters implement
them over AWS or the filesystem; unit tests implement them in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from talkavocado.events import PipelineEvent
    from talkavocado.jobs import JobRecord
    from talkavocado.keys import JobKeys


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    version: str


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


class JobRepository(Protocol):
    def create(self, record: JobRecord) -> None:
        """Conditional put; raise ``JobAlreadyExists`` if the job exists."""
        ...

    def get(self, tenant_id: str, job_id: str) -> JobRecord | None: ...

    def update(
        self,
        record: JobRecord,
        *,
        expected_statuses: Sequence[str] | None,
        changes: dict[str, Any],
    ) -> JobRecord:
        """Apply ``changes`` (attribute name -> value) and bump ``version`` and
        ``updatedAt``, if the job exists and, unless ``expected_statuses`` is
        None, its stored status is one of them; raise ``InvalidTransition``
        otherwise."""
        ...

    def list_jobs(
        self, tenant_id: str, *, status: str | None = None, limit: int = 50
    ) -> list[JobRecord]:
        """Newest first."""
        ...


class EventPublisher(Protocol):
    def publish(self, event: PipelineEvent) -> None: ...
