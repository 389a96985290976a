"""The API Lambda handler invoked with real API Gateway proxy events (the
samples in events/), against moto."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado import wiring
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import validate_document
from talkavocado.handlers.api import lambda_handler
from talkavocado_local.invoke import LocalContext
from talkavocado_local.template import Template
from tests.conftest import sample_event

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"


def context() -> LambdaContext:
    """A fresh invocation's context: its remaining time counts down."""
    return cast(LambdaContext, LocalContext.for_function("ApiFunction"))


SEED_CREATE_FIELDS = {"jobId", "status", "env", "tenantId", "manifestKey"}


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, list[str]]]:
    response = lambda_handler(event, context())
    body = json.loads(response["body"]) if response.get("body") else {}
    return response["statusCode"], body, response.get("multiValueHeaders", {})


def create_event(body: Any, raw: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(sample_event("api_create_job.json"))
    event["body"] = raw if raw is not None else json.dumps(body)
    return event


def sample_create() -> dict[str, Any]:
    """The sample create, naming the job JOB (the sample itself names none)."""
    event = copy.deepcopy(sample_event("api_create_job.json"))
    event["body"] = json.dumps({**json.loads(event["body"]), "jobId": JOB})
    return event


def get_event(job_id: str, tenant_id: str | None) -> dict[str, Any]:
    event = copy.deepcopy(sample_event("api_get_job.json"))
    event["path"] = f"/jobs/{job_id}"
    event["pathParameters"] = {"jobId": job_id}
    query = {"tenantId": tenant_id} if tenant_id is not None else None
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    return event


@pytest.fixture
def created(aws: Template) -> dict[str, Any]:
    status, body, _ = invoke(sample_create())
    assert status == 201, body
    return body


def test_create_answers_201_with_exactly_the_seed_fields(aws: Template) -> None:
    status, body, headers = invoke(sample_create())
    assert status == 201
    assert set(body) == SEED_CREATE_FIELDS
    assert body == {
        "jobId": JOB,
        "status": "pending",
        "env": "test",
        "tenantId": "demo-tenant",
        "manifestKey": f"test/demo-tenant/{JOB}/manifest.json",
    }
    assert headers["Location"] == [f"/jobs/{JOB}?tenantId=demo-tenant"]
    assert headers["X-Correlation-Id"] == ["sample-correlation-1"]


def test_create_writes_a_valid_manifest_at_the_canonical_path(
    created: dict[str, Any], storage_root: Path
) -> None:
    document = json.loads((storage_root / created["manifestKey"]).read_text())
    validate_document(document)
    assert document["correlationId"] == "sample-correlation-1"
    assert document["input"]["sourceKey"] == f"test/demo-tenant/{JOB}/input/source"
    assert document["input"]["originalFilename"] == "sample.mp4"


def test_create_writes_the_job_record_without_what_its_keys_give(
    created: dict[str, Any],
) -> None:
    item = (
        boto3.resource("dynamodb")
        .Table("talkavocado-test-jobs")
        .get_item(Key={"tenantId": "demo-tenant", "jobSort": f"JOB#{JOB}"})["Item"]
    )
    for attribute in ("status", "env", "correlationId", "createdAt", "updatedAt", "version"):
        assert attribute in item
    for derived in ("jobId", "manifestKey", "sourceKey"):
        assert derived not in item
    assert item["correlationId"] == "sample-correlation-1"
    assert item["statusSort"].startswith("pending#")
    record = JobRecord.model_validate(item)
    assert (record.job_id, record.manifest_key) == (JOB, created["manifestKey"])
    assert record.source_key == f"test/demo-tenant/{JOB}/input/source"


def test_job_created_is_routed_to_the_first_step_queue(aws: Template) -> None:
    sqs = boto3.client("sqs")
    queue_url = aws.runtime_refs["AudioExtractionQueue"]
    keys = JobKeys("test", "demo-tenant", JOB)
    wiring.storage().put(keys, keys.input, b"the video, uploaded first")
    invoke(sample_create())
    [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("talkavocado.pipeline", "JobCreated")
    assert event["detail"] == {
        "detailVersion": 1,
        "env": "test",
        "tenantId": "demo-tenant",
        "jobId": JOB,
        "correlationId": "sample-correlation-1",
        "run": 1,
        "manifestKey": f"test/demo-tenant/{JOB}/manifest.json",
        "sourceKey": f"test/demo-tenant/{JOB}/input/source",
        "renderKeys": [],
    }


def test_an_input_not_yet_uploaded_gets_an_upload_target_and_waits(aws: Template) -> None:
    status, body, _ = invoke(sample_create())
    assert status == 201
    assert set(body) == SEED_CREATE_FIELDS  # no upload URL without an upload route
    messages = boto3.client("sqs").receive_message(
        QueueUrl=aws.runtime_refs["AudioExtractionQueue"], WaitTimeSeconds=0
    )
    assert "Messages" not in messages  # not started: the input is missing


def test_get_returns_the_job_in_the_seed_shape(created: dict[str, Any]) -> None:
    status, body, headers = invoke(sample_event("api_get_job.json"))
    assert status == 200
    assert {"jobId", "tenantId", "status", "artifacts", "manifestKey", "updatedAt"} <= set(body)
    assert body["status"] == "pending"
    assert body["artifacts"] == {
        "audio": None,
        "transcript": None,
        "plan": None,
        "renders": [],
        "peaks": None,
        "captions": None,
    }
    assert body["manifestKey"] == created["manifestKey"]
    assert headers["X-Correlation-Id"] == ["sample-correlation-2"]


def test_another_tenant_gets_404_like_a_missing_job(created: dict[str, Any]) -> None:
    other_status, other_body, _ = invoke(sample_event("api_get_job_other_tenant.json"))
    missing_status, missing_body, _ = invoke(
        get_event("0b6c0a57-0f4e-4a43-9a55-6d1f0f7b2c11", "demo-tenant")
    )
    assert other_status == missing_status == 404
    assert other_body["error"]["code"] == missing_body["error"]["code"] == "NOT_FOUND"


def test_second_create_with_the_same_job_id_is_409_with_the_existing_pointer(
    created: dict[str, Any],
) -> None:
    status, body, _ = invoke(sample_create())
    assert status == 409
    assert body["error"]["code"] == "CONFLICT"
    assert body["error"]["details"]["job"]["jobId"] == JOB
    assert body["error"]["details"]["job"]["manifestKey"] == created["manifestKey"]


VALID_INPUT = {"originalFilename": "a.mp4", "bytes": 10, "mimeType": "video/mp4"}


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        (None, "{not json"),
        (None, ""),
        (None, "[]"),
        (None, '"tenant"'),
        ({}, None),
        ({"tenantId": 42}, None),
        ({"tenantId": "Demo Tenant"}, None),
        ({"tenantId": "t", "extra": 1}, None),
        ({"tenantId": "t", "jobId": "not-a-uuid"}, None),
        ({"tenantId": "t", "jobId": JOB.upper()}, None),
        ({"tenantId": "t", "input": {**VALID_INPUT, "bytes": -1}}, None),
        ({"tenantId": "t", "input": {**VALID_INPUT, "bytes": "10"}}, None),
        ({"tenantId": "t", "input": {**VALID_INPUT, "bytes": True}}, None),
        ({"tenantId": "t", "input": {**VALID_INPUT, "bytes": 1.5}}, None),
        ({"tenantId": "t", "input": {**VALID_INPUT, "mimeType": "text/plain"}}, None),
        ({"tenantId": "t", "input": {**VALID_INPUT, "unknown": 1}}, None),
        ({"tenantId": "t", "input": {"bytes": 1, "mimeType": "video/mp4"}}, None),
        ({"tenantId": "t", "input": {**VALID_INPUT, "originalFilename": "///"}}, None),
        ({"tenantId": "t", "input": "sample.mp4"}, None),
    ],
)
def test_invalid_create_bodies_get_400_with_a_json_error(
    aws: Template, body: Any, raw: str | None
) -> None:
    status, response, _ = invoke(create_event(body, raw))
    assert status == 400, response
    assert response["error"]["code"] == "VALIDATION_FAILED"
    assert response["error"]["message"]
    assert response["correlationId"] == "sample-correlation-1"
    assert "Traceback" not in json.dumps(response)


