"""Outbound webhook calls that cannot be turned against us (SSRF): https
only, to public addresses only, checked after DNS resolution and then
connected to that very address (no second lookup to rebind), no redirects
followed, short timeouts, a capped answer. Locally, loopback over http is
allowed so a user can receive on their own machine."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from talkavocado.domain.errors import UnsafeWebhookUrl
from talkavocado.ports import HttpResult

TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class _PinnedHttps(http.client.HTTPSConnection):
    """HTTPS to ``host`` (its certificate and SNI) at an address already checked."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class HttpWebhookSender:
    def __init__(self, allow_loopback: bool = False) -> None:
        self._allow_loopback = allow_loopback

    def _allowed(self, address: Address) -> bool:
        if self._allow_loopback and address.is_loopback:
            return True
        # is_global excludes private, loopback, link-local (the metadata
        # service's 169.254.169.254), shared, reserved and documentation ranges.
        return address.is_global and not address.is_multicast

    def _target(self, url: str) -> tuple[str, str, int, str, Address]:
        """(scheme, host, port, path, the address to connect to)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UnsafeWebhookUrl("the webhook URL is not a valid URL", field="url") from None
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or not host:
            raise UnsafeWebhookUrl("the webhook URL must be https://host/...", field="url")
        if parts.username is not None or parts.password is not None:
            raise UnsafeWebhookUrl("the webhook URL must not carry credentials", field="url")
        port = port or (443 if parts.scheme == "https" else 80)
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise UnsafeWebhookUrl(
                f"the webhook host {host!r} does not resolve", field="url"
            ) from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        if not addresses or not all(self._allowed(a) for a in addresses):
            raise UnsafeWebhookUrl(
                "the webhook URL must point at a public address "
                "(not private, loopback, link-local or metadata)",
                field="url",
            )
        if parts.scheme == "http" and not all(a.is_loopback for a in addresses):
            raise UnsafeWebhookUrl("the webhook URL must use https", field="url")
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        return parts.scheme, host, port, path, addresses[0]

    def check(self, url: str) -> None:
        self._target(url)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResult:
        started = time.perf_counter()
        try:
            scheme, host, port, path, address = self._target(url)
        except UnsafeWebhookUrl as unsafe:
            return HttpResult(None, unsafe.message, 0.0)
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = _PinnedHttps(host, str(address), port, TIMEOUT_SECONDS)
        else:
            connection = http.client.HTTPConnection(str(address), port, timeout=TIMEOUT_SECONDS)
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": host if port in (80, 443) else f"{host}:{port}"},
            )
            answer = connection.getresponse()
            answer.read(MAX_ANSWER_BYTES)  # never more; redirects are not followed
            return HttpResult(answer.status, None, _ms_since(started))
        except (OSError, http.client.HTTPException) as failed:
            return HttpResult(None, f"{type(failed).__name__}: {failed}"[:300], _ms_since(started))
        finally:
            connection.close()


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
