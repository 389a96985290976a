"""The tenant taken from the caller's identity: API Gateway events carrying
authorizer claims, in each of the shapes API Gateway produces."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.handlers.api import lambda_handler
from talkavocado_local.invoke import LocalContext
from talkavocado_local.template import Template
from tests.conftest import sample_event


def context() -> LambdaContext:
    """A fresh invocation's context: its remaining time counts down."""
    return cast(LambdaContext, LocalContext.for_function("ApiFunction"))


def rest_cognito(tenant: object) -> dict[str, Any]:
    return {"claims": {"sub": "user-1", "custom:tenant_id": tenant}}


def http_jwt(tenant: object) -> dict[str, Any]:
    return {"jwt": {"claims": {"sub": "user-1", "custom:tenant_id": tenant}, "scopes": None}}


def lambda_context(tenant: object) -> dict[str, Any]:
    return {"principalId": "user-1", "custom:tenant_id": tenant}


SHAPES = [rest_cognito, http_jwt, lambda_context]


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(event, context())
    return response["statusCode"], json.loads(response["body"])


def create(authorizer: dict[str, Any], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    event = copy.deepcopy(sample_event("api_create_job.json"))
    event["requestContext"]["authorizer"] = authorizer
    event["body"] = json.dumps(body)
    return invoke(event)


def get(
    authorizer: dict[str, Any] | None, job_id: str, tenant: str | None
) -> tuple[int, dict[str, Any]]:
    event = copy.deepcopy(sample_event("api_get_job.json"))
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    event["path"] = f"/jobs/{job_id}"
    event["pathParameters"] = {"jobId": job_id}
    query = {"tenantId": tenant} if tenant else None
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    return invoke(event)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_tenant_comes_from_the_claims(aws: Template, shape: Any) -> None:
    status, body = create(shape("acme"), {})
    assert status == 201
    assert body["tenantId"] == "acme"
    assert get(shape("acme"), body["jobId"], None)[0] == 200


@pytest.mark.parametrize("shape", SHAPES)
def test_a_body_tenant_that_disagrees_with_the_claims_is_refused(aws: Template, shape: Any) -> None:
    status, body = create(shape("acme"), {"tenantId": "globex"})
    assert status == 403
    assert body["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("shape", SHAPES)
def test_tenant_a_can_never_read_tenant_bs_job(aws: Template, shape: Any) -> None:
    status, created = create(shape("globex"), {})
    assert status == 201
    job_id = created["jobId"]

    assert get(shape("acme"), job_id, None)[0] == 404  # A's own namespace: no such job
    existing = get(shape("acme"), job_id, "globex")
    missing = get(shape("acme"), str(uuid.uuid4()), "globex")
    assert existing[0] == missing[0] == 403  # refused before any lookup
    assert existing[1]["error"] == missing[1]["error"]


def test_a_claim_that_is_not_a_valid_tenant_is_refused(aws: Template) -> None:
    status, body = create(rest_cognito("Not A Tenant!"), {})
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")


def test_without_an_authorizer_the_tenant_must_be_named(aws: Template) -> None:
    event = copy.deepcopy(sample_event("api_create_job.json"))
    event["body"] = json.dumps({})
    status, body = invoke(event)
    assert status == 400
    assert body["error"]["details"]["field"] == "tenantId"
