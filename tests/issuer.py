"""A real OpenID Connect issuer on a local port: discovery document, JWKS
and RSA-signed tokens, so token checks run the same code as against Cognito
or Auth0. ``available = False`` makes it answer 503, like an outage."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "talkavocado-api"
TENANT_CLAIM = "custom:tenant_id"


class SigningKey:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}


class Issuer:
    def __init__(self) -> None:
        self.keys = [SigningKey()]
        self.available = True
        self.jwks_requests = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not issuer.available:
                    self.send_error(503)
                    return
                body: dict[str, Any]
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
                elif self.path == "/jwks.json":
                    issuer.jwks_requests += 1
                    body = {"keys": [key.jwk() for key in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def token(
        self,
        tenant: str | None = "tenant-a",
        *,
        key: SigningKey | None = None,
        lifetime: float = 300,
        **claims: Any,
    ) -> str:
        """A token for tenant ``tenant``; ``claims`` override or add claims
        (a value of None removes that claim)."""
        signer = key or self.keys[0]
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": f"user-of-{tenant}",
            "iat": now,
            "exp": now + int(lifetime),
            TENANT_CLAIM: tenant,
            **claims,
        }
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, signer.private, algorithm="RS256", headers={"kid": signer.kid})

    def rotate(self) -> SigningKey:
        """A new signing key replaces the old one in the JWKS."""
        self.keys = [SigningKey()]
        return self.keys[0]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    try:
        yield running
    finally:
        running.stop()
