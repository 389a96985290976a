"""The local runtime: the same functions as on AWS, wired by template.yaml to
an embedded emulator (or to ``AWS_ENDPOINT_URL``) instead of AWS."""

from __future__ import annotations

import os
import secrets
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import boto3

from talkavocado import wiring
from talkavocado.adapters import ffmpeg, pocketsphinx_engine, whisper_engine
from talkavocado.config import Settings
from talkavocado.domain.keys import parse_env
from talkavocado.support.observability import logger
from talkavocado_local import downloads
from talkavocado_local.background import Background
from talkavocado_local.emulator import Emulator, provision
from talkavocado_local.http_front import ApiServer
from talkavocado_local.invoke import REGION, load_handler, one_at_a_time
from talkavocado_local.isolation import in_own_context
from talkavocado_local.pollers import QueuePoller, event_sources
from talkavocado_local.schedules import ScheduleTimer, schedules
from talkavocado_local.state import Mismatch, Restored, StateFile, StateKeeper, reconcile
from talkavocado_local.template import Template
from talkavocado_local.uploads import UPLOAD_PATH, receive

# How long running steps may take to finish when the stack stops.
SHUTDOWN_GRACE_SECONDS = 20.0
DRAIN_AFTER_INTERRUPT_SECONDS = 15.0

# Used only against the embedded emulator, which accepts any credentials.
_EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def _endpoint_defaults(session: boto3.Session) -> dict[str, str]:
    """A local endpoint (LocalStack, say) needs a region and some credentials;
    whatever the caller configured wins, the emulator's stand-ins fill gaps."""
    defaults = {}
    region = session.region_name or os.environ.get("AWS_REGION")
    if session.region_name is None:  # boto3 reads AWS_DEFAULT_REGION, not AWS_REGION
        defaults.update({"AWS_DEFAULT_REGION": region or REGION, "AWS_REGION": region or REGION})
    if session.get_credentials() is None:
        defaults.update({k: v for k, v in _EMULATOR_ENV.items() if k.endswith(("_ID", "_KEY"))})
    return defaults


def _receive_upload(request: BaseHTTPRequestHandler) -> tuple[HTTPStatus, str]:
    signer = wiring.upload_signer()
    if signer is None:
        return HTTPStatus.NOT_FOUND, "uploads are not served here"
    return receive(request, signer)


def _send_download(
    request: BaseHTTPRequestHandler,
) -> downloads.Download | tuple[HTTPStatus, str]:
    signer = wiring.upload_signer()
    if signer is None:
        return HTTPStatus.NOT_FOUND, "downloads are not served here"
    return downloads.serve(request, signer, wiring.settings().storage_path)


def default_template_path() -> Path:
    here = Path("template.yaml")
    if here.is_file():
        return here
    return Path(__file__).resolve().parents[2] / "template.yaml"


