"""Local-filesystem specifics; the storage contract itself is tested on every
backend in tests/integration/test_storage_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.domain.keys import JobKeys
from talkavocado.errors import InvalidKey

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
OTHER = "0b6c0a57-0f4e-4a43-9a55-6d1f0f7b2c11"
KEYS = JobKeys("test", "tenant-a", JOB)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path)


def test_files_land_at_the_canonical_path(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put(KEYS, KEYS.manifest, b"x")
    assert (tmp_path / "test" / "tenant-a" / JOB / "manifest.json").read_bytes() == b"x"


def test_no_temporary_file_is_left_behind(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put(KEYS, KEYS.manifest, b"one")
    storage.put(KEYS, KEYS.manifest, b"two")
    assert [p.name for p in (tmp_path / KEYS.prefix).iterdir()] == ["manifest.json"]


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


def test_a_restart_drops_the_claims_of_running_steps_as_the_record_stores_them() -> None:
    from talkavocado.adapters.dynamodb_support import attributes, plain
    from talkavocado.domain.jobs import JobRecord
    from talkavocado.domain.keys import JobKeys
    from talkavocado_local.state import _unclaimed

    keys = JobKeys("dev", "tenant-a", "5c33b614-0e80-4922-90af-b65e29412c16")
    record = JobRecord.for_job(keys, correlation_id="c")
    record.start_step("transcription", "2026-03-14T09:40:00.000Z", "2026-03-14T09:55:00.000Z")
    row = attributes(record.to_item())
    restored = JobRecord.model_validate(plain(_unclaimed(row)))
    assert record.steps["transcription"].claimed_until is not None
    assert restored.steps["transcription"].status == "running"
    assert restored.steps["transcription"].claimed_until is None
