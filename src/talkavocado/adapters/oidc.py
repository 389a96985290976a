"""Verifies bearer tokens against an OpenID Connect issuer: its signing keys
come from the JWKS its discovery document names, fetched once and cached
(a key the cache lacks is fetched again, so key rotation needs no restart)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any

import jwt

from talkavocado.errors import DependencyUnavailable, Unauthenticated

# Asymmetric algorithms only: "none" and the HMAC family (which would let a
# published public key act as a shared secret) are never accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
CLOCK_SKEW_SECONDS = 30
KEYS_LIFESPAN_SECONDS = 3600
# A token naming an unknown key refetches the keys at most this often, so a
# flood of forged key ids cannot turn into a flood of requests to the issuer.
REFETCH_COOLDOWN_SECONDS = 30.0


class OidcTokenVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        timeout_seconds: float = 3.0,
        refetch_cooldown_seconds: float = REFETCH_COOLDOWN_SECONDS,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._timeout = timeout_seconds
        self._cooldown = refetch_cooldown_seconds
        self._keys: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def verify(self, token: str) -> Mapping[str, Any]:
        try:
            key = self._key_client().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as unreachable:
            message = f"the issuer's keys could not be fetched: {unreachable}"
            raise DependencyUnavailable(message) from unreachable
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as unknown:
            raise Unauthenticated(f"the token is not signed by the issuer: {unknown}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.InvalidTokenError as invalid:
            raise Unauthenticated(f"the token is not valid: {invalid}") from None
        if not self._is_for_this_api(claims):
            raise Unauthenticated("the token was issued for another audience")
        return claims

    def _is_for_this_api(self, claims: Mapping[str, Any]) -> bool:
        """``aud`` names the API (ID tokens, most access tokens); Cognito access
        tokens carry no ``aud`` and name the app client in ``client_id``."""
        audience = claims.get("aud")
        if audience is None:
            return claims.get("client_id") == self._audience
        audiences = [audience] if isinstance(audience, str) else audience
        return isinstance(audiences, list) and self._audience in audiences

    def _key_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._keys is None:
                self._keys = jwt.PyJWKClient(
                    self._jwks_uri(),
                    # The key set is cached (lifespan), not keys one by one: a
                    # per-key cache would keep accepting a key the issuer withdrew.
                    cache_jwk_set=True,
                    lifespan=KEYS_LIFESPAN_SECONDS,
                    timeout=self._timeout,
                    cooldown_duration=self._cooldown,
                )
            return self._keys

    def _jwks_uri(self) -> str:
        url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=self._timeout) as response:  # noqa: S310 - the configured issuer
                discovery = json.load(response)
        except (OSError, ValueError) as failed:  # unreachable, HTTP error, not JSON
            message = f"the issuer's discovery document failed: {failed}"
            raise DependencyUnavailable(message) from failed
        if not isinstance(discovery, dict) or discovery.get("issuer") != self._issuer:
            raise DependencyUnavailable(f"{url} does not describe the issuer {self._issuer}")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise DependencyUnavailable(f"{url} names no jwks_uri")
        return jwks_uri
