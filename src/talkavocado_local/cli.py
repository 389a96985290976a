"""``talkavocado``: the local runtime and project tools."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from talkavocado.domain.errors import TalkAvocadoError


def _forget(storage_root: Path, env: str) -> None:
    """``--fresh``: the saved state of this env, and its media, go."""
    from talkavocado_local.state import StateFile

    StateFile(storage_root, env).forget()
    shutil.rmtree(storage_root / env, ignore_errors=True)
    print(f"fresh start: removed the saved state and {storage_root / env}", file=sys.stderr)


def _up(args: argparse.Namespace) -> int:
    from talkavocado.config import Settings
    from talkavocado_local.functions import StackAddress, state_folder
    from talkavocado_local.runtime import LocalRuntime

    log_format = args.log_format or ("human" if sys.stdout.isatty() else "json")
    if log_format == "human":
        from talkavocado.support.observability import logger
        from talkavocado_local.human_logs import HumanStream

        logs = cast(logging.StreamHandler, logger.registered_handler)  # type: ignore[type-arg]
        logs.setStream(HumanStream(logs.stream))
    if args.fresh:
        config = Settings.from_env()
        _forget(config.storage_path, config.env)
    runtime = LocalRuntime(
        template_path=args.template,
        api_port=args.port,
        emulator_port=args.emulator_port,
        keep_state=True,
        schedule_seconds=args.sweep_every,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime.start()
    assert runtime.api is not None and runtime.template is not None
    address = StackAddress(
        runtime.endpoint,
        runtime.template.region,
        os.environ.get("TALKAVOCADO_ENV") or "dev",
        os.environ.get("LOCAL_UPLOAD_URL"),
        os.environ.get("LOCAL_UPLOAD_SECRET"),
    )
    address.save(state_folder())
    emulator = "embedded emulator" if runtime.emulator else "external endpoint"
    print(f"TalkAvocado API on {runtime.api.url}", file=sys.stderr)
    print(f"AWS endpoint ({emulator}): {runtime.endpoint}", file=sys.stderr)
    _print_state(runtime)
    from talkavocado.wiring import settings

    issuer = settings().jwt_issuer
    tokens = f"bearer tokens from {issuer}" if issuer else "none (JWT_ISSUER unset: send tenantId)"
    print(f"Authentication: {tokens}", file=sys.stderr)
    print("Ctrl-C stops (running steps get a grace period; the state is kept).", file=sys.stderr)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping...", file=sys.stderr)
        address.release(state_folder())
        runtime.stop()
        print("stopped", file=sys.stderr)
    return 0


def _print_state(runtime: Any) -> None:
    if runtime.state is None:
        print("State: not kept (another stack holds it, or an external endpoint)", file=sys.stderr)
        return
    restored = runtime.restored
    print(
        f"State: {runtime.state.path} ({restored.items} records and "
        f"{restored.messages} queued messages restored; --fresh starts empty)",
        file=sys.stderr,
    )
    mismatch = runtime.mismatch
    if mismatch and (mismatch.manifests_without_record or mismatch.records_without_manifest):
        print(
            f"  {len(mismatch.manifests_without_record)} manifests without a job record and "
            f"{len(mismatch.records_without_manifest)} records without a manifest "
            "(listed in the log; nothing adopted)",
            file=sys.stderr,
        )


def _invoke(args: argparse.Namespace) -> int:
    from talkavocado.support.observability import logger
    from talkavocado_local.functions import invoke
    from talkavocado_local.runtime import default_template_path

    text = sys.stdin.read() if str(args.event) == "-" else args.event.read_text()
    try:
        event = json.loads(text)
    except ValueError as invalid:
        print(f"error: the event is not JSON: {invalid}", file=sys.stderr)
        return 2
    # The function's log lines go to stderr, its response alone to stdout.
    logs = cast(logging.StreamHandler, logger.registered_handler)  # type: ignore[type-arg]
    previous = logs.setStream(sys.stderr)
    try:
        template = args.template or default_template_path()
        response = invoke(template, args.function, event, args.input)
    finally:
        logs.setStream(previous)
    print(json.dumps(response, indent=2, default=str))
    return 0


def _env_vars(args: argparse.Namespace) -> int:
    from talkavocado_local.functions import env_vars
    from talkavocado_local.runtime import default_template_path

    document = env_vars(args.template or default_template_path(), args.endpoint)
    text = json.dumps(document, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def _run(args: argparse.Namespace) -> int:
    from talkavocado_local.run import run_video

    return run_video(
        args.video, args.tenant, args.timeout, args.log_file, token=args.token, notify=args.notify
    )


def _openapi(_: argparse.Namespace) -> int:
    from talkavocado.codegen.contracts import openapi_document

    print(json.dumps(openapi_document(), indent=2))
    return 0


def _contracts(args: argparse.Namespace) -> int:
    from talkavocado.codegen import contracts, sample_events, step_resources
    from talkavocado_local.runtime import default_template_path

    template = args.template or default_template_path()
    events = Path(template).parent / "events"
    if args.check:
        drifted = [f"schemas/{name}" for name in contracts.drifted()]
        drifted += [f"events/{name}" for name in sample_events.drifted(events)]
        if step_resources.drifted(template):
            drifted.append(f"{template} (every step's resources)")
        for name in drifted:
            print(f"drifted from the code: {name} (run: make contracts)", file=sys.stderr)
        return 1 if drifted else 0
    for name in contracts.write():
        print(f"wrote schemas/{name}", file=sys.stderr)
    for name in sample_events.write(events):
        print(f"wrote events/{name}", file=sys.stderr)
    if step_resources.write(template):
        print(f"wrote {template}: every step's resources", file=sys.stderr)
    return 0


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return seconds


class _Commands:
    """Subcommands whose ``--help`` starts with what they do (their help line)."""

    def __init__(self, commands: Any) -> None:
        self._commands = commands

    def add_parser(self, name: str, help: str) -> argparse.ArgumentParser:
        description = help[0].upper() + help[1:] + "."
        parser: argparse.ArgumentParser = self._commands.add_parser(
            name, help=help, description=description
        )
        return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="talkavocado", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {metadata.version('talkavocado')}"
    )
    commands = _Commands(parser.add_subparsers(dest="command", required=True))

    up = commands.add_parser("up", help="run the API and the pipeline locally, no Docker, no AWS")
    up.add_argument("--port", type=int, default=3000, help="API port (default 3000)")
    up.add_argument(
        "--emulator-port", type=int, default=5050, help="embedded AWS emulator port (default 5050)"
    )
    up.add_argument("--template", type=Path, default=None, help="SAM template (template.yaml)")
    up.add_argument(
        "--fresh",
        action="store_true",
        help="start empty: forget the saved jobs and queues, and remove this env's media",
    )
    up.add_argument(
        "--log-format",
        choices=("human", "json"),
        default=None,
        help="the functions' log lines: human (time, level, step, tenant/job, message) or "
        "JSON, one object a line (default: human on a terminal, else json)",
    )
    up.add_argument(
        "--sweep-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run the scheduled functions (the deadline sweep) this often "
        "instead of at their template rate (5 minutes)",
    )
    up.set_defaults(run=_up)

    run = commands.add_parser(
        "run", help="take one video through the whole pipeline locally and print the job"
    )
    run.add_argument("video", type=Path, help="the video (or audio) file to process")
    run.add_argument(
        "--notify",
        default=None,
        metavar="URL",
        help="also push the job's outcome to this webhook (default: the run's own "
        "receiver on loopback, whose notification is printed)",
    )
    run.add_argument(
        "--tenant",
        default="demo-tenant",
        help="tenant id (default demo-tenant; with --token, the token's tenant)",
    )
    run.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=900,
        help="seconds to wait for the job (default 900)",
    )
    run.add_argument(
        "--token",
        default=os.environ.get("TALKAVOCADO_TOKEN"),
        help="bearer token for the API when JWT_ISSUER is set; the tenant is then the "
        "token's (default: $TALKAVOCADO_TOKEN)",
    )
    run.add_argument(
        "--log-file",
        type=Path,
        default=Path(".talkavocado/run.log"),
        help="where the functions' JSON logs go (default .talkavocado/run.log)",
    )
    run.set_defaults(run=_run)

    invoke = commands.add_parser(
        "invoke", help="run one function of template.yaml on an event, against the local stack"
    )
    invoke.add_argument("function", help="its logical id in template.yaml, e.g. ApiFunction")
    invoke.add_argument(
        "--event", type=Path, required=True, help="the event, a JSON file (- for stdin)"
    )
    invoke.add_argument(
        "--input",
        type=Path,
        default=None,
        metavar="FILE",
        help="the video a queue sample's job is made from where it does not exist yet "
        "(default: tests/fixtures/sample_talk.mp4)",
    )
    invoke.add_argument("--template", type=Path, default=None, help="SAM template (template.yaml)")
    invoke.set_defaults(run=_invoke)

    env_vars = commands.add_parser(
        "env-vars", help="write --env-vars JSON for sam local, pointing at the local stack"
    )
    env_vars.add_argument(
        "--endpoint",
        default=None,
        help="the emulator as the containers reach it (default: as the stack reports it; "
        "use sam local ... --docker-network host on Linux)",
    )
    env_vars.add_argument("--output", type=Path, default=None, help="file (default: stdout)")
    env_vars.add_argument(
        "--template", type=Path, default=None, help="SAM template (template.yaml)"
    )
    env_vars.set_defaults(run=_env_vars)

    commands.add_parser("openapi", help="print the API's OpenAPI document").set_defaults(
        run=_openapi
    )
    contracts = commands.add_parser(
        "contracts",
        help="write the committed schemas, the OpenAPI document and template.yaml's "
        "per-step resources from the code",
    )
    contracts.add_argument("--check", action="store_true", help="only report what drifted")
    contracts.add_argument(
        "--template", type=Path, default=None, help="SAM template (template.yaml)"
    )
    contracts.set_defaults(run=_contracts)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: Any = args.run(args)
    except KeyboardInterrupt:
        return 130
    except TalkAvocadoError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return int(result)


if __name__ == "__main__":
    raise SystemExit(main())