class LocalRuntime:
    def __init__(
        self,
        template_path: Path | None = None,
        host: str = "127.0.0.1",
        api_port: int = 3000,
        emulator_port: int = 5050,
        workers: bool = True,
        keep_state: bool = False,
        grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
        schedule_seconds: float | None = None,
    ) -> None:
        """``workers=False`` serves the API only: events wait in their queues
        and scheduled functions do not run. ``keep_state`` restores the
        emulator's tables and queues of the last run from the storage folder,
        and keeps them there (local/state.py). ``schedule_seconds`` runs the
        scheduled functions that often instead of at their template rate."""
        self._template_path = template_path or default_template_path()
        self._host = host
        self._api_port = api_port
        self._emulator_port = emulator_port
        self._workers = workers
        self._keep_state = keep_state
        self._grace_seconds = grace_seconds
        self._schedule_seconds = schedule_seconds
        self._saved_env: dict[str, str | None] = {}
        self.emulator: Emulator | None = None
        self.api: ApiServer | None = None
        self.template: Template | None = None
        self.pollers: list[QueuePoller] = []
        self.timers: list[ScheduleTimer] = []
        self.state: StateFile | None = None
        self.restored: Restored | None = None
        self.mismatch: Mismatch | None = None
        self._keeper: StateKeeper | None = None

    @property
    def endpoint(self) -> str:
        return os.environ["AWS_ENDPOINT_URL"]

    def start(self) -> LocalRuntime:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if not os.environ.get("AWS_ENDPOINT_URL"):
            self.emulator = Emulator(self._host, self._emulator_port).start()
            self._set_env({"AWS_ENDPOINT_URL": self.emulator.endpoint, **_EMULATOR_ENV})
        else:
            self._set_env(_endpoint_defaults(boto3.Session()))
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION
        env = parse_env(os.environ.get("TALKAVOCADO_ENV"))
        # One machine, one user: callers name their tenant unless JWT_ISSUER is set.
        parameters = {"Env": env, "AllowUnauthenticated": "true"}
        self.template = Template.load(self._template_path, parameters, region)
        provision(self.template, boto3.Session())
        if self._keep_state and self.emulator is not None:
            self._restore_state(env, region)

        # Media files stay on this machine (MEDIA_STORAGE_PATH) unless asked:
        # STORAGE_BACKEND=s3 keeps them in the emulator's bucket, as on AWS.
        self._set_env({"STORAGE_BACKEND": "local"} if "STORAGE_BACKEND" not in os.environ else {})
        # Webhook receivers on this machine (http://127.0.0.1:...) are allowed here only.
        self._set_env(
            {} if "WEBHOOK_ALLOW_LOOPBACK" in os.environ else {"WEBHOOK_ALLOW_LOOPBACK": "true"}
        )
        functions = self.template.functions()
        for function in functions:
            # The caller's environment wins, so MEDIA_STORAGE_PATH=... make run works.
            self._set_env({k: v for k, v in function.environment.items() if k not in os.environ})
        wiring.reset()
        handlers = {
            function.logical_id: one_at_a_time(in_own_context(load_handler(function.handler)))
            for function in functions
        }
        self.api = ApiServer(
            self.template.routes(),
            handlers,
            self._host,
            self._api_port,
            _receive_upload,
            self.template.gateway_responses(),
            {function.logical_id: function for function in functions},
            downloads=_send_download,
        )
        self._set_env(
            {
                "LOCAL_UPLOAD_URL": self.api.url + UPLOAD_PATH,
                "LOCAL_UPLOAD_SECRET": secrets.token_hex(16),
            }
        )
        wiring.reset()
        self.api.start()
        sqs = boto3.client("sqs")
        self.pollers = [
            QueuePoller(source, handlers[source.function.logical_id], sqs, region).start()
            for source in event_sources(self.template)
            if self._workers
        ]
        self.timers = [
            ScheduleTimer(schedule, handlers[schedule.function.logical_id]).start()
            for schedule in schedules(self.template, self._schedule_seconds)
            if self._workers
        ]

    def _restore_state(self, env: str, region: str) -> None:
        assert self.template is not None
        settings = Settings.from_env()
        state = StateFile(settings.storage_path, env)
        if not state.acquire():
            logger.warning("another local stack keeps this state; this one keeps none")
            return
        self.state = state
        self._keeper = StateKeeper(state, self.template, boto3.Session(), region)
        self.restored = self._keeper.restore()
        if settings.storage_backend == "local":  # the media the records name are on disk
            jobs_table = self.template.physical_name("JobsTable")
            self.mismatch = reconcile(settings.storage_path, env, jobs_table, boto3.Session())
        self._keeper.start()

    def stop(self) -> None:
        """Stop taking messages, give running steps a grace period, interrupt
        what still runs (its message is delivered again after the next
        start: nothing is failed by a shutdown), keep the state, then stop."""
        self._drain()
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None
        if self.state is not None:
            self.state.release()
            self.state = None
        if self.api:
            self.api.stop()
            self.api = None
        if self.emulator:
            self.emulator.stop()
            self.emulator = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        wiring.reset()

    def _drain(self) -> None:
        runners: list[Background] = [*self.pollers, *self.timers]
        for runner in runners:
            runner.stop()
        deadline = time.monotonic() + self._grace_seconds
        try:
            for runner in runners:
                runner.join(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:  # asked again: no more grace
            pass
        if any(runner.busy for runner in runners):
            logger.warning("interrupting the steps still running; they run again after a start")
            ffmpeg.interrupt_all()
            pocketsphinx_engine.interrupt_all()
            whisper_engine.interrupt_all()
            for runner in runners:
                runner.join(DRAIN_AFTER_INTERRUPT_SECONDS)
        self.pollers, self.timers = [], []

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
