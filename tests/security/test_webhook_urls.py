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
from talkavocado_local.template import Template
from tests.integration.test_api_handler import create_event, invoke

DEPLOYED = HttpWebhookSender(allow_loopback=False)

# Each IPv6 form that carries an IPv4 address, with 169.254.169.254 and 127.0.0.1 in it.
EMBEDDING_FORMS = [
    "::169.254.169.254",  # IPv4-compatible
    "::127.0.0.1",
    "::ffff:0:169.254.169.254",  # IPv4-translated (SIIT)
    "64:ff9b::a9fe:a9fe",  # NAT64, the well-known prefix
    "64:ff9b::7f00:1",
    "64:ff9b:1:a9fe:a9:fe00::",  # NAT64, local use, a /48 prefix
    "64:ff9b:1::a9fe:a9fe",  # the same, a /96 prefix
    "2002:a9fe:a9fe::1",  # 6to4
    "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254 (inverted)
    "2001:0:a9fe:a9fe:8000:63bf:a2c6:22dd",  # Teredo through a relay at 169.254.169.254
]
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
    *(
        # IPv6 forms that carry the metadata service's or a loopback address
        f"https://[{form}]/"
        for form in EMBEDDING_FORMS
    ),
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
    "form",
    [
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
        "2002:5db8:d822::1",  # 6to4 of it
        "::ffff:0:93.184.216.34",
    ],
)
def test_an_ipv6_form_of_a_public_ipv4_address_is_accepted(form: str) -> None:
    DEPLOYED.check(f"https://[{form}]/hooks")


@pytest.mark.parametrize("form", EMBEDDING_FORMS)
def test_locally_ipv6_forms_are_judged_by_the_ipv4_address_they_carry(form: str) -> None:
    if "127" in form or "7f00" in form:
        LOCAL.check(f"http://[{form}]:8080/hooks")  # loopback, however written
    else:
        with pytest.raises(UnsafeWebhookUrl):
            LOCAL.check(f"http://[{form}]:8080/hooks")


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
