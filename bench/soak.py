"""Soak: many real jobs through the local stack over HTTP, with forged and
duplicated pipeline events thrown at it and a restart in the middle (a clean
stop with a short grace, so running steps are interrupted), then a wait until
every job has ended. It reports how many completed, and fails if any job was
lost or failed.

``SOAK_JOBS`` (default 200) sets the number of jobs; ``make soak`` runs it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import boto3

from talkavocado.domain.pipeline import PIPELINE
from talkavocado.support.observability import logger
from talkavocado_local.run import upload_file
from talkavocado_local.runtime import LocalRuntime

REPO = Path(__file__).resolve().parents[1]
JOBS = int(os.environ.get("SOAK_JOBS", "200"))
CLIP = REPO / "tests" / "fixtures" / "sample_talk.mp4"
TENANTS = [f"soak-{index}" for index in range(10)]


def call(api: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the local stack on loopback
        api + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return json.loads(response.read() or b"null")


def submit(api: str, tenant: str, clip: Path) -> str:
    source = {"originalFilename": clip.name, "bytes": clip.stat().st_size, "mimeType": "video/mp4"}
    created = call(api, "POST", "/jobs", {"tenantId": tenant, "input": source})
    assert upload_file(created["upload"], clip) == 204
    call(api, "POST", f"/jobs/{created['jobId']}/start?tenantId={tenant}")
    return str(created["jobId"])


def forge(jobs: list[tuple[str, str]], count: int) -> None:
    """Events of every type for real jobs: duplicates, stale runs, out of order."""
    events = boto3.client("events")
    for _ in range(count):
        tenant, job_id = random.choice(jobs)
        step = random.choice(PIPELINE)
        detail = {
            "env": "dev",
            "tenantId": tenant,
            "jobId": job_id,
            "correlationId": "soak-forged",
            "run": random.choice([1, 1, 2]),
            "manifestKey": f"dev/{tenant}/{job_id}/manifest.json",
        }
        events.put_events(
            Entries=[
                {
                    "Source": "talkavocado.pipeline",
                    "DetailType": step.consumes,
                    "Detail": json.dumps(detail),
                    "EventBusName": "talkavocado-dev",
                }
            ]
        )


def statuses(api: str, jobs: list[tuple[str, str]]) -> Counter[str]:
    return Counter(
        call(api, "GET", f"/jobs/{job_id}?tenantId={tenant}")["status"] for tenant, job_id in jobs
    )


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as storage,
        Path(storage, "soak.log").open("a") as log,
    ):
        os.environ.update({"MEDIA_STORAGE_PATH": storage, "TALKAVOCADO_ENV": "dev"})
        handler = cast(logging.StreamHandler, logger.registered_handler)  # type: ignore[type-arg]
        handler.setStream(log)
        started = time.monotonic()
        runtime = LocalRuntime(api_port=0, emulator_port=0, keep_state=True, grace_seconds=1)
        runtime.start()
        assert runtime.api is not None
        api = runtime.api.url
        with ThreadPoolExecutor(20) as pool:
            jobs = list(
                pool.map(
                    lambda i: (TENANTS[i % 10], submit(api, TENANTS[i % 10], CLIP)), range(JOBS)
                )
            )
        forge(jobs, JOBS)
        time.sleep(10)
        before = statuses(api, jobs)
        runtime.stop()  # mid-work: steps are interrupted, the state is kept
        runtime = LocalRuntime(api_port=0, emulator_port=0, keep_state=True).start()
        assert runtime.api is not None and runtime.restored is not None
        api = runtime.api.url
        print(f"restart with {dict(before)}: {runtime.restored.messages} queued messages restored")
        forge(jobs, JOBS)
        deadline = time.monotonic() + 60 * 60
        while True:
            now = statuses(api, jobs)
            if now["completed"] + now["failed"] + now["cancelled"] == len(jobs):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(5)
        runtime.stop()
        elapsed = time.monotonic() - started
        print(f"{len(jobs)} jobs in {elapsed:.0f} s: {dict(now)}")
        return 0 if now["completed"] == len(jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
