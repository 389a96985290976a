from __future__ import annotations

from pathlib import Path

import pytest

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.errors import ConcurrentUpdate, InvalidKey, StorageObjectMissing
from talkavocado.keys import JobKeys

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
OTHER = "0b6c0a57-0f4e-4a43-9a55-6d1f0f7b2c11"
KEYS = JobKeys("test", "tenant-a", JOB)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path)


def test_written_object_reads_back_with_its_version(storage: LocalStorage) -> None:
    version = storage.put(KEYS, KEYS.manifest, b"{}")
    stored = storage.get(KEYS, KEYS.manifest)
    assert (stored.data, stored.version) == (b"{}", version)
    assert storage.exists(KEYS, KEYS.manifest)


def test_missing_object_is_reported(storage: LocalStorage) -> None:
    with pytest.raises(StorageObjectMissing):
        storage.get(KEYS, KEYS.manifest)
    assert not storage.exists(KEYS, KEYS.manifest)


def test_files_land_at_the_canonical_path(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put(KEYS, KEYS.manifest, b"x")
    assert (tmp_path / "test" / "tenant-a" / JOB / "manifest.json").read_bytes() == b"x"


def test_no_temporary_file_is_left_behind(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put(KEYS, KEYS.manifest, b"one")
    storage.put(KEYS, KEYS.manifest, b"two")
    assert [p.name for p in (tmp_path / KEYS.prefix).iterdir()] == ["manifest.json"]


def test_create_only_write_refuses_an_existing_object(storage: LocalStorage) -> None:
    storage.put(KEYS, KEYS.manifest, b"first", if_none_match=True)
    with pytest.raises(ConcurrentUpdate):
        storage.put(KEYS, KEYS.manifest, b"second", if_none_match=True)
    assert storage.get(KEYS, KEYS.manifest).data == b"first"


def test_conditional_write_refuses_a_stale_version(storage: LocalStorage) -> None:
    old = storage.put(KEYS, KEYS.manifest, b"v1")
    storage.put(KEYS, KEYS.manifest, b"v2", if_match=old)
    with pytest.raises(ConcurrentUpdate):
        storage.put(KEYS, KEYS.manifest, b"v3", if_match=old)
    assert storage.get(KEYS, KEYS.manifest).data == b"v2"


def test_another_jobs_key_is_refused(storage: LocalStorage) -> None:
    other = JobKeys("test", "tenant-b", JOB)
    with pytest.raises(InvalidKey):
        storage.get(KEYS, other.manifest)
    with pytest.raises(InvalidKey):
        storage.put(KEYS, JobKeys("test", "tenant-a", OTHER).manifest, b"x")


def test_a_symlink_out_of_the_job_directory_is_refused(
    storage: LocalStorage, tmp_path: Path
) -> None:
    secret = tmp_path / "test" / "tenant-b" / OTHER
    secret.mkdir(parents=True)
    (secret / "manifest.json").write_text("tenant b's data")
    job_dir = tmp_path / KEYS.prefix
    job_dir.mkdir(parents=True)
    (job_dir / "input").symlink_to(secret)
    with pytest.raises(InvalidKey):
        storage.get(KEYS, KEYS.prefix + "input/manifest.json")
