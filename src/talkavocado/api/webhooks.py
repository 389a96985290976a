"""The webhook routes: register, list, remove, and a webhook's deliveries."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from talkavocado.api.models import (
    DeliveryListResponse,
    RegisteredWebhook,
    RegisterWebhookRequest,
    WebhookListResponse,
    WebhookView,
)
from talkavocado.api.routing import (
    ERRORS,
    PageLimit,
    PageToken,
    TenantQuery,
    answers,
    json_response,
    services_of,
    tenant,
)

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated


@router.post(
    "/webhooks",
    summary="Register a webhook for the tenant's job outcomes",
    responses=answers(HTTPStatus.CREATED, RegisteredWebhook),
)
def register_webhook(request: RegisterWebhookRequest) -> Response[str]:
    webhook = services_of(router).webhooks.register(
        tenant(router, request.tenant_id), request.url, list(request.event_types)
    )
    body = RegisteredWebhook.model_validate(webhook.model_dump()).model_dump_json(by_alias=True)
    return json_response(HTTPStatus.CREATED, body)


@router.get(
    "/webhooks",
    summary="List the tenant's webhooks",
    responses=answers(HTTPStatus.OK, WebhookListResponse),
)
def list_webhooks(tenant_id: TenantQuery = None) -> Response[str]:
    tenant_id = tenant(router, tenant_id)
    found = [
        WebhookView.model_validate(w.model_dump())
        for w in services_of(router).webhooks.of_tenant(tenant_id)
    ]
    body = WebhookListResponse(tenant_id=tenant_id, webhooks=found)
    return json_response(HTTPStatus.OK, body.model_dump_json(by_alias=True))


@router.delete(
    "/webhooks/<webhookId>",
    summary="Remove a webhook",
    responses={HTTPStatus.NO_CONTENT: {"description": "Removed"}, **ERRORS},
)
def remove_webhook(webhookId: str, tenant_id: TenantQuery = None) -> Response[str]:
    services_of(router).webhooks.remove(tenant(router, tenant_id), webhookId)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@router.get(
    "/webhooks/<webhookId>/deliveries",
    summary="Read a webhook's delivery attempts, newest first",
    responses=answers(HTTPStatus.OK, DeliveryListResponse),
)
def webhook_deliveries(
    webhookId: str,
    tenant_id: TenantQuery = None,
    limit: PageLimit = 50,
    next_token: PageToken = None,
) -> Response[str]:
    tenant_id = tenant(router, tenant_id)
    found, token = services_of(router).webhooks.deliveries(tenant_id, webhookId, limit, next_token)
    body = DeliveryListResponse(
        tenant_id=tenant_id, webhook_id=webhookId, deliveries=found, next_token=token
    )
    return json_response(HTTPStatus.OK, body.model_dump_json(by_alias=True, exclude_none=True))
