"""One contract, two backends: the local filesystem and S3 (the embedded
emulator over HTTP, whose requests are atomic as S3's are)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.adapters.s3_storage import S3Storage
from talkavocado.domain.errors import ConcurrentUpdate, InvalidKey, StorageObjectMissing
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import LogEntry, Manifest
from talkavocado.ports import Storage
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.support.clock import now_iso
from talkavocado_local.emulator import Emulator

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
KEYS = JobKeys("test", "tenant-a", JOB)
BUCKET = "talkavocado-test-media"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = Emulator(port=0).start()
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path)
    endpoint = request.getfixturevalue("emulator")
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    bucket = f"{BUCKET}-{tmp_path.name.lower().replace('_', '-')}"[:63]
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return S3Storage(bucket, client)


def test_a_written_object_reads_back_with_its_version(storage: Storage) -> None:
    version = storage.put(KEYS, KEYS.manifest, b"{}")
    stored = storage.get(KEYS, KEYS.manifest)
    assert (stored.data, stored.version) == (b"{}", version)
    assert storage.exists(KEYS, KEYS.manifest)


def test_a_missing_object_is_reported(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(StorageObjectMissing):
        storage.get(KEYS, KEYS.manifest)
    with pytest.raises(StorageObjectMissing):
        storage.fetch(KEYS, KEYS.audio, tmp_path)
    assert not storage.exists(KEYS, KEYS.manifest)


def test_create_only_refuses_an_existing_object(storage: Storage) -> None:
    storage.put(KEYS, KEYS.manifest, b"first", if_none_match=True)
    with pytest.raises(ConcurrentUpdate):
        storage.put(KEYS, KEYS.manifest, b"second", if_none_match=True)
    assert storage.get(KEYS, KEYS.manifest).data == b"first"


def test_a_stale_version_is_refused(storage: Storage) -> None:
    old = storage.put(KEYS, KEYS.manifest, b"v1")
    storage.put(KEYS, KEYS.manifest, b"v2", if_match=old)
    with pytest.raises(ConcurrentUpdate):
        storage.put(KEYS, KEYS.manifest, b"v3", if_match=old)
    assert storage.get(KEYS, KEYS.manifest).data == b"v2"


def test_keys_of_another_job_are_refused(storage: Storage) -> None:
    with pytest.raises(InvalidKey):
        storage.get(KEYS, JobKeys("test", "tenant-b", JOB).manifest)
    with pytest.raises(InvalidKey):
        storage.put(KEYS, f"test/tenant-a/{JOB}/../x/manifest.json", b"x")


def test_files_go_up_and_come_back(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "video.mp4"
    source.write_bytes(b"\x00video" * 1000)
    storage.upload(KEYS, KEYS.input, source)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    fetched = storage.fetch(KEYS, KEYS.input, scratch)
    assert fetched.read_bytes() == source.read_bytes()


def test_concurrent_manifest_updates_are_never_lost(storage: Storage) -> None:
    store = ManifestStore(storage)
    store.create(KEYS, Manifest.for_job(KEYS))

    def add_log(index: int) -> None:
        store.update(
            KEYS,
            lambda m: m.logs.append(
                LogEntry(type="debug", created_at=now_iso(), message=f"writer {index}")
            ),
        )

    threads = [threading.Thread(target=add_log, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = sorted(entry.message or "" for entry in store.load(KEYS)[0].logs)
    assert messages == sorted(f"writer {i}" for i in range(8))


def test_an_input_read_at_its_start_version_never_reads_a_replacement(
    storage: Storage, tmp_path: Path
) -> None:
    """S3 reads the version stored at start; a local file replaced since then
    is reported missing (the upload route refuses replacing it anyway)."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"the input as uploaded")
    second.write_bytes(b"a replacement, uploaded after the start")
    storage.upload(KEYS, KEYS.input, first)
    started = storage.stored_version(KEYS, KEYS.input)
    storage.upload(KEYS, KEYS.input, second)
    assert storage.stored_version(KEYS, KEYS.input) != started
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    if isinstance(storage, S3Storage):
        read = storage.fetch(KEYS, KEYS.input, scratch, started)
        assert read.read_bytes() == first.read_bytes()
    else:
        with pytest.raises(StorageObjectMissing, match="replaced"):
            storage.fetch(KEYS, KEYS.input, scratch, started)


def test_the_version_of_a_missing_object_is_reported_missing(storage: Storage) -> None:
    with pytest.raises(StorageObjectMissing):
        storage.stored_version(KEYS, KEYS.input)
