"""The gate every request body passes before routing: JSON in UTF-8, of a
bounded size and depth, or a 4xx that echoes nothing of it back."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from talkavocado.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_BODY_BYTES = 64 * 1024
# The API's documents nest three levels; anything far deeper is an attack.
MAX_DEPTH = 32
JSON = "application/json"


def check_body(request: APIGatewayProxyEvent) -> None:
    """Raise the client error that refuses ``request``'s body, if any."""
    body = request.body
    if not body:
        return
    raw = _bytes_of(body, bool(request.is_base64_encoded))
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body exceeds {MAX_BODY_BYTES} bytes")
    media_type, _, parameters = (request.headers.get("Content-Type") or "").partition(";")
    if media_type.strip().lower() != JSON:
        raise UnsupportedMediaType(f"request bodies must be JSON (Content-Type: {JSON})")
    charset = _charset(parameters)
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType("request bodies must be UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("the request body is not valid UTF-8") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: also integers over 4,300 digits
        raise ValidationFailed("the request body is not valid JSON") from None
    if _depth(document) > MAX_DEPTH:
        raise ValidationFailed(f"the request body nests deeper than {MAX_DEPTH} levels")


def _bytes_of(body: str, is_base64: bool) -> bytes:
    if not is_base64:
        return body.encode("utf-8", errors="surrogateescape")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("the request body is not valid base64") from None


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _depth(document: Any) -> int:
    """How deeply ``document`` nests, without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest
