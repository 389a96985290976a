"""The local runtime's stand-in for S3 presigned GET URLs: ``GET /_media``
with the key, its expiry and their signature (the API hands them out, for a
tenant's own job only), streamed from local storage with byte ranges, as a
player asks for them when it seeks."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.adapters.upload_policy import PolicyRefused, UploadSigner
from talkavocado.domain.keys import JobKeys
from talkavocado.errors import InvalidKey

CHUNK = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_TYPES = {".mp4": "video/mp4", ".mp3": "audio/mpeg", ".json": "application/json"}

Answer = tuple[HTTPStatus, str]


@dataclass(frozen=True)
class Download:
    """What is sent: its status, headers and the bytes, read as they go."""

    status: HTTPStatus
    headers: list[tuple[str, str]]
    body: Iterator[bytes]


def serve(request: BaseHTTPRequestHandler, signer: UploadSigner, root: Path) -> Download | Answer:
    """The signed key's bytes (or the range asked for); or the refusal, for
    the front to answer in the API's error shape."""
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
    size = path.stat().st_size
    asked = request.headers.get("Range")
    span = _span(asked, size)
    if span is None:
        handle.close()
        headers = [("Content-Range", f"bytes */{size}"), ("Content-Length", "0")]
        return Download(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, headers, iter(()))
    first, last = span
    length = last - first + 1 if size else 0
    headers = [
        ("Content-Type", _TYPES.get(path.suffix, "application/octet-stream")),
        ("Accept-Ranges", "bytes"),
        ("Cache-Control", "private, max-age=300"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Length", str(length)),
    ]
    if asked is not None:
        headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
    status = HTTPStatus.PARTIAL_CONTENT if asked is not None else HTTPStatus.OK
    return Download(status, headers, _read(handle, first, length))


def _read(handle: BinaryIO, first: int, length: int) -> Iterator[bytes]:
    """The bytes, a chunk at a time; the file is closed when the answer is
    sent or dropped (a player that seeks drops the rest)."""
    with handle:
        handle.seek(first)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk


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
