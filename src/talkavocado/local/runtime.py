"""The local runtime: the same functions as on AWS, wired by template.yaml to
an embedded emulator (or to ``AWS_ENDPOINT_URL``) instead of AWS."""

from __future__ import annotations

import os
import secrets
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import boto3

from talkavocado import wiring
from talkavocado.keys import parse_env
from talkavocado.local.emulator import Emulator, provision
from talkavocado.local.http_front import ApiServer
from talkavocado.local.invoke import REGION, load_handler, one_at_a_time
from talkavocado.local.pollers import QueuePoller, event_sources
from talkavocado.local.template import Template
from talkavocado.local.uploads import UPLOAD_PATH, receive

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


def default_template_path() -> Path:
    here = Path("template.yaml")
    if here.is_file():
        return here
    return Path(__file__).resolve().parents[3] / "template.yaml"


class LocalRuntime:
    def __init__(
        self,
        template_path: Path | None = None,
        host: str = "127.0.0.1",
        api_port: int = 3000,
        emulator_port: int = 5050,
        workers: bool = True,
    ) -> None:
        """``workers=False`` serves the API only: events wait in their queues."""
        self._template_path = template_path or default_template_path()
        self._host = host
        self._api_port = api_port
        self._emulator_port = emulator_port
        self._workers = workers
        self._saved_env: dict[str, str | None] = {}
        self.emulator: Emulator | None = None
        self.api: ApiServer | None = None
        self.template: Template | None = None
        self.pollers: list[QueuePoller] = []

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

        # Media files stay on this machine (MEDIA_STORAGE_PATH) unless asked:
        # STORAGE_BACKEND=s3 keeps them in the emulator's bucket, as on AWS.
        self._set_env({"STORAGE_BACKEND": "local"} if "STORAGE_BACKEND" not in os.environ else {})
        functions = self.template.functions()
        for function in functions:
            # The caller's environment wins, so MEDIA_STORAGE_PATH=... make run works.
            self._set_env({k: v for k, v in function.environment.items() if k not in os.environ})
        # Metrics are CloudWatch EMF documents: on AWS they become metrics,
        # here they would only bury the logs. POWERTOOLS_METRICS_DISABLED=false shows them.
        self._set_env(
            {"POWERTOOLS_METRICS_DISABLED": "true"}
            if "POWERTOOLS_METRICS_DISABLED" not in os.environ
            else {}
        )
        wiring.reset()
        handlers = {
            function.logical_id: one_at_a_time(load_handler(function.handler))
            for function in functions
        }
        self.api = ApiServer(
            self.template.routes(),
            handlers,
            self._host,
            self._api_port,
            _receive_upload,
            self.template.gateway_responses(),
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

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        for poller in self.pollers:
            poller.join()
        self.pollers = []
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

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
