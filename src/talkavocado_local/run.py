"""``talkavocado run VIDEO``: one video through the whole pipeline on the local
runtime, the way a client uses the API: create the job (with the planner's
settings asked for), PUT the video to the upload URL it answers with, start
it, and follow GET /jobs/{jobId} until it finishes; then the render (and its
captions, and a timeline export) beside the input. A stack already running
(``talkavocado up``) is used; otherwise one is started for the run. With a
bearer token (when the stack requires one, JWT_ISSUER) the tenant is the
token's."""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from talkavocado import wiring
from talkavocado.domain.keys import JobKeys, parse_tenant_id, safe_filename
from talkavocado.domain.pipeline import PIPELINE
from talkavocado.errors import ValidationFailed
from talkavocado.support.observability import logger
from talkavocado_local.functions import StackAddress, state_folder
from talkavocado_local.notify import notifications
from talkavocado_local.runtime import LocalRuntime
from talkavocado_local.uploads import UPLOAD_PATH

POLL_SECONDS = 0.2
TERMINAL = ("completed", "failed", "cancelled")
# A running step's progress line is printed again this often, with its time.
TICK_SECONDS = 5.0
# Steps allowed more than five minutes: their progress is worth a line.
LONG_STEPS = tuple(step.name for step in PIPELINE if step.needs.timeout > 300)
# Containers the render's H.264/AAC MP4 can be named as; others get .mp4.
SAME_CONTAINER = (".mp4", ".m4v", ".mov")


@dataclass(frozen=True)
class RunOptions:
    """What a run asks beyond the defaults: where the render goes (None: it
    stays in storage), the planner's settings (None: the stack's), a
    timeline to export beside the input, planning only, the job as JSON."""

    output: Path | None = None
    margin: float | None = None
    min_pause: float | None = None
    fillers: list[str] | None = None
    export: str | None = None
    dry_run: bool = False
    as_json: bool = False

    def settings(self) -> dict[str, Any]:
        asked: dict[str, Any] = {
            "marginSeconds": self.margin,
            "minPauseSeconds": self.min_pause,
            "fillers": self.fillers,
        }
        settings = {name: value for name, value in asked.items() if value is not None}
        if self.dry_run:
            settings["review"] = True  # planned, then stopped before the render
        return settings


def default_output(video: Path) -> Path:
    """``NAME_cut.EXT`` beside the input (an MP4 the render is: ``.mp4``
    unless the input's name is one an MP4 may carry; ``.m4a`` for sound alone)."""
    suffix = video.suffix.lower()
    if _mime_type(video).startswith("audio/"):
        suffix = ".m4a"
    elif suffix not in SAME_CONTAINER:
        suffix = ".mp4"
    return video.with_name(f"{video.stem}_cut{suffix}")


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
        elif body is not None and method == "POST":
            body = {"tenantId": self.tenant_id, **body}
        else:
            path += f"?tenantId={self.tenant_id}"
        return _call(method, self.api + path, body, headers)

    def fetch(self, path: str) -> tuple[int, bytes]:
        """A file the API answers (an export): its status and bytes."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query = "" if self.token else f"?tenantId={self.tenant_id}"
        request = urllib.request.Request(self.api + path + query, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


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
    """Prints each step's status as it changes, and a long step's time while
    it runs (every TICK_SECONDS)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._seen: dict[str, str] = {}
        self._running: dict[str, float] = {}  # when each step was seen running
        self._ticked: dict[str, float] = {}

    def update(self, job: dict[str, Any]) -> None:
        total = len(job["steps"])
        now = time.monotonic()
        for index, (name, step) in enumerate(job["steps"].items(), start=1):
            key = f"{job.get('run', 1)}:{name}"
            status = step["status"]
            if self._seen.get(key) == status or status == "pending":
                if status == "running" and name in LONG_STEPS:
                    self._tick(key, index, total, name, now)
                continue
            self._seen[key] = status
            detail = ""
            if step.get("error"):
                detail = f"  {step['error']['type']}: {step['error']['message']}"
            elif step["attempts"] > 1:
                detail = f"  (attempt {step['attempts']})"
            if status == "running":
                self._running[key] = self._ticked[key] = now
            elif key in self._running:
                detail = f"  {now - self._running.pop(key):.1f} s{detail}"
            print(f"  [{index}/{total}] {name:<18} {status}{detail}", file=self._out)

    def _tick(self, key: str, index: int, total: int, name: str, now: float) -> None:
        if now - self._ticked.get(key, now) < TICK_SECONDS:
            return
        self._ticked[key] = now
        elapsed = now - self._running.get(key, now)
        print(f"  [{index}/{total}] {name:<18} running  {elapsed:.0f} s", file=self._out)


