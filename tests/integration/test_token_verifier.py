"""Bearer tokens checked against a real OpenID Connect issuer over HTTP:
signature from its published keys, issuer, audience, expiry."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from talkavocado.adapters.oidc import OidcTokenVerifier
from talkavocado.errors import DependencyUnavailable, Unauthenticated
from tests.issuer import AUDIENCE, TENANT_CLAIM, Issuer, SigningKey, issuer

__all__ = ["issuer"]


@pytest.fixture
def verifier(issuer: Issuer) -> OidcTokenVerifier:
    issuer.available = True
    return OidcTokenVerifier(issuer.url, AUDIENCE)


def test_a_token_the_issuer_signed_for_this_api_is_accepted(
    issuer: Issuer, verifier: OidcTokenVerifier
) -> None:
    claims = verifier.verify(issuer.token("tenant-a"))
    assert claims[TENANT_CLAIM] == "tenant-a"
    assert claims["iss"] == issuer.url


def test_an_audience_list_that_includes_this_api_is_accepted(
    issuer: Issuer, verifier: OidcTokenVerifier
) -> None:
    assert verifier.verify(issuer.token(aud=["other-api", AUDIENCE]))["sub"]


def test_a_cognito_access_token_names_the_api_in_client_id(
    issuer: Issuer, verifier: OidcTokenVerifier
) -> None:
    assert verifier.verify(issuer.token(aud=None, client_id=AUDIENCE, token_use="access"))
    with pytest.raises(Unauthenticated, match="audience"):
        verifier.verify(issuer.token(aud=None, client_id="another-app"))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-api"}, "audience"),
        ({"iss": "https://evil.example.com"}, "issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "exp"),
    ],
)
def test_a_token_for_another_audience_issuer_or_time_is_refused(
    issuer: Issuer, verifier: OidcTokenVerifier, claims: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        verifier.verify(issuer.token(**claims))


def test_a_token_signed_by_a_key_the_issuer_does_not_publish_is_refused(
    issuer: Issuer, verifier: OidcTokenVerifier
) -> None:
    stranger = SigningKey()
    with pytest.raises(Unauthenticated):
        verifier.verify(issuer.token(key=stranger))
    impostor = jwt.encode(
        {"iss": issuer.url, "aud": AUDIENCE, "exp": int(time.time()) + 60, TENANT_CLAIM: "a"},
        stranger.private,
        algorithm="RS256",
        headers={"kid": issuer.keys[0].kid},  # claims a published key id
    )
    with pytest.raises(Unauthenticated):
        verifier.verify(impostor)


def test_a_token_whose_claims_were_edited_after_signing_is_refused(
    issuer: Issuer, verifier: OidcTokenVerifier
) -> None:
    header, payload, signature = issuer.token("tenant-a").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims[TENANT_CLAIM] = "tenant-b"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        verifier.verify(f"{header}.{edited}.{signature}")


def test_unsigned_and_shared_secret_tokens_are_refused(
    issuer: Issuer, verifier: OidcTokenVerifier
) -> None:
    claims = {"iss": issuer.url, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    kid = {"kid": issuer.keys[0].kid}
    unsigned = jwt.encode(claims, key="", algorithm="none", headers=kid)
    public_pem = (
        issuer.keys[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    # The published key used as an HMAC secret: the classic algorithm confusion.
    confused = _hs256(claims, public_pem, kid)
    for token in (unsigned, confused, "not-a-jwt", ""):
        with pytest.raises(Unauthenticated):
            verifier.verify(token)


def _hs256(claims: dict[str, object], secret: bytes, header: dict[str, str]) -> str:
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = ".".join(
        b64(json.dumps(part).encode()) for part in ({"alg": "HS256", **header}, claims)
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_keys_are_fetched_once_and_again_only_when_the_issuer_rotates(issuer: Issuer) -> None:
    verifier = OidcTokenVerifier(issuer.url, AUDIENCE, refetch_cooldown_seconds=0)
    before = issuer.jwks_requests
    for _ in range(5):
        verifier.verify(issuer.token())
    assert issuer.jwks_requests == before + 1
    old = issuer.keys[0]
    new = issuer.rotate()
    assert verifier.verify(issuer.token(key=new))
    assert issuer.jwks_requests == before + 2
    with pytest.raises(Unauthenticated):
        verifier.verify(issuer.token(key=old))


def test_forged_key_ids_do_not_make_the_verifier_hammer_the_issuer(
    issuer: Issuer, verifier: OidcTokenVerifier
) -> None:
    verifier.verify(issuer.token())
    before = issuer.jwks_requests
    strangers = [SigningKey() for _ in range(3)]
    for stranger in strangers * 3:
        with pytest.raises(Unauthenticated):
            verifier.verify(issuer.token(key=stranger))
    assert issuer.jwks_requests == before  # within the cooldown of the first fetch


def test_an_unreachable_issuer_is_a_dependency_failure_not_a_refusal(issuer: Issuer) -> None:
    verifier = OidcTokenVerifier(issuer.url, AUDIENCE)
    issuer.available = False
    try:
        with pytest.raises(DependencyUnavailable):
            verifier.verify(issuer.token())
    finally:
        issuer.available = True
    assert verifier.verify(issuer.token())  # recovers without a restart


def test_a_discovery_document_for_another_issuer_is_refused(issuer: Issuer) -> None:
    verifier = OidcTokenVerifier(issuer.url + "/tenant-x", AUDIENCE)
    with pytest.raises(DependencyUnavailable):
        verifier.verify(issuer.token())
