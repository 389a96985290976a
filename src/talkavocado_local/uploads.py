"""The local runtime's stand-in for S3 presigned POSTs: ``POST /_uploads``, a
multipart form of the fields the job's upload target lists and the file
last, accepted only within its signed policy (key, content type, size, expiry)
and only while the job has not started: a started job's input never changes."""

from __future__ import annotations

import json
import tempfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
from python_multipart import FormParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from talkavocado import wiring
from talkavocado.adapters.upload_policy import (
    FILE_FIELD,
    SIGNATURE_FIELD,
    PolicyRefused,
    SizeRefused,
    UploadSigner,
    length_range,
)
from talkavocado.domain.errors import InvalidKey
from talkavocado.domain.keys import JobKeys

UPLOAD_PATH = "/_uploads"
CHUNK = 1024 * 1024
# Room for the form's fields and part headers around the file.
FORM_OVERHEAD = 64 * 1024
# A refused body up to this size is read to its end before the answer.
DRAIN_LIMIT = 64 * 1024 * 1024

Answer = tuple[HTTPStatus, str]


class _Form:
    """The form as it streams in: its fields, then its one file, on disk."""

    def __init__(self, scratch: Path) -> None:
        self.fields: dict[str, str] = {}
        self.file: Any = None
        self._scratch = scratch

    def parser(self, content_type: str, boundary: bytes) -> FormParser:
        # On disk from the first byte; the scratch directory removes it.
        config = {
            "UPLOAD_DIR": str(self._scratch),
            "MAX_MEMORY_FILE_SIZE": 0,
            "UPLOAD_DELETE_TMP": False,
        }
        return FormParser(content_type, self._field, self._file, boundary=boundary, config=config)

    def _field(self, field: Any) -> None:
        name = field.field_name.decode(errors="replace")
        self.fields[name] = (field.value or b"").decode(errors="replace")

    def _file(self, file: Any) -> None:
        if file.field_name == FILE_FIELD.encode() and self.file is None:
            self.file = file


def receive(request: BaseHTTPRequestHandler, signer: UploadSigner) -> Answer:
    """Store the form's file under its signed key; (status, message)."""
    length = request.headers.get("Content-Length", "")
    if not length.isdigit():
        return _refuse(request, HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
    remaining = int(length)
    content_type, options = parse_options_header(request.headers.get("Content-Type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        return _refuse(
            request, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send a multipart/form-data form", remaining
        )
    if remaining > wiring.settings().max_upload_bytes + FORM_OVERHEAD:
        return _refuse(request, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "over the upload limit")
    with tempfile.TemporaryDirectory(prefix="talkavocado-upload-") as scratch:
        form = _Form(Path(scratch))
        parser = form.parser(content_type.decode(), options[b"boundary"])
        try:
            while remaining > 0:
                chunk = request.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    return _refuse(request, HTTPStatus.BAD_REQUEST, "the body ended early")
                remaining -= len(chunk)
                parser.write(chunk)
                limit = _signed_limit(form, signer)
                if limit is not None and int(length) > limit + FORM_OVERHEAD:
                    too_large = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                    return _refuse(request, too_large, "over the size its policy allows", remaining)
            parser.finalize()
        except FormParserError:
            return _refuse(request, HTTPStatus.BAD_REQUEST, "the form is malformed", remaining)
        except PolicyRefused as refused:
            return _refuse(request, HTTPStatus.FORBIDDEN, str(refused), remaining)
        try:
            return _store(form, signer)
        finally:
            if form.file is not None:
                form.file.close()  # before its directory goes


def _signed_limit(form: _Form, signer: UploadSigner) -> int | None:
    """The largest file the form's policy allows, once its fields are in."""
    if form.file is not None or SIGNATURE_FIELD not in form.fields:
        return None
    bounds = length_range(signer.signed_policy(form.fields))
    return bounds[1] if bounds else None


def _store(form: _Form, signer: UploadSigner) -> Answer:
    if form.file is None:
        return HTTPStatus.BAD_REQUEST, "the form has no file field"
    form.file.file_object.flush()
    try:
        signer.accept(form.fields, form.file.size)
    except SizeRefused as refused:
        too_large = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        return too_large if refused.too_large else HTTPStatus.BAD_REQUEST, str(refused)
    except PolicyRefused as refused:
        return HTTPStatus.FORBIDDEN, str(refused)
    key = form.fields.get("key", "")
    try:
        keys = JobKeys.owning(key)
    except InvalidKey:
        return HTTPStatus.BAD_REQUEST, "not an upload key"
    job = wiring.jobs().get(keys.tenant_id, keys.job_id)
    if job is None:
        return HTTPStatus.NOT_FOUND, "no such job"
    if job.started_at is not None or job.status != "pending":
        return HTTPStatus.CONFLICT, "the job has started: its input can no longer change"
    wiring.storage().upload(keys, key, Path(form.file.actual_file_name.decode()))
    _announce_stored(key, form.file.size)
    return HTTPStatus.NO_CONTENT, "stored"


def _announce_stored(key: str, size: int) -> None:
    """What S3 sends EventBridge for its bucket: Object Created, on the
    default bus (where the template's InputStoredRule listens)."""
    detail = {
        "version": "0",
        "bucket": {"name": wiring.settings().media_bucket or "local"},
        "object": {"key": key, "size": size},
        "reason": "PostObject",
    }
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": "aws.s3",
                "DetailType": "Object Created",
                "Detail": json.dumps(detail),
                "EventBusName": "default",
            }
        ]
    )


def _refuse(
    request: BaseHTTPRequestHandler, status: HTTPStatus, message: str, unread: int = -1
) -> Answer:
    """Refuse; the unread rest of the body is read and dropped when small (so
    the client, still sending, hears the answer), else the connection closes."""
    if 0 <= unread <= DRAIN_LIMIT:
        while unread > 0 and (dropped := request.rfile.read(min(CHUNK, unread))):
            unread -= len(dropped)
    else:
        request.close_connection = True
    return status, message
