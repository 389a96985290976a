"""Whose request is this? When API Gateway's authorizer vouches for the
caller, the tenant comes from its claims, and a tenantId in the request that
disagrees is refused before anything is looked up (so the answer reveals
nothing about the job). Without an authorizer the request names its tenant."""

from __future__ import annotations

from typing import Any

from talkavocado.domain.keys import parse_tenant_id
from talkavocado.errors import TenantMismatch, ValidationFailed


def _claims(request_context: dict[str, Any], tenant_claim: str) -> dict[str, Any] | None:
    """JWT claims in any of API Gateway's shapes: REST with a Cognito
    authorizer (``authorizer.claims``), HTTP API with a JWT authorizer
    (``authorizer.jwt.claims``), or a Lambda authorizer's context."""
    authorizer = request_context.get("authorizer") or {}
    if not isinstance(authorizer, dict):
        return None
    for candidate in (
        authorizer.get("claims"),
        (authorizer.get("jwt") or {}).get("claims"),
        authorizer,
    ):
        if isinstance(candidate, dict) and tenant_claim in candidate:
            return candidate
    return None


def tenant_of(request_context: dict[str, Any], requested: str | None, tenant_claim: str) -> str:
    claims = _claims(request_context, tenant_claim)
    if claims is None:
        if requested is None:
            raise ValidationFailed("tenantId is required", field="tenantId")
        return requested
    try:
        tenant = parse_tenant_id(claims[tenant_claim])
    except ValidationFailed:
        raise TenantMismatch("your identity names no valid tenant") from None
    if requested is not None and requested != tenant:
        raise TenantMismatch("tenantId does not match your identity")
    return tenant
