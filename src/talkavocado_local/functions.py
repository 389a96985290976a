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
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from talkavocado import wiring
from talkavocado.domain.errors import ValidationFailed
from talkavocado_local.invoke import REGION, LocalContext, load_handler
from talkavocado_local.isolation import in_own_context
from talkavocado_local.seed import seed
from talkavocado_local.template import FunctionSpec, Template

# Where each `talkavocado up` says how to reach it, next to its saved state:
# one file per running stack (stack-<pid>-<emulator port>.json), so that a
# stack that stops removes its own file and never another's.
ADDRESS_GLOB = "stack-*.json"
_STAND_IN_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass(frozen=True)
class StackAddress:
    """How to reach a running local stack."""

    endpoint: str
    region: str
    env: str
    upload_url: str | None = None
    upload_secret: str | None = None
    pid: int = field(default_factory=os.getpid)

    @property
    def file_name(self) -> str:
        return f"stack-{self.pid}-{urlsplit(self.endpoint).port or 0}.json"

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.file_name
        path.touch(0o600)
        path.chmod(0o600)  # it holds the upload route's secret: private before it is written
        path.write_text(json.dumps(asdict(self)))
        return path

    def release(self, folder: Path) -> None:
        """This stack's file goes; another stack's stays."""
        (folder / self.file_name).unlink(missing_ok=True)

    @classmethod
    def find(cls, folder: Path) -> StackAddress:
        """The running stack: AWS_ENDPOINT_URL if set, else the stack that
        `up` started last among those still running."""
        if os.environ.get("AWS_ENDPOINT_URL"):
            return cls(
                endpoint=os.environ["AWS_ENDPOINT_URL"],
                region=os.environ.get("AWS_REGION") or REGION,
                env=os.environ.get("TALKAVOCADO_ENV") or "dev",
                upload_url=os.environ.get("LOCAL_UPLOAD_URL"),
                upload_secret=os.environ.get("LOCAL_UPLOAD_SECRET"),
            )
        running = []
        for path in folder.glob(ADDRESS_GLOB):
            try:
                address = cls(**json.loads(path.read_text()))
                running.append((path.stat().st_mtime, address))
            except (OSError, ValueError, TypeError):
                continue  # removed meanwhile, or half written
        alive = [(when, address) for when, address in running if _alive(address.pid)]
        if not alive:
            raise ValidationFailed(
                "no local stack is running: start one with `make up` (or set AWS_ENDPOINT_URL)"
            )
        return max(alive, key=lambda found: found[0])[1]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a stack killed outright leaves its file)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def invoke(
    template_path: Path,
    function_id: str,
    event: Any,
    seed_input: Path | None = None,
    notes: TextIO | None = None,
) -> Any:
    """Run one function's handler on ``event`` against the running stack. A
    queue sample whose job does not exist gets it first, made from
    ``seed_input`` (default: the bundled sample video) and brought to where
    the event finds it (local/seed.py)."""
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
    seeded = seed(event, seed_input or default_seed_input(template_path))
    if seeded is not None:
        print(seeded.describe(), file=notes or sys.stderr)
    handler = in_own_context(load_handler(function.handler))
    return handler(event, LocalContext.of(function))


def default_seed_input(template_path: Path) -> Path:
    """The bundled sample video (what `make run` takes)."""
    return Path(template_path).parent / "tests" / "fixtures" / "sample_talk.mp4"


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
