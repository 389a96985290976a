"""The whole pipeline with media in S3 (the emulator's bucket from
template.yaml), as deployed on AWS."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkavocado import wiring
from talkavocado.adapters.s3_storage import S3Storage
from talkavocado.domain.keys import JobKeys
from talkavocado_local.runtime import LocalRuntime
from tests.conftest import TEMPLATE


@pytest.fixture
def s3_stack(tmp_path: Path) -> Iterator[LocalRuntime]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.setenv("TALKAVOCADO_ENV", "test")
        env.setenv("STORAGE_BACKEND", "s3")
        env.setenv("MEDIA_STORAGE_PATH", str(tmp_path / "unused"))
        runtime = LocalRuntime(TEMPLATE, api_port=0, emulator_port=0).start()
        try:
            yield runtime
        finally:
            runtime.stop()


def call(url: str, body: object = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


def test_a_job_completes_with_its_media_in_the_bucket(
    s3_stack: LocalRuntime, media_dir: Path
) -> None:
    storage = wiring.storage()
    assert isinstance(storage, S3Storage)
    assert not (Path(wiring.settings().storage_path)).exists()
    assert s3_stack.api is not None
    tenant, job_id = "s3-tenant", str(uuid.uuid4())
    keys = JobKeys("test", tenant, job_id)
    clip = media_dir / "tone.mp4"
    storage.upload(keys, keys.input, clip)
    call(
        f"{s3_stack.api.url}/jobs",
        {
            "tenantId": tenant,
            "jobId": job_id,
            "input": {
                "originalFilename": clip.name,
                "bytes": clip.stat().st_size,
                "mimeType": "video/mp4",
            },
        },
    )
    for _ in range(300):
        job = call(f"{s3_stack.api.url}/jobs/{job_id}?tenantId={tenant}")
        if job["status"] in ("completed", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "completed", job.get("error")
    for key in (keys.manifest, keys.audio, keys.cut_plan, keys.base_cuts_render):
        assert storage.exists(keys, key), key
    assert not Path(wiring.settings().storage_path).exists()  # nothing written locally
