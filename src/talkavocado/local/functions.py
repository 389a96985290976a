"""One function of template.yaml run the way SAM runs it, without Docker.

``talkavocado invoke FUNCTION --event FILE`` calls the function's real handler
with its environment (Globals plus its own, references resolved to the
running local stack) and a Lambda-like context (remaining time from its
Timeout). ``talkavocado env-vars`` writes the same environments as the JSON
that ``sam local invoke`` and ``sam local start-api`` take with ``--env-vars``,
for machines with Docker.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from talkavocado import wiring
from talkavocado.domain.errors import ValidationFailed
from talkavocado.local.invoke import REGION, LocalContext, load_handler
from talkavocado.local.isolation import in_own_context
from talkavocado.local.template import FunctionSpec, Template

# Where `talkavocado up` says how to reach it, next to its saved state.
ADDRESS_FILE = "stack.json"
_STAND_IN_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass(frozen=True)
class StackAddress:
    """How to reach a running local stack."""

    endpoint: str
    region: str
    env: str
    upload_url: str | None = None
    upload_secret: str | None = None

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ADDRESS_FILE
        path.write_text(json.dumps(asdict(self)))
        path.chmod(0o600)  # it holds the upload route's secret
        return path

    @classmethod
    def find(cls, folder: Path) -> StackAddress:
        """The running stack: AWS_ENDPOINT_URL if set, else what `up` wrote."""
        if os.environ.get("AWS_ENDPOINT_URL"):
            return cls(
                endpoint=os.environ["AWS_ENDPOINT_URL"],
                region=os.environ.get("AWS_REGION") or REGION,
                env=os.environ.get("TALKAVOCADO_ENV") or "dev",
                upload_url=os.environ.get("LOCAL_UPLOAD_URL"),
                upload_secret=os.environ.get("LOCAL_UPLOAD_SECRET"),
            )
        try:
            return cls(**json.loads((folder / ADDRESS_FILE).read_text()))
        except FileNotFoundError:
            raise ValidationFailed(
                "no local stack is running: start one with `make up` (or set AWS_ENDPOINT_URL)"
            ) from None


def stack_template(template_path: Path, address: StackAddress) -> Template:
    """The template with the running stack's parameters and region."""
    parameters = {"Env": address.env, "AllowUnauthenticated": "true"}
    return Template.load(template_path, parameters, address.region)


def function_named(template: Template, function_id: str) -> FunctionSpec:
    for function in template.functions():
        if function.logical_id == function_id:
            return function
    names = ", ".join(sorted(f.logical_id for f in template.functions()))
    raise ValidationFailed(f"template.yaml has no function {function_id!r} (it has {names})")


def invoke(template_path: Path, function_id: str, event: Any) -> Any:
    """Run one function's handler on ``event`` against the running stack."""
    address = StackAddress.find(state_folder())
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": address.endpoint,
            "AWS_REGION": address.region,
            "AWS_DEFAULT_REGION": address.region,
            **{k: v for k, v in _STAND_IN_CREDENTIALS.items() if k not in os.environ},
        }
    )
    function = function_named(stack_template(template_path, address), function_id)
    # As the local runtime runs it: media under MEDIA_STORAGE_PATH unless told.
    local = {"STORAGE_BACKEND": os.environ.get("STORAGE_BACKEND", "local")}
    if address.upload_url and address.upload_secret:
        local |= {
            "LOCAL_UPLOAD_URL": address.upload_url,
            "LOCAL_UPLOAD_SECRET": address.upload_secret,
        }
    os.environ.update({**function.environment, **local})
    wiring.reset()
    handler = in_own_context(load_handler(function.handler))
    return handler(event, LocalContext.for_function(function.logical_id, function.timeout))


def env_vars(template_path: Path, endpoint: str | None = None) -> dict[str, dict[str, str]]:
    """``--env-vars`` for SAM: each function's environment pointed at the
    local stack's emulator, media in its bucket (a container does not see
    this machine's storage folder)."""
    address = StackAddress.find(state_folder())
    template = stack_template(template_path, address)
    reachable = endpoint or address.endpoint
    shared = {
        "AWS_ENDPOINT_URL": reachable,
        "AWS_REGION": address.region,
        "AWS_DEFAULT_REGION": address.region,
        **_STAND_IN_CREDENTIALS,
        "STORAGE_BACKEND": "s3",
        "ALLOW_UNAUTHENTICATED": "true",
    }
    return {f.logical_id: {**f.environment, **shared} for f in template.functions()}


def state_folder() -> Path:
    return Path(os.environ.get("MEDIA_STORAGE_PATH") or "./storage") / ".state"
