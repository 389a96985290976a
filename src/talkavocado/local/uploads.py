"""The local runtime's stand-in for S3 presigned PUTs: ``PUT /_uploads/<key>``
with the expiry and signature that LocalStorage's upload target carries."""

from __future__ import annotations

import tempfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from talkavocado import wiring
from talkavocado.adapters.local_storage import UploadSigner
from talkavocado.errors import ValidationFailed
from talkavocado.keys import JobKeys

UPLOAD_PATH = "/_uploads/"
CHUNK = 1024 * 1024
MAX_UPLOAD_BYTES = 5 * 1024**3  # S3's limit for one PUT


def receive(request: BaseHTTPRequestHandler, signer: UploadSigner) -> tuple[HTTPStatus, str]:
    """Store the request's body under the signed key; (status, message)."""
    url = urlsplit(request.path)
    key = unquote(url.path[len(UPLOAD_PATH) :])
    query = parse_qs(url.query)
    try:
        expires = int(query["expires"][0])
        signature = query["signature"][0]
    except (KeyError, ValueError):
        return HTTPStatus.FORBIDDEN, "missing or malformed signature"
    if not signer.verify(key, expires, signature):
        return HTTPStatus.FORBIDDEN, "signature invalid or expired"
    try:
        env, tenant_id, job_id, *_ = key.split("/")
        keys = JobKeys(env, tenant_id, job_id)  # type: ignore[arg-type]
        keys.check(key)
    except (ValueError, ValidationFailed):
        return HTTPStatus.BAD_REQUEST, "not an upload key"
    length = request.headers.get("Content-Length")
    if length is None or not length.isdigit():
        return HTTPStatus.LENGTH_REQUIRED, "Content-Length is required"
    remaining = int(length)
    if remaining > MAX_UPLOAD_BYTES:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "over 5 GiB"
    with tempfile.TemporaryDirectory() as scratch:
        received = Path(scratch) / "upload"
        with received.open("wb") as target:
            while remaining > 0:
                chunk = request.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    return HTTPStatus.BAD_REQUEST, "the body ended early"
                target.write(chunk)
                remaining -= len(chunk)
        wiring.storage().upload(keys, key, received)
    return HTTPStatus.OK, "stored"
