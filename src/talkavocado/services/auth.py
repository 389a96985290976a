"""Who is calling? With a token issuer configured, every request carries a
bearer token that issuer signed for this API, naming the caller's tenant.
Without one (local runs, a dev stage), requests name their tenant themselves."""

from __future__ import annotations

from dataclasses import dataclass

from talkavocado.domain.keys import parse_tenant_id
from talkavocado.errors import TenantMismatch, Unauthenticated, ValidationFailed
from talkavocado.ports import TokenVerifier

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Caller:
    principal: str
    # None when no issuer is configured: the request itself names the tenant.
    tenant_id: str | None


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("an Authorization: Bearer <token> header is required")
    return token.strip()


def authenticate(
    authorization: str | None,
    verifier: TokenVerifier | None,
    tenant_claim: str,
    *,
    allow_anonymous: bool,
) -> Caller:
    """The caller behind an ``Authorization`` header. ``Unauthenticated`` for
    a missing or invalid token, or for any call where no issuer is configured
    and anonymous callers are not explicitly allowed; ``TenantMismatch`` for a
    valid token that names no valid tenant."""
    if verifier is None:
        if not allow_anonymous:
            raise Unauthenticated(
                "this deployment has no token issuer and does not allow anonymous callers"
            )
        return Caller(principal=ANONYMOUS, tenant_id=None)
    claims = verifier.verify(bearer_token(authorization))
    tenant = claims.get(tenant_claim)
    try:
        tenant_id = parse_tenant_id(tenant)
    except ValidationFailed:
        raise TenantMismatch(f"the token's {tenant_claim} claim names no valid tenant") from None
    return Caller(principal=str(claims.get("sub") or tenant_id), tenant_id=tenant_id)