def test_sample_invalid_body_event_gets_400_naming_each_problem(aws: Template) -> None:
    status, body, _ = invoke(sample_event("api_create_job_invalid_body.json"))
    assert status == 400
    fields = {p["field"] for p in body["error"]["details"]["problems"]}
    assert fields == {"tenantId", "input.bytes", "input.mimeType"}


def test_a_body_over_64_kib_gets_413(aws: Template) -> None:
    status, body, _ = invoke(create_event(None, json.dumps({"tenantId": "t", "pad": "x" * 70000})))
    assert status == 413
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("job_id", "tenant_id"),
    [
        ("not-a-uuid", "demo-tenant"),
        (f"..%2Fother-tenant%2F{JOB}", "demo-tenant"),
        (JOB, None),
        (JOB, "Bad Tenant"),
        (JOB, ""),
    ],
)
def test_malformed_get_requests_get_400(
    created: dict[str, Any], job_id: str, tenant_id: str | None
) -> None:
    status, body, _ = invoke(get_event(job_id, tenant_id))
    assert status == 400, body
    assert body["error"]["code"] == "VALIDATION_FAILED"


def test_list_returns_the_tenants_jobs_by_status(created: dict[str, Any]) -> None:
    event = get_event(JOB, "demo-tenant")
    event.update(path="/jobs", resource="/jobs", pathParameters=None)
    event["queryStringParameters"] = {"tenantId": "demo-tenant", "status": "pending"}
    event["multiValueQueryStringParameters"] = {"tenantId": ["demo-tenant"], "status": ["pending"]}
    status, body, _ = invoke(event)
    assert status == 200
    assert [job["jobId"] for job in body["jobs"]] == [JOB]
    event["queryStringParameters"]["status"] = "completed"
    event["multiValueQueryStringParameters"]["status"] = ["completed"]
    assert invoke(event)[1]["jobs"] == []


