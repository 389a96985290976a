from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import (
    SCHEMA_VERSION,
    AudioSection,
    LogEntry,
    Manifest,
    RenderEntry,
    encode,
    validate_document,
)
from talkavocado.errors import ConcurrentUpdate, SchemaViolation
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.support.clock import now_iso

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
KEYS = JobKeys("test", "demo-tenant", JOB)


def new_manifest() -> Manifest:
    return Manifest.for_job(KEYS)


def document(**overrides: Any) -> dict[str, Any]:
    doc = new_manifest().to_document()
    doc.update(overrides)
    return doc


def test_a_new_manifest_validates_and_states_its_schema_version() -> None:
    doc = new_manifest().to_document()
    validate_document(doc)
    assert doc["schemaVersion"] == SCHEMA_VERSION


def test_a_version_1_0_0_document_is_still_valid() -> None:
    doc = new_manifest().to_document()
    doc["schemaVersion"] = "1.0.0"
    validate_document(doc)
    assert Manifest.model_validate(doc).schema_version == "1.0.0"


def test_a_full_manifest_validates_against_the_schema_file() -> None:
    manifest = new_manifest()
    manifest.audio = AudioSection(
        key=KEYS.audio,
        codec="mp3",
        duration_sec=12.5,
        bitrate_kbps=128,
        sample_rate=44100,
        extracted_at=now_iso(),
    )
    manifest.renders = [
        RenderEntry(key=KEYS.preview_render, type="preview", codec="h264", resolution="640x360")
    ]
    manifest.logs = [LogEntry(type="pipeline", created_at=now_iso(), step="audio-extraction")]
    validate_document(manifest.to_document())


@pytest.mark.parametrize(
    "broken",
    [
        {"status": "done"},
        {"schemaVersion": "2.0.0"},
        {"env": "qa"},
        {"tenantId": "Demo"},
        {"jobId": "x"},
        {"createdAt": "yesterday"},
        {"unexpected": 1},
        {
            "input": {
                "sourceKey": "k",
                "originalFilename": "a.mp4",
                "bytes": -1,
                "mimeType": "video/mp4",
            }
        },
        {
            "input": {
                "sourceKey": "k",
                "originalFilename": "a.txt",
                "bytes": 1,
                "mimeType": "text/plain",
            }
        },
        {"audio": None},
        {"renders": [{"key": "k", "type": "poster", "codec": "h264"}]},
        {"logs": [{"type": "info", "createdAt": "2025-01-01T00:00:00Z"}]},
    ],
)
def test_invalid_documents_are_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(SchemaViolation):
        validate_document(document(**broken))


@pytest.mark.parametrize(
    "field", ["schemaVersion", "env", "tenantId", "jobId", "createdAt", "updatedAt", "status"]
)
def test_required_fields_are_required(field: str) -> None:
    doc = document()
    del doc[field]
    with pytest.raises(SchemaViolation):
        validate_document(doc)


def test_encode_refuses_a_manifest_that_breaks_the_schema() -> None:
    manifest = new_manifest()
    manifest.status = "exploded"  # type: ignore[assignment]  # pydantic does not re-validate
    with pytest.raises(SchemaViolation):
        encode(manifest)


@pytest.fixture
def store(tmp_path: Path) -> ManifestStore:
    return ManifestStore(LocalStorage(tmp_path))


def test_create_is_create_only(store: ManifestStore) -> None:
    store.create(KEYS, new_manifest())
    with pytest.raises(ConcurrentUpdate):
        store.create(KEYS, new_manifest())


def test_every_write_moves_updated_at(store: ManifestStore) -> None:
    first = new_manifest()
    first.updated_at = "2020-01-01T00:00:00.000Z"
    store.create(KEYS, first)
    updated = store.update(KEYS, lambda m: setattr(m, "status", "processing"))
    assert updated.updated_at > "2020-01-01T00:00:00.000Z"
    assert store.load(KEYS)[0].status == "processing"


def test_replace_with_a_stale_version_is_refused(store: ManifestStore) -> None:
    store.create(KEYS, new_manifest())
    manifest, version = store.load(KEYS)
    manifest.status = "processing"
    store.replace(KEYS, manifest, version)
    manifest.status = "cancelled"
    with pytest.raises(ConcurrentUpdate):
        store.replace(KEYS, manifest, version)
    assert store.load(KEYS)[0].status == "processing"


def test_concurrent_updates_are_never_lost(store: ManifestStore) -> None:
    store.create(KEYS, new_manifest())
    writers = 16

    def add_log(index: int) -> None:
        def mutate(manifest: Manifest) -> None:
            manifest.logs.append(
                LogEntry(type="debug", created_at=now_iso(), message=f"writer {index}")
            )

        store.update(KEYS, mutate)

    threads = [threading.Thread(target=add_log, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = sorted(entry.message or "" for entry in store.load(KEYS)[0].logs)
    assert messages == sorted(f"writer {i}" for i in range(writers))