def run_video(
    video: Path,
    tenant_id: str,
    timeout: float,
    log_file: Path,
    out: TextIO | None = None,
    token: str | None = None,
    notify: str | None = None,
    options: RunOptions | None = None,
) -> int:
    """Returns the exit status: 0 when the job completed (or, for a dry run,
    was planned), 1 otherwise. The job's outcome is also pushed to a
    webhook: ``notify``, or the run's own receiver, whose notification is
    printed. A stack already running is used; else one is started."""
    options = options or RunOptions()
    out = out or sys.stdout  # as it is now (not when this module was imported)
    tenant_id = parse_tenant_id(tenant_id)
    if timeout <= 0:
        raise ValidationFailed(f"the timeout must be a positive number of seconds, not {timeout}")
    size = _input_size(video)
    mime_type = _mime_type(video)
    filename = safe_filename(video.name)

    running = _running_api()
    if running is not None:
        print(f"using the stack running at {running}", file=out)
        client = Client(running, tenant_id, token)
        code, _ = _drive(client, video, size, filename, mime_type, timeout, out, options)
        return code
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as log_stream:
        handler = cast(logging.StreamHandler, logger.registered_handler)  # type: ignore[type-arg]
        previous_stream = handler.setStream(log_stream)
        runtime = LocalRuntime(api_port=0, emulator_port=0, keep_state=True).start()
        try:
            assert runtime.api is not None
            client = Client(runtime.api.url, tenant_id, token)
            with notifications(client, notify, out) as watch:
                code, finished = _drive(
                    client, video, size, filename, mime_type, timeout, out, options
                )
                # Only a job that ended announces its end: nothing to wait for otherwise.
                if watch is not None and finished and not options.dry_run:
                    watch.report(out)
                return code
        finally:
            runtime.stop()
            handler.setStream(previous_stream)
            print(f"function logs: {log_file}", file=out)


