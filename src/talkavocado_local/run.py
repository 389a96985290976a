"""``talkavocado run VIDEO``: one video through the whole pipeline on the local
runtime, the way a client uses the API: create the job, PUT the video to the
upload URL it answers with, start it, and follow GET /jobs/{jobId} until it
finishes. With a bearer token (when the stack requires one, JWT_ISSUER) the
tenant is the token's."""

from __future__ import annotations

import json
import logging
import mimetypes
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from talkavocado import wiring
from talkavocado.domain.errors import ValidationFailed
from talkavocado.domain.keys import JobKeys, parse_tenant_id, safe_filename
from talkavocado.media.planner import CutPlan
from talkavocado.support.observability import logger
from talkavocado_local.notify import notifications
from talkavocado_local.runtime import LocalRuntime

POLL_SECONDS = 0.2
TERMINAL = ("completed", "failed", "cancelled")


# Media extensions the standard table misses or maps elsewhere (.ts: Qt
# translations; .mts: 3D models) that camcorders and recorders write.
_MEDIA_TYPES = {
    ".ts": "video/mp2t",
    ".mts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".3gp": "video/3gpp",
    ".caf": "audio/x-caf",
}


def _mime_type(video: Path) -> str:
    guessed = _MEDIA_TYPES.get(video.suffix.lower()) or mimetypes.guess_type(video.name)[0]
    if guessed is None or not guessed.startswith(("video/", "audio/")):
        raise ValidationFailed(
            f"{video.name}: not a video or audio file name (expected e.g. .mp4, .mov, .mkv, .m4a)"
        )
    return guessed


@dataclass(frozen=True)
class Client:
    """Calls the local API as one caller: a bearer token, or a named tenant."""

    api: str
    tenant_id: str
    token: str | None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif body is not None:
            body = {"tenantId": self.tenant_id, **body}
        else:
            path += f"?tenantId={self.tenant_id}"
        return _call(method, self.api + path, body, headers)


