"""Versioned manifest reads and writes over the storage port."""

from __future__ import annotations

from collections.abc import Callable

from talkavocado.domain.errors import StorageObjectMissing
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import SCHEMA_VERSION, Manifest, decode, encode
from talkavocado.ports import Storage
from talkavocado.support.clock import now_iso
from talkavocado.support.retry import retry_on_conflict


class ManifestStore:
    """Versioned manifest reads and writes over a :class:`Storage`."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def create(self, keys: JobKeys, manifest: Manifest) -> str:
        """Write the first version; raises ``ConcurrentUpdate`` if one exists."""
        return self._storage.put(keys, keys.manifest, encode(manifest), if_none_match=True)

    def load(self, keys: JobKeys) -> tuple[Manifest, str]:
        stored = self._storage.get(keys, keys.manifest)
        return decode(stored.data), stored.version

    def current_version(self, keys: JobKeys) -> str:
        """The stored version, without parsing (the document may be damaged)."""
        return self._storage.get(keys, keys.manifest).version

    def replace(self, keys: JobKeys, manifest: Manifest, expected_version: str) -> str:
        manifest.updated_at = now_iso()
        manifest.schema_version = SCHEMA_VERSION  # written by this code: the current shape
        return self._storage.put(keys, keys.manifest, encode(manifest), if_match=expected_version)

    def update(self, keys: JobKeys, mutate: Callable[[Manifest], None]) -> Manifest:
        """Read, apply ``mutate``, write back if the version is unchanged;
        on a lost race, re-read and re-apply (``mutate`` must be repeatable)."""

        def attempt() -> Manifest:
            manifest, version = self.load(keys)
            mutate(manifest)
            self.replace(keys, manifest, version)
            return manifest

        return retry_on_conflict(attempt, f"manifest {keys.manifest}")

    def project(
        self, keys: JobKeys, record: JobRecord, note: Callable[[Manifest], None] | None = None
    ) -> Manifest:
        """The one writer of the manifest's status: a copy of the record's,
        which is the truth (with ``note``, in the same write). A failed job's
        missing manifest is not made up: the failure is answered as it is."""

        def mark(manifest: Manifest) -> None:
            manifest.status = record.status
            if note is not None:
                note(manifest)

        try:
            return self.update(keys, mark)
        except StorageObjectMissing:
            if record.status != "failed":
                raise
            unsaved = Manifest.for_job(keys, status="failed")
            if note is not None:
                note(unsaved)
            return unsaved
