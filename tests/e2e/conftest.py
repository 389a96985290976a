"""The local stack (`talkavocado up`) started in-process on free ports."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.domain.keys import JobKeys
from talkavocado_local.runtime import LocalRuntime
from tests.conftest import TEMPLATE


def put_event(detail_type: str, detail: dict[str, Any]) -> None:
    """Publish a pipeline event on the test stack's bus, as anyone could locally."""
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": "talkavocado.pipeline",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": "talkavocado-test",
            }
        ]
    )


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Stack:
    runtime: LocalRuntime
    url: str
    storage: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload, response_headers = (
                    response.status,
                    response.read(),
                    response.headers,
                )
        except urllib.error.HTTPError as error:
            status, payload, response_headers = error.code, error.read(), error.headers
        return HttpResponse(
            status=status,
            headers=dict(response_headers.items()),
            body=json.loads(payload) if payload else None,
        )

    def submit(self, tenant: str, source: Path, **extra: Any) -> str:
        """What a client does: the file under the job's input key, then POST /jobs."""
        job_id = str(uuid.uuid4())
        keys = JobKeys("test", tenant, job_id)
        LocalStorage(self.storage).upload(keys, keys.input, source)
        body = {
            "tenantId": tenant,
            "jobId": job_id,
            "input": {
                "originalFilename": source.name,
                "bytes": max(1, source.stat().st_size),  # an empty file is declared as 1
                "mimeType": "video/mp4",
            },
            **extra,
        }
        response = self.request("POST", "/jobs", body)
        assert response.status == 201, response.body
        return job_id

    def wait_for_job(
        self,
        tenant: str,
        job_id: str,
        until: Callable[[dict[str, Any]], bool],
        timeout: float = 60,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        path = f"/jobs/{job_id}?tenantId={tenant}"
        while True:
            job: dict[str, Any] = self.request("GET", path, headers=headers).body
            if until(job):
                return job
            assert time.monotonic() < deadline, f"job {job_id} never got there: {job}"
            time.sleep(0.1)

    def queue_depth(self, logical_id: str) -> int:
        """Messages in the queue, visible or in flight."""
        assert self.runtime.template is not None
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.runtime.template.runtime_refs[logical_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(count) for count in attributes.values())

    def wait_until_drained(self, logical_id: str, timeout: float = 30) -> None:
        """Until the queue's every message was consumed; fails at the deadline."""
        deadline = time.monotonic() + timeout
        while self.queue_depth(logical_id) > 0:
            assert time.monotonic() < deadline, f"{logical_id} still holds messages"
            time.sleep(0.1)

    def wait_until_settled(self, timeout: float = 30) -> None:
        """Until every queue of the stack is empty (nothing waiting, nothing
        in flight): whatever the events put so far cause has happened."""
        assert self.runtime.template is not None
        for logical_id in self.runtime.template.of_type("AWS::SQS::Queue"):
            self.wait_until_drained(logical_id, timeout)

    def wait_until_finished(
        self,
        tenant: str,
        job_id: str,
        timeout: float = 60,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return self.wait_for_job(
            tenant,
            job_id,
            lambda job: job["status"] in ("completed", "failed", "cancelled"),
            timeout,
            headers,
        )


@contextmanager
def running_stack(
    tmp_path_factory: pytest.TempPathFactory,
    storage: Path | None = None,
    runtime_options: dict[str, Any] | None = None,
    **environment: str,
) -> Iterator[Stack]:
    """The local stack on free ports, with ``environment`` set while it runs."""
    storage = storage or tmp_path_factory.mktemp("storage")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.setenv("TALKAVOCADO_ENV", "test")
        env.setenv("MEDIA_STORAGE_PATH", str(storage))
        # Retries one second apart, so retry and dead-letter paths finish quickly.
        env.setenv("RETRY_BASE_SECONDS", "1")
        env.setenv("RETRY_MAX_SECONDS", "1")
        for name, value in environment.items():
            env.setenv(name, value)
        runtime = LocalRuntime(
            TEMPLATE, api_port=0, emulator_port=0, **(runtime_options or {})
        ).start()
        assert runtime.api is not None
        try:
            yield Stack(runtime=runtime, url=runtime.api.url, storage=storage)
        finally:
            runtime.stop()


@pytest.fixture(scope="module", params=["local", "s3"])
def any_storage_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The local stack with media on local storage, then in the emulator's S3."""
    with running_stack(tmp_path_factory, STORAGE_BACKEND=request.param) as stack:
        yield stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory) as running:
        yield running
