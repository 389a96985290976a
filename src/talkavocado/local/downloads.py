"""The local runtime's stand-in for S3 presigned GET URLs: ``GET /_media``
with the key, its expiry and their signature (the API hands them out, for a
tenant's own job only), streamed from local storage with byte ranges, as a
player asks for them when it seeks."""

from __future__ import annotations

import re
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.adapters.upload_policy import PolicyRefused, UploadSigner
from talkavocado.domain.errors import InvalidKey
from talkavocado.domain.keys import JobKeys

CHUNK = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_TYPES = {".mp4": "video/mp4", ".mp3": "audio/mpeg", ".json": "application/json"}

Answer = tuple[HTTPStatus, str]


def serve(request: BaseHTTPRequestHandler, signer: UploadSigner, root: Path) -> Answer | None:
    """Send the signed key's bytes (or the range asked for) and return None;
    or the refusal, for the front to answer in the API's error shape."""
    query = parse_qs(urlsplit(request.path).query)
    key, expires, signature = (
        query.get(name, [""])[-1] for name in ("key", "expires", "signature")
    )
    try:
        signer.check_download(key, expires, signature, time.time())
    except PolicyRefused as refused:
        return HTTPStatus.FORBIDDEN, str(refused)
    try:  # signed by the API for one job's object; checked again all the same
        path = LocalStorage(root).path_of(JobKeys.owning(key), key)
    except InvalidKey:
        return HTTPStatus.FORBIDDEN, "the link names no object"
    try:
        handle = path.open("rb")
    except (FileNotFoundError, IsADirectoryError):
        return HTTPStatus.NOT_FOUND, "no such object"
    with handle:
        size = path.stat().st_size
        span = _span(request.headers.get("Range"), size)
        if span is None:
            request.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            request.send_header("Content-Range", f"bytes */{size}")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return None
        first, last = span
        partial = request.headers.get("Range") is not None
        request.send_response(HTTPStatus.PARTIAL_CONTENT if partial else HTTPStatus.OK)
        request.send_header("Content-Type", _TYPES.get(path.suffix, "application/octet-stream"))
        request.send_header("Accept-Ranges", "bytes")
        request.send_header("Cache-Control", "private, max-age=300")
        request.send_header("X-Content-Type-Options", "nosniff")
        if partial:
            request.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        request.send_header("Content-Length", str(last - first + 1 if size else 0))
        request.end_headers()
        handle.seek(first)
        remaining = last - first + 1 if size else 0
        try:
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                request.wfile.write(chunk)
                remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            request.close_connection = True  # a player that seeks drops the rest
    return None


def _span(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte to send; None when the range cannot be met."""
    if header is None:
        return 0, max(0, size - 1)
    found = _RANGE.match(header.strip())
    if found is None or found.groups() == ("", ""):
        return None
    start, end = found.groups()
    if start == "":  # the last ``end`` bytes
        length = int(end)
        return (max(0, size - length), size - 1) if length and size else None
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    return (first, last) if first <= last else None