def test_every_log_line_carries_correlation_tenant_and_job(
    aws: Template, log_lines: list[dict[str, Any]]
) -> None:
    invoke(sample_create())
    invoke(sample_event("api_get_job.json"))
    invoke(sample_event("api_get_job_other_tenant.json"))
    assert log_lines
    for line in log_lines:
        assert line["correlationId"].startswith("sample-correlation-")
        assert line["tenantId"] in ("demo-tenant", "other-tenant")
        assert line["jobId"] == JOB
        assert line["step"] == "api"


def test_an_unexpected_failure_is_500_without_internals(
    aws: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    from talkavocado.services.job_queries import JobQueries

    def explode(*_: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(JobQueries, "get_job", explode)
    status, body, _ = invoke(sample_event("api_get_job.json"))
    assert status == 500
    assert "secret" not in json.dumps(body)
    assert body["correlationId"] == "sample-correlation-2"


def test_a_job_whose_manifest_is_missing_answers_410_naming_no_storage_key(
    created: dict[str, Any], storage_root: Path
) -> None:
    (storage_root / created["manifestKey"]).unlink()
    status, body, _ = invoke(get_event(created["jobId"], "demo-tenant"))
    assert status == 410
    assert body["error"]["code"] == "JOB_DATA_MISSING"
    assert "manifest.json" not in json.dumps(body) and "demo-tenant/" not in json.dumps(body)


def list_event(tenant_id: str, **query: str) -> dict[str, Any]:
    event = get_event(JOB, tenant_id)
    event["httpMethod"], event["resource"], event["path"] = "GET", "/jobs", "/jobs"
    event["requestContext"]["resourcePath"] = "/jobs"
    event["pathParameters"] = None
    parameters = {"tenantId": tenant_id, **query}
    event["queryStringParameters"] = parameters
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in parameters.items()}
    return event


def created_jobs(tenant_id: str, count: int) -> list[str]:
    jobs = []
    for _ in range(count):
        status, body, _ = invoke(create_event({"tenantId": tenant_id}))
        assert status == 201
        jobs.append(body["jobId"])
    return jobs


def test_listing_pages_through_every_job_with_a_token_bound_to_the_tenant(aws: Template) -> None:
    mine = created_jobs("tenant-pages", 7)
    created_jobs("tenant-other", 2)
    seen: list[dict[str, Any]] = []
    query: dict[str, str] = {"limit": "3"}
    for _ in range(5):
        status, body, _ = invoke(list_event("tenant-pages", **query))
        assert status == 200, body
        seen += body["jobs"]
        if body.get("nextToken") is None:
            break
        query = {"limit": "3", "nextToken": body["nextToken"]}
    assert sorted(job["jobId"] for job in seen) == sorted(mine)
    assert [j["createdAt"] for j in seen] == sorted((j["createdAt"] for j in seen), reverse=True)

    status, body, _ = invoke(list_event("tenant-pages", limit="2"))
    token = body["nextToken"]
    status, refused, _ = invoke(list_event("tenant-other", limit="2", nextToken=token))
    assert status == 400 and refused["error"]["details"]["field"] == "nextToken"
    forged = json.loads(base64.urlsafe_b64decode(token))
    forged["tenantId"] = "tenant-other"
    forged_token = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    status, refused, _ = invoke(list_event("tenant-other", limit="2", nextToken=forged_token))
    assert status == 400  # its cursor still points into tenant-pages


def test_listing_filters_by_status_and_creation_time(aws: Template) -> None:
    first = created_jobs("tenant-times", 1)
    _, body, _ = invoke(list_event("tenant-times"))
    boundary = body["jobs"][0]["createdAt"]
    later = created_jobs("tenant-times", 2)
    _, after, _ = invoke(list_event("tenant-times", createdAfter=boundary))
    assert sorted(j["jobId"] for j in after["jobs"]) == sorted(later)
    _, before, _ = invoke(list_event("tenant-times", createdBefore=boundary))
    assert before["jobs"] == []  # strictly before the first job
    pages: list[str] = []
    query = {"status": "pending", "createdAfter": "2000-01-01", "limit": "1"}
    while True:
        status, page, _ = invoke(list_event("tenant-times", **query))
        assert status == 200
        pages += [j["jobId"] for j in page["jobs"]]
        if page.get("nextToken") is None:
            break
        query["nextToken"] = page["nextToken"]
    assert sorted(pages) == sorted(first + later)
    status, _, _ = invoke(list_event("tenant-times", createdAfter="yesterday"))
    assert status == 400


def test_a_misconfigured_deployment_answers_500_and_logs_why(
    aws: Template, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("STORAGE_BACKEND", "floppy")
    wiring.reset()
    status, body, _ = invoke(sample_create())
    assert (status, body["error"]["code"]) == (500, "CONFIGURATION_ERROR")
    assert "floppy" not in json.dumps(body)  # the reason is the operator's, in the log
    assert any(
        record.levelname == "ERROR" and "floppy" in str(getattr(record, "reason", ""))
        for record in caplog.records
    )


def route_event(method: str, path: str, query: dict[str, str], body: Any = None) -> dict[str, Any]:
    event = copy.deepcopy(sample_event("api_get_job.json"))
    event.update(
        httpMethod=method,
        path=path,
        resource=path,
        pathParameters=None,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()},
        body=None if body is None else json.dumps(body),
    )
    if body is not None:
        event["headers"] = {**(event.get("headers") or {}), "Content-Type": "application/json"}
        event["multiValueHeaders"] = {
            **(event.get("multiValueHeaders") or {}),
            "Content-Type": ["application/json"],
        }
    return event


def test_the_webhook_routes_register_list_and_remove_a_tenants_webhooks(aws: Template) -> None:
    hook = {"tenantId": "demo-tenant", "url": "https://93.184.216.34/hooks"}
    status, registered, _ = invoke(route_event("POST", "/webhooks", {}, hook))
    assert status == 201, registered
    tenant = {"tenantId": "demo-tenant"}
    status, listed, _ = invoke(route_event("GET", "/webhooks", tenant))
    assert status == 200
    assert [w["webhookId"] for w in listed["webhooks"]] == [registered["webhookId"]]
    status, other, _ = invoke(route_event("GET", "/webhooks", {"tenantId": "other-tenant"}))
    assert (status, other["webhooks"]) == (200, [])
    path = f"/webhooks/{registered['webhookId']}"
    assert invoke(route_event("DELETE", path, tenant))[0] == 204
    assert invoke(route_event("GET", "/webhooks", tenant))[1]["webhooks"] == []
