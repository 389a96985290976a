"""The API's Lambda authorizer (REQUEST type): turns the caller's bearer token
into an IAM policy for API Gateway, with the tenant claim in its context,
where the API reads it (``requestContext.authorizer``).

API Gateway's contract: raising ``Exception("Unauthorized")`` answers 401, a
Deny policy 403, any other failure 500 (AUTHORIZER_FAILURE, which the
template turns into a 503: the issuer could not be reached)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
    parse_api_gateway_arn,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.domain.errors import (
    DependencyUnavailable,
    TenantMismatch,
    Unauthenticated,
    ValidationFailed,
)
from talkavocado.domain.keys import parse_job_id
from talkavocado.ports import TokenVerifier
from talkavocado.services.auth import Caller, authenticate
from talkavocado.support.observability import (
    CORRELATION_HEADER,
    bind_job,
    bind_work,
    correlation_id_from,
    logger,
    metrics,
)

UNAUTHORIZED = "Unauthorized"


@dataclass(frozen=True)
class AuthorizerSettings:
    """What the authorizer judges a request by (the entry point builds it)."""

    verifier: TokenVerifier | None
    tenant_claim: str
    allow_anonymous: bool


def authorize(
    event: APIGatewayAuthorizerRequestEvent, context: LambdaContext, settings: AuthorizerSettings
) -> dict[str, Any]:
    headers = event.headers  # case-insensitive
    correlation_id = correlation_id_from(
        headers.get(CORRELATION_HEADER), event.request_context.request_id
    )
    bind_work(correlation_id=correlation_id, step="authorizer")
    bind_job(job_id=_job_id(event))
    claim = settings.tenant_claim
    try:
        caller = authenticate(
            headers.get("Authorization"),
            settings.verifier,
            claim,
            allow_anonymous=settings.allow_anonymous,
        )
    except Unauthenticated as refused:
        logger.info("request refused", extra={"status": 401, "reason": refused.message})
        _count("unauthenticated")
        raise Exception(UNAUTHORIZED) from None  # API Gateway matches this exact message
    except TenantMismatch as refused:
        logger.info("request denied", extra={"status": 403, "reason": refused.message})
        unknown = Caller(principal="unknown", tenant_id=None)
        return _policy(event, unknown, claim, correlation_id, allow=False)
    except DependencyUnavailable as failed:
        logger.error("token issuer unavailable", extra={"status": 503, "reason": failed.message})
        _count("issuer-unavailable")
        raise
    if caller.tenant_id is not None:  # without an issuer there is nothing to report
        bind_job(tenant_id=caller.tenant_id)
        logger.info("request authorized", extra={"principal": caller.principal})
    return _policy(event, caller, claim, correlation_id, allow=True)


def _count(decision: str) -> None:
    metrics.add_dimension(name="decision", value=decision)
    metrics.add_metric(name="AuthorizerDecisions", unit=MetricUnit.Count, value=1)


def _job_id(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    """The job the request is about, for the log lines (when it is one)."""
    try:
        return parse_job_id((event.path_parameters or {}).get("jobId"))
    except ValidationFailed:
        return None


def _policy(
    event: APIGatewayAuthorizerRequestEvent,
    caller: Caller,
    claim: str,
    correlation_id: str,
    *,
    allow: bool,
) -> dict[str, Any]:
    """The decision, with the tenant claim for the API and the correlation id
    for the access log (``$context.authorizer.correlationId``)."""
    context = {"correlationId": correlation_id}
    if caller.tenant_id:
        context[claim] = caller.tenant_id
    arn = parse_api_gateway_arn(event.method_arn)
    response = APIGatewayAuthorizerResponse(
        principal_id=caller.principal,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=context,
    )
    if allow:
        response.allow_all_routes()
    else:
        response.deny_all_routes()
    _count("allowed" if allow else "denied")
    result: dict[str, Any] = response.asdict()
    return result
