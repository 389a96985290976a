"""The local stack with an issuer configured (JWT_ISSUER, JWT_AUDIENCE): the
template's authorizer runs before every route, as on API Gateway, and a
token naming tenant A can never read, list, start, cancel, retry or create
tenant B's jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talkavocado_local.run import upload_file
from tests.e2e.conftest import HttpResponse, Stack, running_stack
from tests.issuer import AUDIENCE, Issuer, issuer

__all__ = ["issuer"]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, issuer: Issuer) -> Iterator[Stack]:
    with running_stack(tmp_path_factory, JWT_ISSUER=issuer.url, JWT_AUDIENCE=AUDIENCE) as stack:
        yield stack


@pytest.fixture(autouse=True)
def _issuer_up(issuer: Issuer) -> None:
    issuer.available = True


def call(stack: Stack, method: str, path: str, token: str | None, body: Any = None) -> HttpResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return stack.request(method, path, body, headers=headers)


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def create(stack: Stack, token: str, body: dict[str, Any] | None = None) -> str:
    created = call(stack, "POST", "/jobs", token, body or {})
    assert created.status == 201, created.body
    job_id: str = created.body["jobId"]
    return job_id


def test_requests_without_a_valid_token_get_401(secured: Stack, issuer: Issuer) -> None:
    for token in (None, "not-a-token", issuer.token(lifetime=-600), issuer.token(aud="other")):
        response = call(secured, "GET", "/jobs", token)
        assert response.status == 401
        assert response.body["error"]["code"] == "UNAUTHORIZED"


def test_the_tenant_comes_from_the_token(secured: Stack, issuer: Issuer) -> None:
    tenant = new_tenant()
    created = call(secured, "POST", "/jobs", issuer.token(tenant), {})
    assert created.status == 201
    assert created.body["tenantId"] == tenant
    fetched = call(secured, "GET", f"/jobs/{created.body['jobId']}", issuer.token(tenant))
    assert (fetched.status, fetched.body["tenantId"]) == (200, tenant)


def test_a_token_for_tenant_b_cannot_reach_tenant_a_jobs(secured: Stack, issuer: Issuer) -> None:
    tenant_a, tenant_b = new_tenant(), new_tenant()
    job_a = create(secured, issuer.token(tenant_a))
    token_b = issuer.token(tenant_b)

    # Asking for A's job as B looks exactly like asking for a job that does not exist.
    theirs = call(secured, "GET", f"/jobs/{job_a}", token_b)
    absent = str(uuid.uuid4())
    missing = call(secured, "GET", f"/jobs/{absent}", token_b)
    assert theirs.status == missing.status == 404
    assert str(theirs.body["error"]).replace(job_a, absent) == str(missing.body["error"])
    for action in ("start", "cancel", "retry"):
        assert call(secured, "POST", f"/jobs/{job_a}/{action}", token_b).status == 404
    assert job_a not in str(call(secured, "GET", "/jobs", token_b).body)

    # Naming tenant A in the request is refused before any lookup, job or no job.
    for path in (f"/jobs/{job_a}?tenantId={tenant_a}", f"/jobs/{uuid.uuid4()}?tenantId={tenant_a}"):
        refused = call(secured, "GET", path, token_b)
        assert (refused.status, refused.body["error"]["code"]) == (403, "FORBIDDEN")
    assert call(secured, "GET", f"/jobs?tenantId={tenant_a}", token_b).status == 403

    # B cannot create a job under A, not even with A's job id.
    planted = call(secured, "POST", "/jobs", token_b, {"tenantId": tenant_a})
    assert planted.status == 403
    assert call(secured, "POST", "/jobs", token_b, {"jobId": job_a}).status == 201
    listed_a = call(secured, "GET", "/jobs", issuer.token(tenant_a)).body["jobs"]
    assert [job["jobId"] for job in listed_a] == [job_a]


def test_a_token_that_names_no_tenant_gets_403(secured: Stack, issuer: Issuer) -> None:
    for token in (issuer.token(None), issuer.token("../" + new_tenant())):
        response = call(secured, "POST", "/jobs", token, {"tenantId": "tenant-a"})
        assert (response.status, response.body["error"]["code"]) == (403, "FORBIDDEN")


def test_an_unreachable_issuer_gets_503_and_the_api_recovers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A stack of its own: the shared one has already cached the issuer's keys.
    outage = Issuer()
    outage.available = False
    try:
        with running_stack(tmp_path_factory, JWT_ISSUER=outage.url, JWT_AUDIENCE=AUDIENCE) as stack:
            failed = call(stack, "GET", "/jobs", outage.token())
            assert (failed.status, failed.body["error"]["code"]) == (503, "DEPENDENCY_UNAVAILABLE")
            outage.available = True
            assert call(stack, "GET", "/jobs", outage.token()).status == 200
    finally:
        outage.stop()


def test_a_job_runs_to_completion_behind_the_authorizer(
    secured: Stack, issuer: Issuer, media_dir: Path
) -> None:
    tenant, clip = new_tenant(), media_dir / "tone.mp4"
    token = issuer.token(tenant)
    source = {"originalFilename": clip.name, "bytes": clip.stat().st_size, "mimeType": "video/mp4"}
    created = call(secured, "POST", "/jobs", token, {"input": source})
    job_id, upload = created.body["jobId"], created.body["upload"]
    assert upload_file(upload, clip) == 204
    assert call(secured, "POST", f"/jobs/{job_id}/start", token).status == 202
    bearer = {"Authorization": f"Bearer {token}"}
    job = secured.wait_until_finished(tenant, job_id, timeout=120, headers=bearer)
    assert job["status"] == "completed", job
    assert call(secured, "GET", f"/jobs/{job_id}", issuer.token(new_tenant())).status == 404


def test_authorizer_and_api_log_one_request_under_one_correlation_id(
    secured: Stack, issuer: Issuer, log_lines: list[dict[str, Any]]
) -> None:
    job_id = create(secured, issuer.token("tenant-logs"))
    response = call(secured, "GET", f"/jobs/{job_id}", "forged")
    assert response.status == 401
    fetched = call(secured, "GET", f"/jobs/{job_id}", issuer.token("tenant-logs"))
    correlation_id = fetched.headers["X-Correlation-Id"]
    steps = {line["step"] for line in log_lines if line["correlationId"] == correlation_id}
    assert steps == {"authorizer", "api"}
    refused = next(line for line in log_lines if line.get("status") == 401)
    assert (refused["step"], refused["jobId"]) == ("authorizer", job_id)