def _call(method: str, url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the local runtime's own loopback URL
        url, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def upload_file(upload: dict[str, Any], path: Path) -> int:
    """POST ``path`` as an upload target asks (S3's presigned POST, or the
    local route): its fields, then the file, streamed; the HTTP status."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in upload["fields"].items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb") as content:
            yield from iter(lambda: content.read(1024 * 1024), b"")
        yield tail

    request = urllib.request.Request(  # noqa: S310 - the upload target the API answered
        upload["url"],
        data=body(),
        method=upload["method"],
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


class Progress:
    """Prints each step's status as it changes."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._seen: dict[str, str] = {}

    def update(self, job: dict[str, Any]) -> None:
        total = len(job["steps"])
        for index, (name, step) in enumerate(job["steps"].items(), start=1):
            if self._seen.get(name) == step["status"] or step["status"] == "pending":
                continue
            self._seen[name] = step["status"]
            detail = ""
            if step.get("error"):
                detail = f"  {step['error']['type']}: {step['error']['message']}"
            elif step["attempts"] > 1:
                detail = f"  (attempt {step['attempts']})"
            print(f"  [{index}/{total}] {name:<18} {step['status']}{detail}", file=self._out)


def run_video(
    video: Path,
    tenant_id: str,
    timeout: float,
    log_file: Path,
    out: TextIO = sys.stdout,
    token: str | None = None,
    notify: str | None = None,
) -> int:
    """Returns the exit status: 0 when the job completed, 1 otherwise. The
    job's outcome is also pushed to a webhook: ``notify``, or the run's own
    receiver, whose notification is printed."""
    tenant_id = parse_tenant_id(tenant_id)
    if timeout <= 0:
        raise ValidationFailed(f"the timeout must be a positive number of seconds, not {timeout}")
    size = _input_size(video)
    mime_type = _mime_type(video)
    filename = safe_filename(video.name)

    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as log_stream:
        handler = cast(logging.StreamHandler, logger.registered_handler)  # type: ignore[type-arg]
        previous_stream = handler.setStream(log_stream)
        runtime = LocalRuntime(api_port=0, emulator_port=0, keep_state=True).start()
        try:
            assert runtime.api is not None
            client = Client(runtime.api.url, tenant_id, token)
            with notifications(client, notify, out) as watch:
                code, finished = _drive(client, video, size, filename, mime_type, timeout, out)
                # Only a job that ended announces its end: nothing to wait for otherwise.
                if watch is not None and finished:
                    watch.report(out)
                return code
        finally:
            runtime.stop()
            handler.setStream(previous_stream)
            print(f"function logs: {log_file}", file=out)


def _input_size(video: Path) -> int:
    """The file's size, once it is known to be a file with something in it."""
    if video.is_dir():
        raise ValidationFailed(f"{video}: is a directory, not a video file")
    if not video.exists():
        raise ValidationFailed(f"{video}: no such file")
    if not video.is_file():
        raise ValidationFailed(f"{video}: not a regular file")
    size = video.stat().st_size
    if size == 0:
        raise ValidationFailed(f"{video}: the file is empty (0 bytes): there is nothing to cut")
    return size


def _drive(
    client: Client,
    video: Path,
    size: int,
    filename: str,
    mime_type: str,
    timeout: float,
    out: TextIO,
) -> tuple[int, bool]:
    """The exit status, and whether the job ended (completed, failed or cancelled)."""
    settings = wiring.settings()
    job_id = str(uuid.uuid4())
    print(f"{video.name} ({size / 1_000_000:.1f} MB)", file=out)
    status, created = client.call(
        "POST",
        "/jobs",
        {
            "jobId": job_id,
            "input": {"originalFilename": filename, "bytes": size, "mimeType": mime_type},
        },
    )
    if status != 201:
        print(f"job refused ({status}): {_reason(created)}", file=out)
        return 1, False
    print(f"tenant {created['tenantId']}", file=out)
    keys = JobKeys(settings.env, created["tenantId"], job_id)
    # The same flow as any client: the file to the upload target, then start.
    status = upload_file(created["upload"], video)
    if status >= 300:
        print(f"upload refused ({status})", file=out)
        return 1, False
    status, accepted = client.call("POST", f"/jobs/{job_id}/start")
    if status != 202:
        print(f"job not started ({status}): {_reason(accepted)}", file=out)
        return 1, False
    print(f"job {job_id}", file=out)

    started = time.monotonic()
    progress = Progress(out)
    while True:
        _, job = client.call("GET", f"/jobs/{job_id}")
        progress.update(job)
        if job["status"] in TERMINAL:
            break
        if time.monotonic() - started > timeout:
            print(f"gave up waiting after {timeout:g} s; the job is {job['status']}", file=out)
            return 1, False
        time.sleep(POLL_SECONDS)

    print(f"job {job['status']} in {time.monotonic() - started:.1f} s", file=out)
    if job["artifacts"]["plan"]:
        _print_cuts(wiring.storage().get(keys, job["artifacts"]["plan"]).data, out)
    print(json.dumps(job, indent=2), file=out)
    root = settings.storage_path
    print("files:", file=out)
    for label, key in [
        ("manifest", job["manifestKey"]),
        ("input", keys.input),
        *[(name, key) for name, key in _artifacts(job)],
    ]:
        print(f"  {label:<10} {root / key}", file=out)
    return (0 if job["status"] == "completed" else 1), True


def _reason(answer: Any) -> str:
    """An API error as a person reads it: its message and each problem."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return json.dumps(answer)
    problems = (error.get("details") or {}).get("problems") or []
    reasons = [f"{problem.get('field')}: {problem.get('reason')}" for problem in problems]
    return "; ".join([str(error.get("message")), *reasons])


def _print_cuts(plan_document: bytes, out: TextIO) -> None:
    plan = CutPlan.model_validate_json(plan_document)
    print(
        f"cut {plan.total_cuts} parts, {plan.cut_duration:.1f} s of {plan.source_duration:.1f} s:",
        file=out,
    )
    for cut in plan.cuts():
        print(
            f"  {cut.start:8.2f} - {cut.end:8.2f} s  ({cut.end - cut.start:5.2f} s)  {cut.reason}",
            file=out,
        )
    print(f"before {plan.source_duration:.1f} s -> after {plan.kept_duration:.1f} s", file=out)


def _artifacts(job: dict[str, Any]) -> list[tuple[str, str]]:
    artifacts = job["artifacts"]
    found = [(name, artifacts[name]) for name in ("audio", "transcript", "plan") if artifacts[name]]
    found += [("render", key) for key in artifacts["renders"]]
    captions = artifacts.get("captions") or {}
    return found + [
        (f"captions {kind}", captions[kind]) for kind in ("srt", "vtt") if kind in captions
    ]
