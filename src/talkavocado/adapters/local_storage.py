"""Filesystem storage under MEDIA_STORAGE_PATH, with the same keys as S3.

Writes go to a temporary file in the target directory and are renamed into
place, so a reader never sees half a file. Conditional writes hold an
exclusive lock on the directory while they compare versions and rename, which
makes create-only and compare-and-swap atomic across threads and processes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from talkavocado.adapters.upload_policy import UploadSigner
from talkavocado.domain.keys import JobKeys
from talkavocado.errors import ConcurrentUpdate, InvalidKey, StorageObjectMissing
from talkavocado.ports import StoredObject, UploadTarget

_COPY_CHUNK = 1024 * 1024


def _version_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class LocalStorage:
    def __init__(self, root: Path, uploads: UploadSigner | None = None) -> None:
        self._root = root.resolve()
        self._uploads = uploads

    def path_of(self, job: JobKeys, key: str) -> Path:
        """The file for ``key``, refusing anything that resolves (through
        ``..`` or a symlink) outside the job's own directory."""
        job.check(key)
        job_dir = self._root / job.prefix  # the root is resolved: a symlinked job dir fails too
        path = (self._root / key).resolve()
        if not path.is_relative_to(job_dir) or path == job_dir:
            raise InvalidKey(f"key {key!r} resolves outside its job directory")
        return path

    def get(self, job: JobKeys, key: str) -> StoredObject:
        try:
            data = self.path_of(job, key).read_bytes()
        except FileNotFoundError:
            raise StorageObjectMissing(f"{key} does not exist", key=key) from None
        return StoredObject(data=data, version=_version_of(data))

    def exists(self, job: JobKeys, key: str) -> bool:
        return self.path_of(job, key).is_file()

    def stored_version(self, job: JobKeys, key: str) -> str:
        """Modification time and size: an atomic replace changes both."""
        try:
            stat = self.path_of(job, key).stat()
        except FileNotFoundError:
            raise StorageObjectMissing(f"{key} does not exist", key=key) from None
        return f"{stat.st_mtime_ns}-{stat.st_size}"

    def put(
        self,
        job: JobKeys,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        path = self.path_of(job, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.parent):
            if if_none_match and path.exists():
                raise ConcurrentUpdate(f"{key} already exists", key=key)
            if if_match is not None:
                current = _version_of(path.read_bytes()) if path.exists() else None
                if current != if_match:
                    raise ConcurrentUpdate(f"{key} changed since it was read", key=key)
            self._write_atomically(path, lambda out: out.write(data))
        return _version_of(data)

    def fetch(self, job: JobKeys, key: str, into: Path, version: str | None = None) -> Path:
        path = self.path_of(job, key)
        if not path.is_file():
            raise StorageObjectMissing(f"{key} does not exist", key=key)
        if version is not None and self.stored_version(job, key) != version:
            raise StorageObjectMissing(f"{key} was replaced after the job started", key=key)
        return path

    def upload(self, job: JobKeys, key: str, source: Path) -> None:
        path = self.path_of(job, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as origin:
            self._write_atomically(path, lambda out: shutil.copyfileobj(origin, out, _COPY_CHUNK))

    def upload_target(
        self, job: JobKeys, key: str, content_type: str | None, max_bytes: int, expires_in: int
    ) -> UploadTarget | None:
        if self._uploads is None:
            return None
        return self._uploads.target(job.check(key), content_type, max_bytes, expires_in)

    def download_url(self, job: JobKeys, key: str, expires_in: int) -> str | None:
        if self._uploads is None:
            return None
        return self._uploads.download_url(job.check(key), expires_in)

    def download_origin(self) -> str | None:
        return self._uploads.origin if self._uploads is not None else None

    @staticmethod
    def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
