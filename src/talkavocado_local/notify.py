"""``talkavocado run``'s webhook: the run registers one for its tenant (its
own receiver on loopback, or ``--notify URL``), shows the notification of
the job's outcome arriving, and removes the webhook when it ends."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from talkavocado_local.run import Client

WAIT_SECONDS = 15.0


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """How a receiver checks a notification (the README's recipe)."""
    timestamp = headers.get("TalkAvocado-Timestamp", "0")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    signed = headers.get("TalkAvocado-Signature", "").removeprefix("v1=")
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), signed)


class LoopbackReceiver:
    """An HTTP receiver on 127.0.0.1 that keeps what it got and answers with
    ``answers`` in turn (the last one repeats)."""

    def __init__(self, answers: tuple[int, ...] = (204,)) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((dict(self.headers.items()), body))
                self.send_response(answers[min(len(received), len(answers)) - 1])
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/talkavocado"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Watch:
    def __init__(self, client: Client, webhook: dict[str, Any], own: LoopbackReceiver | None):
        self._client = client
        self._webhook = webhook
        self._own = own

    def report(self, out: TextIO) -> None:
        """Print the notification (own receiver) or the delivery attempts (--notify)."""
        deadline = time.monotonic() + WAIT_SECONDS
        if self._own is not None:
            while not self._own.received and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self._own.received:
                print("no webhook notification arrived", file=out)
                return
            headers, body = self._own.received[0]
            checked = "verified" if verify(self._webhook["secret"], headers, body) else "INVALID"
            event = json.loads(body)
            print(
                f"webhook notification: {event['type']} {event['eventId']} (signature {checked})",
                file=out,
            )
            return
        path = f"/webhooks/{self._webhook['webhookId']}/deliveries"
        deliveries: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            _, page = self._client.call("GET", path)
            deliveries = page.get("deliveries", [])
            if any(d["outcome"] in ("delivered", "gave-up", "disabled") for d in deliveries):
                break
            time.sleep(0.2)
        for delivery in reversed(deliveries):
            answer = delivery.get("statusCode") or delivery.get("error")
            print(
                f"webhook delivery {delivery['attempt']} to {self._webhook['url']}: "
                f"{delivery['outcome']} ({answer})",
                file=out,
            )
        if not deliveries:
            print("no webhook delivery was attempted yet", file=out)


@contextmanager
def notifications(client: Client, url: str | None, out: TextIO) -> Iterator[Watch | None]:
    """A webhook of the run's tenant for the run's length."""
    own = LoopbackReceiver() if url is None else None
    status, webhook = client.call("POST", "/webhooks", {"url": url or own.url})  # type: ignore[union-attr]
    if status != 201:
        print(f"webhook not registered ({status}): {json.dumps(webhook)}", file=out)
        if own is not None:
            own.close()
        yield None
        return
    if url is not None:
        print(f"webhook {webhook['webhookId']} -> {url}, secret {webhook['secret']}", file=out)
    try:
        yield Watch(client, webhook, own)
    finally:
        client.call("DELETE", f"/webhooks/{webhook['webhookId']}")
        if own is not None:
            own.close()
