"""Page tokens are the client's to send back: whatever a token holds (a
tampered cursor of the right tenant and listing, attributes of the wrong
type or name, nonsense), the listings answer 200 or 400, never 500, and
never a page of someone else's partition."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talkavocado import wiring
from talkavocado_local.template import Template
from tests.e2e.conftest import Stack
from tests.integration.test_api_handler import create_event, get_event, invoke

TENANT = "tenant-tokens"


def encode(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def listing_event(
    path: str, resource: str, parameters: dict[str, str] | None = None, **query: str
) -> dict[str, Any]:
    event = get_event("3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69", TENANT)
    event["httpMethod"], event["path"], event["resource"] = "GET", path, resource
    event["requestContext"]["resourcePath"] = resource
    event["pathParameters"] = parameters
    query = {"tenantId": TENANT, **query}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


class Listings:
    """The three paged listings of one tenant: jobs (all, and by status), a
    job's history and a webhook's deliveries, each with the scope its token
    is bound to and a cursor of the right shape."""

    def __init__(self, job_id: str, webhook_id: str) -> None:
        self.job_id, self.webhook_id = job_id, webhook_id

    def cases(self) -> dict[str, tuple[dict[str, Any], list[str | None]]]:
        """name: (its request, the scope its tokens are bound to)."""
        job, webhook = {"jobId": self.job_id}, {"webhookId": self.webhook_id}
        return {
            "jobs": (listing_event("/jobs", "/jobs"), [None, None, None]),
            "jobs by status": (
                listing_event("/jobs", "/jobs", status="pending"),
                ["pending", None, None],
            ),
            "history": (
                listing_event(f"/jobs/{self.job_id}/history", "/jobs/{jobId}/history", job),
                ["history", self.job_id],
            ),
            "deliveries": (
                listing_event(
                    f"/webhooks/{self.webhook_id}/deliveries",
                    "/webhooks/{webhookId}/deliveries",
                    webhook,
                ),
                ["deliveries", self.webhook_id],
            ),
        }

    def ask(self, case: str, token: str) -> tuple[int, dict[str, Any]]:
        event = self.cases()[case][0]
        event["queryStringParameters"]["nextToken"] = token
        event["multiValueQueryStringParameters"]["nextToken"] = [token]
        status, body, _ = invoke(event)
        return status, body

    def bound(self, case: str, cursor: Any) -> str:
        """A token for ``case``'s listing of the tenant, carrying ``cursor``."""
        return encode({"tenantId": TENANT, "filters": self.cases()[case][1], "cursor": cursor})


@pytest.fixture
def listings(aws: Template, monkeypatch: pytest.MonkeyPatch) -> Listings:
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")  # a receiver that is never called
    wiring.reset()
    status, job, _ = invoke(create_event({"tenantId": TENANT}))
    assert status == 201, job
    event = create_event({"tenantId": TENANT, "url": "http://127.0.0.1:9/hook"})
    event["path"] = event["resource"] = event["requestContext"]["resourcePath"] = "/webhooks"
    status, webhook, _ = invoke(event)
    assert status == 201, webhook
    return Listings(job["jobId"], webhook["webhookId"])


# What the probes sent: the tenant's own partition, a sort key of the wrong type.
TAMPERED = [
    {"tenantId": {"S": TENANT}, "jobSort": "x"},
    {"tenantId": {"S": TENANT}, "jobSort": {"N": "1"}},
    {"tenantId": {"S": TENANT}, "jobSort": {"S": "JOB#x", "N": "1"}},
    {"tenantId": {"S": TENANT}, "itemKey": {"S": ""}},
    {"tenantId": {"S": TENANT}, "itemKey": {"S": "x" * 2000}},
    {"tenantId": {"S": TENANT}},
    {"tenantId": {"S": TENANT}, "jobSort": {"S": "x"}, "createdAt": {"B": "eA=="}},
    {"tenantId": {"S": TENANT}, "jobSort": {"S": "x"}, "statusSort": None},
    {"tenantId": {"S": TENANT}, "jobSort": {"S": "x"}, "other": {"S": "x"}},
    {"tenantId": TENANT, "jobSort": {"S": "x"}},
    {"tenantId": {"SS": [TENANT]}, "jobSort": {"S": "x"}},
    {},
]


def test_a_tampered_cursor_of_the_right_listing_is_a_400(listings: Listings) -> None:
    for case in listings.cases():
        for cursor in TAMPERED:
            status, body = listings.ask(case, listings.bound(case, cursor))
            assert (status, body["error"]["code"]) == (400, "VALIDATION_FAILED"), (case, cursor)
            assert body["error"]["details"] == {"field": "nextToken"}


UNDECODABLE = [
    base64.urlsafe_b64encode(b"[" * 1500 + b"]" * 1500).decode(),  # nested past recursion
    encode({"tenantId": TENANT, "filters": [None, None, None], "cursor": "x"}),
    "é" * 10,
    "====",
    encode("1" * 5000),
]


def test_an_undecodable_token_is_a_400(listings: Listings) -> None:
    for token in UNDECODABLE:
        assert listings.ask("jobs", token)[0] == 400, token


def test_the_next_page_of_a_real_token_is_still_read(listings: Listings) -> None:
    for _ in range(2):
        assert invoke(create_event({"tenantId": TENANT}))[0] == 201
    status, first, _ = invoke(listing_event("/jobs", "/jobs", limit="1"))
    assert status == 200 and first["nextToken"]
    status, second = listings.ask("jobs", first["nextToken"])
    assert status == 200 and second["jobs"][0]["jobId"] != first["jobs"][0]["jobId"]


KEYS = st.sampled_from(["tenantId", "jobSort", "itemKey", "createdAt", "statusSort", "x"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
ATTRIBUTES = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(["S", "N", "B", "SS", "BOOL", "NULL", "M", "L"]), JSON),
    st.builds(lambda s: {"S": s}, st.text(max_size=40)),
    st.just({"S": TENANT}),
)
CURSORS = st.one_of(JSON, st.dictionaries(KEYS, ATTRIBUTES, max_size=4))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=st.sampled_from(["jobs", "jobs by status", "history", "deliveries"]),
    cursor=CURSORS,
    raw=st.one_of(st.none(), st.text(max_size=60), st.binary(max_size=60)),
)
def test_no_token_ever_gets_a_500(
    listings: Listings, case: str, cursor: Any, raw: str | bytes | None
) -> None:
    if raw is None:
        token = listings.bound(case, cursor)
    elif isinstance(raw, bytes):
        token = base64.urlsafe_b64encode(raw).decode()
    else:
        token = raw
    status, body = listings.ask(case, token)
    assert status in (200, 400), body


def test_over_http_a_tampered_cursor_is_a_400(stack: Stack) -> None:
    tenant = "tenant-tokens-http"
    job_id = stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    hook = {"tenantId": tenant, "url": "http://127.0.0.1:9/hook"}
    webhook_id = stack.request("POST", "/webhooks", hook).body["webhookId"]
    cursor = {"tenantId": {"S": tenant}, "jobSort": "x"}
    tokens = {
        "/jobs": [None, None, None],
        f"/jobs/{job_id}/history": ["history", job_id],
        f"/webhooks/{webhook_id}/deliveries": ["deliveries", webhook_id],
    }
    for path, scope in tokens.items():
        token = encode({"tenantId": tenant, "filters": scope, "cursor": cursor})
        answer = stack.request("GET", f"{path}?tenantId={tenant}&nextToken={token}")
        assert (answer.status, answer.body["error"]["code"]) == (400, "VALIDATION_FAILED")
