"""Outbound webhook calls that cannot be turned against us (SSRF): https
only, to public addresses only, checked after DNS resolution and then
connected to that very address (no second lookup to rebind), no redirects
followed, a capped answer. Each call has one deadline for all of it (the
lookup, connecting, TLS, sending and the whole answer): a receiver trickling
its answer a byte at a time is cut off there, as is one that never answers.
Locally, loopback over http is allowed so a user can receive on their own
machine."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from urllib.parse import urlsplit

from talkavocado.domain.errors import UnsafeWebhookUrl
from talkavocado.ports import HttpResult

# The whole call, from the lookup to the last byte of the answer read.
DEADLINE_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that carry an IPv4 address and reach it: NAT64 (RFC 6052's
# well-known prefix, and its local-use /48), SIIT's IPv4-translated form, and
# the deprecated IPv4-compatible one. 6to4, Teredo and IPv4-mapped addresses
# have properties of their own.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _low32(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _local_nat64(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address RFC 6052 can place after a prefix of 48 to 96 bits
    inside 64:ff9b:1::/48 (the operator picks the length, so all are judged)."""
    bits = int(address)

    def field(start: int, width: int) -> int:  # ``width`` bits from bit ``start`` (0: the top)
        return (bits >> (128 - start - width)) & ((1 << width) - 1)

    # Bits 64-71 (the "u" octet) never carry any of the address.
    spans = {
        48: [(48, 16), (72, 16)],
        56: [(56, 8), (72, 24)],
        64: [(72, 32)],
        96: [(96, 32)],
    }
    found = []
    for parts in spans.values():
        value = 0
        for start, width in parts:
            value = (value << width) | field(start, width)
        found.append(ipaddress.IPv4Address(value))
    return found


def carried(address: Address) -> list[Address]:
    """The addresses a connection to ``address`` really reaches: the IPv4
    address an IPv6 form carries (one or, for Teredo, two), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # the relay's and the client's
    if address in _NAT64 or address in _TRANSLATED:
        return [_low32(address)]
    if address in _NAT64_LOCAL:
        return list(_local_nat64(address))
    if address in _COMPATIBLE and int(address) > 1:  # not :: nor ::1
        return [_low32(address)]
    return [address]


class _Call:
    """One POST, run by a thread of its own so that its caller can stop
    waiting at the deadline. Then the call is abandoned: its socket is shut
    down, which ends any read or write blocked on it (the call's own thread
    closes it), and a socket it opens after that is closed at once."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline  # on time.monotonic()
        self.result: HttpResult | None = None
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._abandoned = False

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the deadline has passed")
        return remaining

    def connect(self, address: str, port: int, tls_host: str | None) -> socket.socket:
        sock = socket.create_connection((address, port), self.left())
        with self._lock:
            if self._abandoned:
                sock.close()
                raise TimeoutError("the deadline has passed")
            if tls_host is not None:  # the plain socket is handed over to the TLS one
                context = ssl.create_default_context()
                sock = context.wrap_socket(
                    sock, server_hostname=tls_host, do_handshake_on_connect=False
                )
            self._socket = sock
        if tls_host is not None:
            sock.settimeout(self.left())
            sock.do_handshake()  # type: ignore[attr-defined]
        return sock

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            sock = self._socket
        if sock is not None:
            # The plain socket's shutdown, also under TLS: it wakes a reader
            # blocked in the other thread without touching the TLS state.
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Http(http.client.HTTPConnection):
    """HTTP or HTTPS (certificate and SNI of ``host``) to ``host`` at an
    address already checked, each socket held by its call."""

    def __init__(self, call: _Call, host: str, address: str, port: int, tls: bool) -> None:
        super().__init__(host, port, timeout=call.left())
        self._call = call
        self._address = address
        self._tls = tls

    def connect(self) -> None:
        self.sock = self._call.connect(self._address, self.port, self.host if self._tls else None)


class HttpWebhookSender:
    def __init__(self, allow_loopback: bool = False, deadline: float = DEADLINE_SECONDS) -> None:
        self._allow_loopback = allow_loopback
        self._deadline = deadline

    def _allowed(self, address: Address) -> bool:
        """Judged by what it reaches: an IPv6 form carrying an IPv4 address
        (``[::169.254.169.254]``, ``[64:ff9b::7f00:1]``, ...) by that address."""
        return all(self._allowed_one(reached) for reached in carried(address))

    def _allowed_one(self, address: Address) -> bool:
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
        if parts.scheme == "http" and not all(
            reached.is_loopback for a in addresses for reached in carried(a)
        ):
            raise UnsafeWebhookUrl("the webhook URL must use https", field="url")
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        return parts.scheme, host, port, path, addresses[0]

    def check(self, url: str) -> None:
        self._target(url)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResult:
        """Answered within the deadline, whatever the receiver does."""
        started = time.perf_counter()
        call = _Call(time.monotonic() + self._deadline)
        worker = threading.Thread(
            target=self._attempt, args=(call, url, body, headers, started), daemon=True
        )
        worker.start()
        worker.join(self._deadline)
        if worker.is_alive() or call.result is None:
            call.abandon()
            return HttpResult(None, self._late(), _ms_since(started))
        return call.result

    def _late(self) -> str:
        return f"no complete answer within {self._deadline:g} s"

    def _attempt(
        self, call: _Call, url: str, body: bytes, headers: Mapping[str, str], started: float
    ) -> None:
        try:
            scheme, host, port, path, address = self._target(url)
        except UnsafeWebhookUrl as unsafe:
            call.result = HttpResult(None, unsafe.message, 0.0)
            return
        connection = _Http(call, host, str(address), port, tls=scheme == "https")
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": host if port in (80, 443) else f"{host}:{port}"},
            )
            answer = connection.getresponse()
            answer.read(MAX_ANSWER_BYTES)  # never more; redirects are not followed
            call.result = HttpResult(answer.status, None, _ms_since(started))
        except TimeoutError:  # a read or write that ran into the deadline
            call.result = HttpResult(None, self._late(), _ms_since(started))
        except (OSError, http.client.HTTPException, ValueError) as failed:
            error = f"{type(failed).__name__}: {failed}"[:300]
            call.result = HttpResult(None, error, _ms_since(started))
        finally:
            connection.close()


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
