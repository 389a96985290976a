"""Tenant webhooks: where a tenant wants its jobs' outcomes pushed, and the
record of every delivery attempt. A notification is signed with the
webhook's secret: HMAC-SHA256 over ``{timestamp}.{body}``, so a receiver can
check both who sent it and when (see README, "Webhooks")."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Annotated, Literal

from pydantic import Field

from talkavocado.domain.events import OUTCOMES
from talkavocado.support.camel import CamelModel
from talkavocado.support.clock import now_iso

WebhookState = Literal["active", "failing", "disabled"]
OutcomeType = Literal["JobCompleted", "JobFailed", "JobCancelled"]
OUTCOME_TYPES: tuple[OutcomeType, ...] = ("JobCompleted", "JobFailed", "JobCancelled")
assert OUTCOME_TYPES == OUTCOMES

SIGNATURE_VERSION = "v1"
EVENT_ID_HEADER = "TalkAvocado-Event-Id"
TIMESTAMP_HEADER = "TalkAvocado-Timestamp"
SIGNATURE_HEADER = "TalkAvocado-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``{timestamp}.{body}`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


class Webhook(CamelModel):
    tenant_id: str
    webhook_id: str
    url: Annotated[str, Field(max_length=2048)]
    event_types: list[OutcomeType]
    secret: str
    state: WebhookState = "active"
    registered_at: str
    # Why it is failing or disabled: the last delivery's trouble.
    reason: str | None = None

    @classmethod
    def register(cls, tenant_id: str, url: str, event_types: list[OutcomeType]) -> Webhook:
        return cls(
            tenant_id=tenant_id,
            webhook_id=str(uuid.uuid4()),
            url=url,
            event_types=sorted(set(event_types)),
            secret=f"whsec_{secrets.token_urlsafe(32)}",
            registered_at=now_iso(),
        )

    def wants(self, detail_type: str) -> bool:
        return self.state != "disabled" and detail_type in self.event_types


DeliveryOutcome = Literal["delivered", "failed", "gave-up", "disabled"]


class Delivery(CamelModel):
    """One attempt to deliver one event to one webhook."""

    webhook_id: str
    event_id: str
    event_type: str
    attempt: Annotated[int, Field(ge=1)]
    at: str
    outcome: DeliveryOutcome
    status_code: int | None = None
    error: str | None = None
    duration_ms: float | None = None
