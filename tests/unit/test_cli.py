"""The command line and the Makefile as a new user first meets them:
`make help`, `--version`, each subcommand's `--help`, readable logs."""

from __future__ import annotations

import argparse
import io
import logging
import re
import subprocess
from importlib import metadata
from typing import cast

import pytest

from talkavocado.support.observability import bind_job, bind_work, logger
from talkavocado_local.cli import build_parser, main
from talkavocado_local.human_logs import HumanStream, human_line
from tests.conftest import REPO_ROOT


def test_make_help_lists_every_target_with_its_whole_description() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY: (.*)$", makefile, re.MULTILINE)
    assert phony is not None
    listed = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    described = {line.split()[1]: line.split(None, 2)[2] for line in listed}
    internal = {"lambda-package"}  # sam build's, not a user's
    assert set(phony[1].split()) - internal <= set(described)
    for name in ("unit", "integration", "e2e", "lint", "typecheck", "openapi", "clean"):
        assert described[name]
    # A description that runs over several "## " lines is shown whole.
    assert described["bench"].endswith("a missed target fails the target once all have run)")
    assert described["sam-build"].endswith("(samconfig.toml: build in source)")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"talkavocado {metadata.version('talkavocado')}"


def test_every_subcommand_says_what_it_does_in_its_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) >= {"up", "run", "invoke", "env-vars", "openapi", "contracts"}
    for name in commands.choices:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        _, description, *_ = capsys.readouterr().out.split("\n\n")
        assert description.endswith("."), (name, description)  # a sentence, before the options
        assert not description.startswith(("positional", "options")), name


def test_human_log_lines_carry_time_level_step_job_and_message() -> None:
    bind_work(correlation_id="c-1", step="transcription")
    bind_job(tenant_id="demo-tenant", job_id="5c33b614-0e80-4922-90af-b65e29412c16")
    sink = io.StringIO()
    handler = cast(logging.StreamHandler, logger.registered_handler)  # type: ignore[type-arg]
    previous = handler.setStream(HumanStream(sink))
    try:
        logger.info("step finished", extra={"outcome": "completed"})
        logger.info("request handled")
    finally:
        handler.setStream(previous)
    first, second = sink.getvalue().splitlines()
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO +transcription +demo-tenant/5c33b614 +step finished"
        r"  outcome=completed",
        first,
    ), first
    assert second.endswith("request handled")
    assert len(first) < 120
    assert human_line({"level": "INFO", "message": "up"}).split() == ["INFO", "-", "-", "up"]
    assert HumanStream(sink).write("not json\n") == 9 and sink.getvalue().endswith("not json\n")


def test_up_logs_json_unless_asked_or_on_a_terminal() -> None:
    up = build_parser().parse_args(["up"])
    assert up.log_format is None  # decided by the terminal: json into a file or a pipe
    assert build_parser().parse_args(["up", "--log-format", "human"]).log_format == "human"
