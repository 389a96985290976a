"""Every malformed request gets a 4xx with the JSON error body: never a 500,
never a traceback, never request text echoed back."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.handlers.api import lambda_handler
from talkavocado_local.invoke import LocalContext
from talkavocado_local.template import Template
from tests.conftest import sample_event
from tests.e2e.conftest import Stack


def context() -> LambdaContext:
    """A fresh invocation's context: its remaining time counts down."""
    return cast(LambdaContext, LocalContext.for_function("ApiFunction"))


MARKER = "zz_marker_zz"


def create(body: str, content_type: str | None = "application/json", b64: bool = False) -> Any:
    event = copy.deepcopy(sample_event("api_create_job.json"))
    headers = {"X-Correlation-Id": "attack-1"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    event["headers"] = headers
    event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    event["body"] = body
    event["isBase64Encoded"] = b64
    return lambda_handler(event, context())


def raw(data: bytes) -> tuple[str, bool]:
    return base64.b64encode(data).decode(), True


VALID = json.dumps({"tenantId": "demo-tenant"})
DECLARED = '{"originalFilename": "a.mp4", "mimeType": "video/mp4", "bytes": '
HUGE_BYTES = '{"tenantId": "t", "input": ' + DECLARED + "9" * 4000 + "}}"

MALFORMED: dict[str, tuple[dict[str, Any], int]] = {
    "20,000-deep array": ({"body": "[" * 20_000 + "]" * 20_000}, 400),
    "deep object": ({"body": '{"a":' * 5_000 + "1" + "}" * 5_000}, 400),
    "invalid UTF-8": (
        {"body": base64.b64encode(b'{"tenantId": "\xff\xfe"}').decode(), "b64": True},
        400,
    ),
    "lone surrogate": ({"body": '{"tenantId": "\\ud800"}'}, 400),
    "4,301-digit integer": (
        {"body": '{"tenantId": "t", "input": {"bytes": ' + "9" * 4301 + "}}"},
        400,
    ),
    "4,000-digit integer": ({"body": HUGE_BYTES}, 400),
    "text/plain": ({"body": VALID, "content_type": "text/plain"}, 415),
    "application/xml": (
        {"body": "<job><tenantId>t</tenantId></job>", "content_type": "application/xml"},
        415,
    ),
    "form body": (
        {"body": f"{MARKER}=1&tenantId=t", "content_type": "application/x-www-form-urlencoded"},
        415,
    ),
    "multipart body": (
        {
            "body": '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--',
            "content_type": "multipart/form-data; boundary=b",
        },
        415,
    ),
    "no content type": ({"body": VALID, "content_type": None}, 415),
    "latin-1 charset": ({"body": VALID, "content_type": "application/json; charset=latin-1"}, 415),
    "not JSON": ({"body": "{tenantId: t"}, 400),
    "bad base64": ({"body": "!!!", "b64": True}, 400),
    "NaN": ({"body": '{"tenantId": NaN}'}, 400),
    "unknown field named like the marker": (
        {"body": json.dumps({"tenantId": "t", MARKER: 1})},
        400,
    ),
    "over 64 KiB": ({"body": json.dumps({"tenantId": "t", "pad": "x" * 70_000})}, 413),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_request_gets_a_4xx_json_error(aws: Template, case: str) -> None:
    arguments, expected = MALFORMED[case]
    response = create(**arguments)
    assert response["statusCode"] == expected
    body = json.loads(response["body"])
    assert set(body) == {"error", "correlationId"}
    assert body["correlationId"] == "attack-1"
    assert "Traceback" not in response["body"]
    assert MARKER not in response["body"]


def test_json_with_a_utf8_charset_is_accepted(aws: Template) -> None:
    response = create(VALID, "application/json; charset=UTF-8")
    assert response["statusCode"] == 201


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        ("[" * 20_000 + "]" * 20_000, "application/json", 400),
        (b'{"tenantId": "\xff"}', "application/json", 400),
        (VALID, "text/plain", 415),
        (f"{MARKER}=1", "application/x-www-form-urlencoded", 415),
    ],
)
def test_over_http_a_malformed_request_gets_a_4xx_json_error(
    stack: Stack, raw: str | bytes, content_type: str, expected: int
) -> None:
    data = raw.encode() if isinstance(raw, str) else raw
    response = stack.request("POST", "/jobs", raw=data, headers={"Content-Type": content_type})
    assert response.status == expected
    assert set(response.body) == {"error", "correlationId"}
    assert MARKER not in json.dumps(response.body)
