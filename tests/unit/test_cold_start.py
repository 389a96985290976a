"""Each Lambda loads only what it uses: a cold start pays for its own modules."""

from __future__ import annotations

import subprocess
import sys

import pytest


def modules_loaded_by(handler_module: str) -> set[str]:
    script = f"import sys, {handler_module}; print('\\n'.join(sys.modules))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(run.stdout.split())


@pytest.mark.parametrize(
    ("handler", "not_loaded"),
    [
        ("talkavocado.handlers.api", {"talkavocado.workers.runner", "talkavocado.media.commands"}),
        ("talkavocado.handlers.authorizer", {"boto3", "jwt", "talkavocado.services.job_service"}),
    ],
)
def test_a_handler_does_not_load_what_it_does_not_use(handler: str, not_loaded: set[str]) -> None:
    loaded = modules_loaded_by(handler)
    assert handler in loaded
    assert not_loaded.isdisjoint(loaded)
