"""The README's curl walk-through, run verbatim against the local stack, with
local storage and with the emulator's S3 bucket."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.conftest import SAMPLE, TEMPLATE
from tests.e2e.conftest import Stack

README = TEMPLATE.parent / "README.md"


def walk_through() -> str:
    section = README.read_text().split("## Try it with curl", 1)[1]
    found = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_curl_walk_through_runs_verbatim(any_storage_stack: Stack, tmp_path: Path) -> None:
    fixtures = tmp_path / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    (fixtures / SAMPLE.name).symlink_to(SAMPLE)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walk_through()],
        cwd=tmp_path,
        env={"API": any_storage_stack.url, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "204\n" in done.stdout  # the upload
    job = json.loads((tmp_path / "job.json").read_text())
    assert job["status"] == "completed", job["error"]
    assert len(job["artifacts"]["renders"]) == 2
    assert '"code":"NOT_FOUND"' in done.stdout  # the other tenant's look
    assert '"code":"VALIDATION_FAILED"' in done.stdout
