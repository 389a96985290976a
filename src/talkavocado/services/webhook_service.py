"""Registering, listing and removing a tenant's webhooks, and reading their
delivery records: the use cases behind /webhooks, free of HTTP and AWS."""

from __future__ import annotations

from talkavocado.domain.keys import parse_job_id, parse_tenant_id
from talkavocado.domain.webhooks import Delivery, OutcomeType, Webhook
from talkavocado.errors import ValidationFailed, WebhookNotFound
from talkavocado.ports import WebhookRepository, WebhookSender
from talkavocado.support.observability import bind_job
from talkavocado.support.paging import cursor_of, token_of


class WebhookService:
    def __init__(self, webhooks: WebhookRepository, sender: WebhookSender, limit: int) -> None:
        self._webhooks = webhooks
        self._sender = sender
        self._limit = limit

    def register(self, tenant_id: str, url: str, event_types: list[OutcomeType]) -> Webhook:
        """A new webhook of the tenant, with its signing secret (shown once)."""
        tenant_id = parse_tenant_id(tenant_id)
        bind_job(tenant_id=tenant_id)
        if not event_types:
            raise ValidationFailed("eventTypes must name at least one event", field="eventTypes")
        self._sender.check(url)
        webhook = Webhook.register(tenant_id, url, event_types)
        self._webhooks.add(webhook, self._limit)
        return webhook

    def of_tenant(self, tenant_id: str) -> list[Webhook]:
        return self._webhooks.of_tenant(parse_tenant_id(tenant_id))

    def remove(self, tenant_id: str, webhook_id: str) -> None:
        tenant_id, webhook_id = parse_tenant_id(tenant_id), _webhook_id(webhook_id)
        if not self._webhooks.remove(tenant_id, webhook_id):
            raise WebhookNotFound("webhook not found", webhookId=webhook_id)

    def deliveries(
        self, tenant_id: str, webhook_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Delivery], str | None]:
        """The webhook's delivery attempts, newest first, a page at a time."""
        tenant_id, webhook_id = parse_tenant_id(tenant_id), _webhook_id(webhook_id)
        if self._webhooks.get(tenant_id, webhook_id) is None:
            raise WebhookNotFound("webhook not found", webhookId=webhook_id)
        scope: list[str | None] = ["deliveries", webhook_id]
        cursor = cursor_of(next_token, tenant_id, scope) if next_token else None
        page = self._webhooks.deliveries(tenant_id, webhook_id, limit, cursor)
        return page.deliveries, token_of(page.cursor, tenant_id, scope)


def _webhook_id(value: str) -> str:
    """A webhook id is a canonical UUID, as a job id is."""
    try:
        return parse_job_id(value)
    except ValidationFailed:
        raise ValidationFailed("webhookId must be a lowercase UUID", field="webhookId") from None
