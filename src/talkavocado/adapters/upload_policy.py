"""Upload policies as S3 writes and checks them for a presigned POST: a
base64 JSON document of an expiry and conditions (the exact key and content
type, a content-length range), signed; a form upload is accepted only when
its fields and its file meet every condition. The local runtime signs and
checks its own; tests check S3's with the same rules."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from talkavocado.ports import UploadTarget

POLICY_FIELD = "policy"
SIGNATURE_FIELD = "x-amz-signature"
FILE_FIELD = "file"
# Form fields that sign the policy rather than being bound by it (SigV4 and V2).
_UNBOUND = frozenset({POLICY_FIELD, SIGNATURE_FIELD, FILE_FIELD, "signature", "awsaccesskeyid"})


def encode(document: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def decode(policy: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
    except (binascii.Error, ValueError):
        raise PolicyRefused("the upload policy is malformed") from None
    if not isinstance(document, dict) or not isinstance(document.get("conditions"), list):
        raise PolicyRefused("the upload policy is malformed")
    return document


class PolicyRefused(Exception):
    """An upload its policy does not allow; the message says which condition."""


class SizeRefused(PolicyRefused):
    """A file outside the policy's content-length range: ``too_large``, or
    under its lower bound (an empty file, say)."""

    def __init__(self, message: str, too_large: bool) -> None:
        super().__init__(message)
        self.too_large = too_large


def length_range(document: dict[str, Any]) -> tuple[int, int] | None:
    for condition in document["conditions"]:
        if isinstance(condition, list) and condition[:1] == ["content-length-range"]:
            return int(condition[1]), int(condition[2])
    return None


def check(document: dict[str, Any], fields: dict[str, str], size: int, now: float) -> None:
    """Raise PolicyRefused unless ``fields`` and a file of ``size`` bytes meet
    every condition of ``document`` before it expires, and every field is one
    the policy names (S3's rules for a POST upload)."""
    expiry = datetime.fromisoformat(str(document.get("expiration", "")).replace("Z", "+00:00"))
    if expiry.timestamp() < now:
        raise PolicyRefused("the upload policy has expired")
    bound: set[str] = set()
    for condition in document["conditions"]:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            condition = ["eq", f"${name}", expected]
        operator, subject, *values = condition
        if operator == "content-length-range":
            low, high = int(subject), int(values[0])
            if size > high:
                raise SizeRefused(f"the file must be at most {high} bytes; it is {size}", True)
            if size < low:
                small = "the file is empty" if size == 0 else f"the file is {size} bytes"
                raise SizeRefused(f"{small}; it must be at least {low}", False)
            continue
        name = str(subject).lstrip("$")
        bound.add(name.lower())
        value = fields.get(name, fields.get(name.lower(), ""))
        if operator == "eq" and value != values[0]:
            raise PolicyRefused(f"{name} must be {values[0]!r}")
        if operator == "starts-with" and not value.startswith(values[0]):
            raise PolicyRefused(f"{name} must start with {values[0]!r}")
    extra = {
        name
        for name in fields
        if name.lower() not in bound | _UNBOUND and not name.lower().startswith("x-ignore-")
    }
    if extra:
        raise PolicyRefused("the form has fields its policy does not allow")


def content_type_condition(content_type: str | None) -> dict[str, str] | list[str]:
    """That content type exactly, or any (a job that declared no input)."""
    if content_type is None:
        return ["starts-with", "$Content-Type", ""]
    return {"Content-Type": content_type}


class UploadSigner:
    """Signs upload policies for the local runtime's upload route, under a
    secret of the run, the way S3 presigns a POST."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url.rstrip("/")
        self._secret = secret.encode()

    def _sign(self, policy: str) -> str:
        return hmac.new(self._secret, policy.encode(errors="replace"), hashlib.sha256).hexdigest()

    def target(
        self, key: str, content_type: str | None, max_bytes: int, expires_in: int
    ) -> UploadTarget:
        expiry = datetime.now(UTC) + timedelta(seconds=expires_in)
        document = {
            "expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conditions": [
                {"key": key},
                content_type_condition(content_type),
                ["content-length-range", 1, max_bytes],
            ],
        }
        policy = encode(document)
        fields = {"key": key, POLICY_FIELD: policy, SIGNATURE_FIELD: self._sign(policy)}
        if content_type is not None:
            fields["Content-Type"] = content_type
        return UploadTarget(self.url, "POST", fields, expires_in)

    def signed_policy(self, fields: dict[str, str]) -> dict[str, Any]:
        """The policy a form carries, once its signature is checked."""
        policy = fields.get(POLICY_FIELD, "")
        signature = fields.get(SIGNATURE_FIELD, "")
        # As bytes: compare_digest refuses a str that is not ASCII.
        expected, given = self._sign(policy).encode(), signature.encode(errors="replace")
        if not hmac.compare_digest(expected, given):
            raise PolicyRefused("the upload policy's signature is invalid")
        return decode(policy)

    def accept(self, fields: dict[str, str], size: int) -> None:
        check(self.signed_policy(fields), fields, size, time.time())
