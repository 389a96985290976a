"""The job API over HTTP through the local stack, as a user drives it with curl."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from talkavocado.domain.manifest import validate_document
from talkavocado_local.run import upload_file
from tests.e2e.conftest import HttpResponse, Stack

SAMPLE_INPUT = {"originalFilename": "sample.mp4", "bytes": 123456, "mimeType": "video/mp4"}


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def test_create_then_get_over_http(stack: Stack) -> None:
    tenant = new_tenant()
    created = stack.request("POST", "/jobs", {"tenantId": tenant, "input": SAMPLE_INPUT})
    assert created.status == 201
    # The seed's fields, and where to send the video, which is not stored yet.
    assert set(created.body) == {"jobId", "status", "env", "tenantId", "manifestKey", "upload"}
    job_id = created.body["jobId"]
    assert created.headers["Location"] == f"/jobs/{job_id}?tenantId={tenant}"
    assert created.headers["X-Correlation-Id"]

    manifest_path = stack.storage / created.body["manifestKey"]
    assert manifest_path == stack.storage / "test" / tenant / job_id / "manifest.json"
    validate_document(json.loads(manifest_path.read_text()))

    fetched = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}")
    assert fetched.status == 200
    assert fetched.body["jobId"] == job_id
    assert fetched.body["manifestKey"] == created.body["manifestKey"]


def test_another_tenant_gets_404_over_http(stack: Stack) -> None:
    created = stack.request("POST", "/jobs", {"tenantId": new_tenant()})
    other = stack.request("GET", f"/jobs/{created.body['jobId']}?tenantId={new_tenant()}")
    assert other.status == 404
    assert other.body["error"]["code"] == "NOT_FOUND"


def test_path_traversal_towards_another_tenant_is_refused(stack: Stack) -> None:
    victim = new_tenant()
    created = stack.request("POST", "/jobs", {"tenantId": victim})
    job_id = created.body["jobId"]
    response = stack.request("GET", f"/jobs/..%2F{victim}%2F{job_id}?tenantId={new_tenant()}")
    assert response.status in (400, 404)
    assert job_id not in json.dumps(response.body)


def test_bad_input_gets_400_with_a_json_error_over_http(stack: Stack) -> None:
    response = stack.request("POST", "/jobs", raw=b"{oops", headers={"X-Correlation-Id": "c-1"})
    assert response.status == 400
    assert response.body["error"]["code"] == "VALIDATION_FAILED"
    assert response.body["correlationId"] == "c-1"
    assert response.headers["X-Correlation-Id"] == "c-1"


def test_unknown_routes_and_methods_answer_json(stack: Stack) -> None:
    assert stack.request("GET", "/nope").status == 404
    assert stack.request("DELETE", "/jobs").status == 405


def test_twenty_simultaneous_creates_of_one_job_id_make_exactly_one_job(stack: Stack) -> None:
    tenant, job_id = new_tenant(), str(uuid.uuid4())

    def create(index: int) -> tuple[HttpResponse, str]:
        correlation = f"race-{index}"
        body = {"tenantId": tenant, "jobId": job_id, "input": SAMPLE_INPUT}
        return stack.request(
            "POST", "/jobs", body, headers={"X-Correlation-Id": correlation}
        ), correlation

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(create, range(20)))

    statuses = sorted(response.status for response, _ in results)
    assert statuses == [201] + [409] * 19
    [winner] = [correlation for response, correlation in results if response.status == 201]
    conflicts = [response.body for response, _ in results if response.status == 409]
    assert all(body["error"]["details"]["job"]["jobId"] == job_id for body in conflicts)

    job_dir = stack.storage / "test" / tenant
    assert [p.name for p in job_dir.iterdir()] == [job_id]
    assert [p.name for p in (job_dir / job_id).iterdir()] == ["manifest.json"]
    manifest: dict[str, Any] = json.loads((job_dir / job_id / "manifest.json").read_text())
    assert manifest["correlationId"] == winner

    items = (
        boto3.resource("dynamodb")
        .Table("talkavocado-test-jobs")
        .query(KeyConditionExpression=Key("tenantId").eq(tenant))["Items"]
    )
    records = [item for item in items if str(item["jobSort"]).startswith("JOB#")]
    assert len(records) == 1
    assert records[0]["correlationId"] == winner
    history = [item["kind"] for item in items if str(item["jobSort"]).startswith("HIST#")]
    assert history == ["created"]  # the losers' creates wrote no history either


def test_every_log_line_of_a_request_carries_correlation_tenant_and_job(
    stack: Stack, log_lines: list[dict[str, Any]]
) -> None:
    tenant = new_tenant()
    created = stack.request(
        "POST", "/jobs", {"tenantId": tenant}, headers={"X-Correlation-Id": "trace-1"}
    )
    job_id = created.body["jobId"]
    stack.request(
        "GET", f"/jobs/{job_id}?tenantId={tenant}", headers={"X-Correlation-Id": "trace-2"}
    )
    mine = [line for line in log_lines if line.get("correlationId") in ("trace-1", "trace-2")]
    assert len(mine) >= 2
    assert all(line["tenantId"] == tenant and line["jobId"] == job_id for line in mine)


def test_the_upload_flow_over_http(stack: Stack, media_dir: Path) -> None:
    tenant, clip = new_tenant(), media_dir / "tone.mp4"
    source = {"originalFilename": clip.name, "bytes": clip.stat().st_size, "mimeType": "video/mp4"}
    created = stack.request("POST", "/jobs", {"tenantId": tenant, "input": source})
    assert created.status == 201
    job_id, upload = created.body["jobId"], created.body["upload"]
    assert upload["method"] == "POST" and upload["expiresIn"] > 0
    assert upload["fields"]["key"] == f"test/{tenant}/{job_id}/input/source"

    early = stack.request("POST", f"/jobs/{job_id}/start?tenantId={tenant}")
    assert (early.status, early.body["error"]["code"]) == (409, "INPUT_MISSING")
    forged = {**upload, "fields": {**upload["fields"], "x-amz-signature": "0" * 64}}
    assert upload_file(forged, clip) == 403
    assert upload_file(upload, clip) == 204

    started = stack.request("POST", f"/jobs/{job_id}/start?tenantId={tenant}")
    assert started.status == 202
    assert upload_file(upload, media_dir / "speech.m4a") in (409, 413)  # never after start
    assert stack.wait_until_finished(tenant, job_id)["status"] == "completed"
    again = stack.request("POST", f"/jobs/{job_id}/start?tenantId={tenant}")
    assert again.status == 409


def test_every_json_answer_ends_its_line(stack: Stack) -> None:
    """As curl shows it: the shell's prompt starts on a line of its own."""
    tenant = new_tenant()
    answers = [
        ("POST", "/jobs", json.dumps({"tenantId": tenant}).encode()),  # 201
        ("POST", "/jobs", b"{not json"),  # the function's refusal
        ("GET", f"/jobs?tenantId={tenant}", None),  # 200
        ("GET", "/no-such-route", None),  # the front's own 404
    ]
    for method, path, data in answers:
        request = urllib.request.Request(
            stack.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
        assert raw.endswith(b"}\n") and raw.count(b"\n") == 1, (path, raw)
        json.loads(raw)