def _running_api() -> str | None:
    """The API of a stack `talkavocado up` runs (with this storage), if it answers."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None  # a stack of its own over that endpoint
    try:
        address = StackAddress.find(state_folder())
    except ValidationFailed:
        return None
    if not address.upload_url or not address.upload_url.endswith(UPLOAD_PATH):
        return None
    api = address.upload_url.removesuffix(UPLOAD_PATH)
    try:
        with urllib.request.urlopen(api + "/jobs/-", timeout=2):  # noqa: S310 - loopback
            pass
    except urllib.error.HTTPError:
        return api  # it answers (an error for a job that cannot exist)
    except OSError:
        return None
    return api


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
    options: RunOptions,
) -> tuple[int, bool]:
    """The exit status, and whether the job ended (completed, failed or cancelled)."""
    job_id = str(uuid.uuid4())
    print(f"{video.name} ({size / 1_000_000:.1f} MB)", file=out)
    body: dict[str, Any] = {
        "jobId": job_id,
        "input": {"originalFilename": filename, "bytes": size, "mimeType": mime_type},
    }
    if options.settings():
        body["settings"] = options.settings()
    status, created = client.call("POST", "/jobs", body)
    if status != 201:
        print(f"job refused ({status}): {_reason(created)}", file=out)
        return 1, False
    print(f"tenant {created['tenantId']}", file=out)
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
    stops = (*TERMINAL, "awaiting-review") if options.dry_run else TERMINAL
    while True:
        _, job = client.call("GET", f"/jobs/{job_id}")
        progress.update(job)
        if job["status"] in stops:
            break
        if time.monotonic() - started > timeout:
            print(f"gave up waiting after {timeout:g} s; the job is {job['status']}", file=out)
            return 1, False
        time.sleep(POLL_SECONDS)

    planned = job["status"] == "awaiting-review"
    if planned:  # a dry run: the plan is all it wanted; nothing is rendered
        print(
            f"job planned in {time.monotonic() - started:.1f} s (dry run: not rendered)", file=out
        )
        _, job = client.call("POST", f"/jobs/{job_id}/cancel")
        _, job = client.call("GET", f"/jobs/{job_id}")
    else:
        print(f"job {job['status']} in {time.monotonic() - started:.1f} s", file=out)
    status, plan = client.call("GET", f"/jobs/{job_id}/plan")
    if options.as_json:
        print(json.dumps(job, indent=2), file=out)
    elif status == 200:
        _print_cuts(plan, out)
    written = _take_away(client, job_id, job, video, options, out) if status == 200 else []
    if not options.as_json:
        _print_files(job, written, out)
    succeeded = planned or job["status"] == "completed"
    return (0 if succeeded else 1), True


def _take_away(
    client: Client,
    job_id: str,
    job: dict[str, Any],
    video: Path,
    options: RunOptions,
    out: TextIO,
) -> list[Path]:
    """The render (and its captions) at ``options.output``, and the timeline
    export beside the input: the files written."""
    written: list[Path] = []
    if options.export:
        status, data = client.fetch(f"/jobs/{job_id}/exports/{options.export}")
        if status == 200:
            target = video.with_name(f"{video.stem}_cut.{options.export}")
            target.write_bytes(data)
            written.append(target)
        else:
            print(f"export {options.export} refused ({status}): {data[:300]!r}", file=out)
    renders = job["artifacts"]["renders"]
    if options.output is None or job["status"] != "completed" or not renders:
        return written
    settings = wiring.settings()
    keys = JobKeys(settings.env, job["tenantId"], job_id)
    with tempfile.TemporaryDirectory() as scratch:
        # Local storage hands back the stored file itself: a copy leaves it be.
        shutil.copyfile(wiring.storage().fetch(keys, renders[0], Path(scratch)), options.output)
    written.append(options.output)
    for fmt in ("srt", "vtt"):  # the captions of the cut, when the stack makes them
        status, data = client.fetch(f"/jobs/{job_id}/exports/{fmt}")
        if status == 200:
            captions = options.output.with_suffix(f".{fmt}")
            captions.write_bytes(data)
            written.append(captions)
    return written


def _print_files(job: dict[str, Any], written: list[Path], out: TextIO) -> None:
    print(json.dumps(job, indent=2), file=out)
    settings = wiring.settings()
    keys = JobKeys(settings.env, job["tenantId"], job["jobId"])
    root = settings.storage_path
    print("files:", file=out)
    for label, key in [
        ("manifest", job["manifestKey"]),
        ("input", keys.input),
        *[(name, key) for name, key in _artifacts(job)],
    ]:
        print(f"  {label:<10} {root / key}", file=out)
    for path in written:
        print(f"  {'written':<10} {path}", file=out)


def _reason(answer: Any) -> str:
    """An API error as a person reads it: its message and each problem."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return json.dumps(answer)
    problems = (error.get("details") or {}).get("problems") or []
    reasons = [f"{problem.get('field')}: {problem.get('reason')}" for problem in problems]
    return "; ".join([str(error.get("message")), *reasons])


def _print_cuts(plan: dict[str, Any], out: TextIO) -> None:
    """The cuts as the render makes them (GET /jobs/{jobId}/plan)."""
    cuts = [s for s in plan["segments"] if s["action"] == "cut"]
    total = plan["sourceDuration"]
    removed = sum(s["end"] - s["start"] for s in cuts)
    print(f"cut {len(cuts)} parts, {removed:.1f} s of {total:.1f} s:", file=out)
    for cut in cuts:
        print(
            f"  {cut['start']:8.2f} - {cut['end']:8.2f} s  ({cut['end'] - cut['start']:5.2f} s)  "
            f"{cut['reason']}",
            file=out,
        )
    print(f"before {total:.1f} s -> after {plan['keptDuration']:.1f} s", file=out)


def _artifacts(job: dict[str, Any]) -> list[tuple[str, str]]:
    artifacts = job["artifacts"]
    found = [(name, artifacts[name]) for name in ("audio", "transcript", "plan") if artifacts[name]]
    found += [("render", key) for key in artifacts["renders"]]
    captions = artifacts.get("captions") or {}
    return found + [
        (f"captions {kind}", captions[kind]) for kind in ("srt", "vtt") if kind in captions
    ]
