"""What every route module shares: the services a request is served by, the
tenant it acts for, JSON answers and the documented error responses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Query

from talkavocado.api.identity import tenant_of
from talkavocado.api.models import CreateJobResponse, ErrorResponse, TenantId

if TYPE_CHECKING:
    from talkavocado.domain.jobs import JobRecord
    from talkavocado.services.job_queries import JobQueries
    from talkavocado.services.job_service import JobService
    from talkavocado.services.webhook_service import WebhookService


@dataclass(frozen=True)
class ApiServices:
    """The use cases the routes call, chosen by the entry point (the
    composition root builds them; the routes never choose an adapter)."""

    jobs: JobService
    queries: JobQueries
    webhooks: WebhookService
    tenant_claim: str


_SERVICES = "services"


def provide(router: BaseRouter, services: Callable[[], ApiServices]) -> None:
    """Hand the routes their services. Built when a route asks, so that a
    misconfigured deployment is answered by the error mapping (500, logged)."""
    router.context[_SERVICES] = services


def services_of(router: BaseRouter) -> ApiServices:
    build: Callable[[], ApiServices] = router.context[_SERVICES]
    return build()


def tenant(router: BaseRouter, requested: str | None) -> str:
    """The tenant a request acts for: the caller's own, or the one it names."""
    request_context = router.current_event.raw_event.get("requestContext") or {}
    return tenant_of(request_context, requested, services_of(router).tenant_claim)


TenantQuery = Annotated[TenantId | None, Query(alias="tenantId")]
PageLimit = Annotated[int, Query(ge=1, le=100)]
PageToken = Annotated[str | None, Query(alias="nextToken", max_length=4096)]

ERRORS: dict[int, Any] = {
    status: {
        "description": status.phrase,
        "content": {"application/json": {"model": ErrorResponse}},
    }
    for status in (
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.FORBIDDEN,
        HTTPStatus.NOT_FOUND,
        HTTPStatus.CONFLICT,
        HTTPStatus.GONE,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    )
}


def answers(status: HTTPStatus, model: type[Any]) -> dict[int, Any]:
    """The OpenAPI responses of a route: its success, and the shared errors."""
    content = {"application/json": {"model": model}}
    return {status: {"description": status.phrase, "content": content}, **ERRORS}


def json_response(
    status: HTTPStatus, body: str, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers or {},
    )


def pointer(status: HTTPStatus, record: JobRecord) -> Response[str]:
    body = CreateJobResponse.of(record).model_dump_json(by_alias=True, exclude_none=True)
    return json_response(status, body)
