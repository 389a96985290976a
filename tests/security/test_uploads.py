"""Strict uploads: the presigned POST (S3, against the emulator) and the local
upload route pin the key, the content type and a size up to the declared one;
a started job's input never changes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from talkavocado.adapters.s3_storage import S3Storage
from talkavocado.adapters.upload_policy import PolicyRefused, SizeRefused, check, decode
from talkavocado.domain.keys import JobKeys
from talkavocado_local.run import upload_file
from talkavocado_local.template import Template
from tests.e2e.conftest import Stack

KEYS = JobKeys("test", "tenant-a", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69")
BUCKET = "talkavocado-test-media-123456789012"


def test_the_s3_presigned_post_pins_key_type_and_declared_size(aws: Template) -> None:
    target = S3Storage(BUCKET, boto3.client("s3")).upload_target(
        KEYS, KEYS.input, "video/mp4", 1000, 3600
    )
    assert target.method == "POST" and target.fields["key"] == KEYS.input
    fields = {**target.fields, "bucket": BUCKET}  # S3 takes the bucket from the URL
    policy = decode(target.fields["policy"])
    now = time.time()
    check(policy, fields, 1000, now)  # what the client declared
    with pytest.raises(SizeRefused):
        check(policy, fields, 1001, now)
    with pytest.raises(SizeRefused):
        check(policy, fields, 0, now)
    for name, forged in [
        ("key", f"test/tenant-b/{KEYS.job_id}/input/source"),
        ("Content-Type", "text/html"),
    ]:
        with pytest.raises(PolicyRefused):
            check(policy, {**fields, name: forged}, 1000, now)
    with pytest.raises(PolicyRefused, match="expired"):
        check(policy, fields, 1000, now + 3601)


def create(stack: Stack, tenant: str, size: int) -> tuple[str, dict[str, object]]:
    source = {"originalFilename": "talk.mp4", "bytes": size, "mimeType": "video/mp4"}
    created = stack.request("POST", "/jobs", {"tenantId": tenant, "input": source})
    assert created.status == 201, created.body
    return created.body["jobId"], created.body["upload"]


def test_a_local_upload_larger_than_declared_is_refused(stack: Stack, tmp_path: Path) -> None:
    job_id, upload = create(stack, "tenant-up", 10)
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * 2 * 1024 * 1024)
    assert upload_file(upload, big) == 413
    small = tmp_path / "small.mp4"
    small.write_bytes(b"\0" * 11)
    assert upload_file(upload, small) == 413
    start = stack.request("POST", f"/jobs/{job_id}/start?tenantId=tenant-up")
    assert start.status == 409  # nothing was stored


def test_a_local_upload_for_another_key_or_type_is_refused(stack: Stack, tmp_path: Path) -> None:
    _, upload = create(stack, "tenant-up", 5)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"12345")
    fields = upload["fields"]
    assert isinstance(fields, dict)
    other = {**upload, "fields": {**fields, "key": fields["key"].replace("tenant-up", "tenant-x")}}
    assert upload_file(other, clip) == 403
    html = {**upload, "fields": {**fields, "Content-Type": "text/html"}}
    assert upload_file(html, clip) == 403
    extra = {**upload, "fields": {**fields, "acl": "public-read"}}
    assert upload_file(extra, clip) == 403


def test_a_started_jobs_input_cannot_be_replaced(
    stack: Stack, media_dir: Path, tmp_path: Path
) -> None:
    clip = media_dir / "tone.mp4"
    job_id, upload = create(stack, "tenant-up", clip.stat().st_size)
    assert upload_file(upload, clip) == 204
    assert stack.request("POST", f"/jobs/{job_id}/start?tenantId=tenant-up").status == 202
    replacement = tmp_path / "replacement.mp4"
    replacement.write_bytes(b"\0" * 100)
    assert upload_file(upload, replacement) == 409
    job = stack.wait_until_finished("tenant-up", job_id, timeout=120)
    assert job["status"] == "completed"


def test_a_declared_size_over_the_upload_limit_is_refused(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = {"originalFilename": "talk.mp4", "bytes": 6 * 1024**3, "mimeType": "video/mp4"}
    created = stack.request("POST", "/jobs", {"tenantId": "tenant-up", "input": source})
    assert created.status == 400
    assert created.body["error"]["details"]["field"] == "input.bytes"


def post_form(url: str, fields: dict[str, str], content: bytes) -> tuple[int, str]:
    """A multipart form of ``fields`` and a file; the status and the raw answer."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def api_style(raw: str) -> dict[str, Any]:
    """The API's error document, written as the API writes it (compact JSON, a newline)."""
    body: dict[str, Any] = json.loads(raw)
    assert set(body) == {"error", "correlationId"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert raw == json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n"
    return body


@pytest.mark.parametrize("forged", ["é" * 64, "\u2603", "0" * 63 + "\u00ff"])
def test_a_non_ascii_upload_signature_is_refused_not_dropped(stack: Stack, forged: str) -> None:
    _, upload = create(stack, "tenant-up", 5)
    fields = {**upload["fields"], "x-amz-signature": forged}  # type: ignore[dict-item]
    status, raw = post_form(str(upload["url"]), fields, b"12345")
    assert (status, api_style(raw)["error"]["code"]) == (403, "FORBIDDEN")


def test_an_empty_upload_is_a_bad_request_not_too_large(stack: Stack) -> None:
    _, upload = create(stack, "tenant-up", 5)
    status, raw = post_form(str(upload["url"]), dict(upload["fields"]), b"")  # type: ignore[call-overload]
    body = api_style(raw)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_FAILED")
    assert "empty" in body["error"]["message"]


def test_the_upload_route_and_the_front_refuse_in_the_apis_words(
    stack: Stack, tmp_path: Path
) -> None:
    _, upload = create(stack, "tenant-up", 5)
    fields: dict[str, str] = dict(upload["fields"])  # type: ignore[call-overload]
    url = str(upload["url"])
    refusals = {
        "too large": (post_form(url, fields, b"123456"), 413, "PAYLOAD_TOO_LARGE"),
        "another key": (
            post_form(url, {**fields, "key": fields["key"] + "x"}, b"12345"),
            403,
            "FORBIDDEN",
        ),
        "no such route": (post_form(stack.url + "/nowhere", {}, b""), 404, "NOT_FOUND"),
    }
    for case, ((status, raw), expected_status, expected_code) in refusals.items():
        body = api_style(raw)
        assert (status, body["error"]["code"]) == (expected_status, expected_code), case
    # The API's own answer for comparison: the same shape and style.
    api = stack.request("GET", "/jobs/not-a-uuid?tenantId=tenant-up")
    assert api.status == 400 and api.body["error"]["code"] == "VALIDATION_FAILED"
