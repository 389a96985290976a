"""The API's Lambda authorizer, invoked with API Gateway's REQUEST authorizer
event (events/api_authorizer_request.json) and a real token issuer."""

from __future__ import annotations

import copy
import fnmatch
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.domain.errors import DependencyUnavailable
from talkavocado.handlers.authorizer import lambda_handler
from talkavocado_local.invoke import LocalContext
from tests.conftest import sample_event
from tests.issuer import AUDIENCE, TENANT_CLAIM, Issuer, issuer

__all__ = ["issuer"]


def context() -> LambdaContext:
    """A fresh invocation's context: its remaining time counts down."""
    return cast(LambdaContext, LocalContext.for_function("AuthorizerFunction"))


@pytest.fixture
def with_issuer(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> Issuer:
    issuer.available = True
    monkeypatch.setenv("JWT_ISSUER", issuer.url)
    monkeypatch.setenv("JWT_AUDIENCE", AUDIENCE)
    return issuer


def invoke(authorization: str | None) -> dict[str, Any]:
    event = copy.deepcopy(sample_event("api_authorizer_request.json"))
    event["headers"].pop("Authorization")
    event["multiValueHeaders"].pop("Authorization")
    if authorization is not None:
        event["headers"]["authorization"] = authorization
        event["multiValueHeaders"]["authorization"] = [authorization]
    result: dict[str, Any] = lambda_handler(event, context())
    return result


def effect_on_request(policy: dict[str, Any]) -> str | None:
    method_arn = sample_event("api_authorizer_request.json")["methodArn"]
    effects = {
        statement["Effect"]
        for statement in policy["policyDocument"]["Statement"]
        if any(fnmatch.fnmatchcase(method_arn, resource) for resource in statement["Resource"])
    }
    return "Deny" if "Deny" in effects else next(iter(effects), None)


def test_a_valid_token_is_allowed_with_its_tenant_in_the_context(with_issuer: Issuer) -> None:
    policy = invoke(f"Bearer {with_issuer.token('tenant-a')}")
    assert effect_on_request(policy) == "Allow"
    assert policy["principalId"] == "user-of-tenant-a"
    assert policy["context"] == {TENANT_CLAIM: "tenant-a", "correlationId": "sample-correlation-2"}


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwdw=="])
def test_a_missing_or_invalid_token_answers_unauthorized(
    with_issuer: Issuer, authorization: str | None
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(authorization)


def test_an_expired_token_answers_unauthorized(with_issuer: Issuer) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(f"Bearer {with_issuer.token(lifetime=-600)}")


def test_a_valid_token_without_a_tenant_is_denied(with_issuer: Issuer) -> None:
    policy = invoke(f"Bearer {with_issuer.token(None)}")
    assert effect_on_request(policy) == "Deny"
    assert TENANT_CLAIM not in policy["context"]


def test_an_unreachable_issuer_fails_the_authorizer_rather_than_refusing(
    with_issuer: Issuer,
) -> None:
    with_issuer.available = False
    try:
        with pytest.raises(DependencyUnavailable):
            invoke(f"Bearer {with_issuer.token()}")
    finally:
        with_issuer.available = True


def test_without_an_issuer_an_explicitly_open_stage_allows_every_request_without_a_tenant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JWT_ISSUER", raising=False)
    monkeypatch.setenv("ALLOW_UNAUTHENTICATED", "true")
    policy = invoke(None)
    assert effect_on_request(policy) == "Allow"
    assert policy["context"] == {"correlationId": "sample-correlation-2"}  # no tenant


@pytest.mark.parametrize("allowed", [None, "false"])
def test_without_an_issuer_a_stage_not_explicitly_open_refuses_every_request(
    monkeypatch: pytest.MonkeyPatch, allowed: str | None
) -> None:
    monkeypatch.delenv("JWT_ISSUER", raising=False)
    if allowed is None:
        monkeypatch.delenv("ALLOW_UNAUTHENTICATED", raising=False)
    else:
        monkeypatch.setenv("ALLOW_UNAUTHENTICATED", allowed)
    with pytest.raises(Exception, match="Unauthorized"):
        invoke(None)


def test_an_issuer_without_an_audience_is_a_configuration_error(
    issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_ISSUER", issuer.url)
    monkeypatch.delenv("JWT_AUDIENCE", raising=False)
    with pytest.raises(Exception, match="JWT_AUDIENCE"):
        invoke(f"Bearer {issuer.token()}")


def test_authorizer_log_lines_carry_the_request_and_tenant(
    with_issuer: Issuer, log_lines: list[dict[str, Any]]
) -> None:
    with pytest.raises(Exception, match="Unauthorized"):
        invoke("Bearer forged")
    invoke(f"Bearer {with_issuer.token('tenant-a')}")
    refused = next(line for line in log_lines if line["message"] == "request refused")
    assert refused["step"] == "authorizer"
    assert refused["correlationId"] == "sample-correlation-2"
    assert refused["status"] == 401
    for line in log_lines:
        assert {"correlationId", "tenantId", "jobId", "step"} <= line.keys()
