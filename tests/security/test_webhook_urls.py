"""Webhook URLs cannot be turned against the deployment (SSRF): in a deployed
configuration only https to public addresses is called, checked after DNS
resolution, and redirects are never followed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from talkavocado.adapters.webhook_http import HttpWebhookSender
from talkavocado.domain.errors import UnsafeWebhookUrl
from talkavocado.local.template import Template
from tests.integration.test_api_handler import create_event, invoke

DEPLOYED = HttpWebhookSender(allow_loopback=False)
LOCAL = HttpWebhookSender(allow_loopback=True)

REFUSED_WHEN_DEPLOYED = [
    "https://169.254.169.254/latest/meta-data/iam/",  # the instance metadata service
    "https://[fd00:ec2::254]/",  # its IPv6 address
    "https://127.0.0.1/",
    "https://localhost/",
    "https://[::1]/",
    "https://10.0.0.8/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://0.0.0.0/",
    "https://[::ffff:127.0.0.1]/",  # loopback dressed as IPv6
    "https://224.0.0.1/",
    "http://93.184.216.34/",  # public, but not https
    "https://user:secret@93.184.216.34/",
    "ftp://93.184.216.34/",
    "file:///etc/passwd",
    "https:///no-host",
    "not a url",
    "https://no-such-host.invalid/",
]


@pytest.mark.parametrize("url", REFUSED_WHEN_DEPLOYED)
def test_a_deployed_stage_refuses_urls_that_are_not_https_to_a_public_address(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        DEPLOYED.check(url)


def test_a_public_https_address_is_accepted() -> None:
    DEPLOYED.check("https://93.184.216.34/hooks?x=1")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.8/", "https://169.254.169.254/", "http://192.168.1.1:8080/"]
)
def test_locally_only_loopback_is_added_to_what_is_allowed(url: str) -> None:
    LOCAL.check("http://127.0.0.1:8080/hooks")
    with pytest.raises(UnsafeWebhookUrl):
        LOCAL.check(url)


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            self.wfile.write(b"x" * 200_000)  # more than it will ever read

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    server.shutdown()


def test_a_redirect_is_never_followed(redirecting: tuple[str, list[str]]) -> None:
    url, seen = redirecting
    result = LOCAL.post(url, b"{}", {"Content-Type": "application/json"})
    assert (result.status, seen) == (302, ["/hook"])


def test_an_unsafe_url_is_never_called_even_if_stored() -> None:
    result = DEPLOYED.post("https://169.254.169.254/", b"{}", {})
    assert result.status is None and result.error is not None


def register_event(url: str) -> dict[str, Any]:
    event = create_event({"tenantId": "demo-tenant", "url": url})
    event["path"] = event["resource"] = event["requestContext"]["resourcePath"] = "/webhooks"
    return event


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "http://127.0.0.1:9000/"])
def test_the_api_refuses_to_register_an_unsafe_url_in_a_deployed_configuration(
    aws: Template, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.delenv("WEBHOOK_ALLOW_LOOPBACK", raising=False)
    status, body, _ = invoke(register_event(url))
    assert (status, body["error"]["details"]["field"]) == (400, "url")
    assert "secret" not in json.dumps(body)
