"""``talkavocado``: the local runtime and project tools."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from talkavocado.errors import TalkAvocadoError


def _up(args: argparse.Namespace) -> int:
    from talkavocado.local.runtime import LocalRuntime

    runtime = LocalRuntime(
        template_path=args.template, api_port=args.port, emulator_port=args.emulator_port
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime.start()
    assert runtime.api is not None
    emulator = "embedded emulator" if runtime.emulator else "external endpoint"
    print(f"TalkAvocado API on {runtime.api.url}", file=sys.stderr)
    print(f"AWS endpoint ({emulator}): {runtime.endpoint}", file=sys.stderr)
    from talkavocado.wiring import settings

    issuer = settings().jwt_issuer
    tokens = f"bearer tokens from {issuer}" if issuer else "none (JWT_ISSUER unset: send tenantId)"
    print(f"Authentication: {tokens}", file=sys.stderr)
    print("Ctrl-C stops.", file=sys.stderr)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()
        print("stopped", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from talkavocado.local.run import run_video

    return run_video(args.video, args.tenant, args.timeout, args.log_file, token=args.token)


def _schema(args: argparse.Namespace) -> int:
    from talkavocado.manifest import generate_schema
    from talkavocado.media.planner import generate_plan_schema

    generators = {"manifest": generate_schema, "cut_plan": generate_plan_schema}
    print(json.dumps(generators[args.name](), indent=2))
    return 0


def _openapi(_: argparse.Namespace) -> int:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from talkavocado.api.app import app

    document = json.loads(
        app.get_openapi_json_schema(
            title="TalkAvocado job API",
            version="1.0.0",
            # A token is needed where the deployment names an issuer (JwtIssuer).
            security_schemes={"bearerToken": HTTPBearer(bearerFormat="JWT")},
            security=[{}, {"bearerToken": []}],
        )
    )
    # Powertools documents its own 422; this API answers invalid input with 400.
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    print(json.dumps(document, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="talkavocado", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the API and the pipeline locally, no Docker, no AWS")
    up.add_argument("--port", type=int, default=3000, help="API port (default 3000)")
    up.add_argument(
        "--emulator-port", type=int, default=5050, help="embedded AWS emulator port (default 5050)"
    )
    up.add_argument("--template", type=Path, default=None, help="SAM template (template.yaml)")
    up.set_defaults(run=_up)

    run = commands.add_parser(
        "run", help="take one video through the whole pipeline locally and print the job"
    )
    run.add_argument("video", type=Path, help="the video (or audio) file to process")
    run.add_argument(
        "--tenant",
        default="demo-tenant",
        help="tenant id (default demo-tenant; with --token, the token's tenant)",
    )
    run.add_argument(
        "--timeout", type=float, default=900, help="seconds to wait for the job (default 900)"
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

    schema = commands.add_parser("schema", help="print a JSON Schema generated from its model")
    schema.add_argument("name", choices=["manifest", "cut_plan"])
    schema.set_defaults(run=_schema)
    commands.add_parser("openapi", help="print the API's OpenAPI document").set_defaults(
        run=_openapi
    )
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
