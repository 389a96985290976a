"""Every bench runs in make test, in its quick mode (``--quick``: the
smallest inputs, a few iterations): it must finish and print its tables, so
a change that breaks a bench fails here. Nothing is timed or judged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

BENCHES = {
    "bench.api_latency": ["API latency", "create", "get", "authorize"],
    "bench.pipeline": [
        "Pipeline, no-op steps",
        "AWS requests per job",
        "storage requests per job",
        "USD per million jobs",
        "all-in",
        "Step Functions Standard",
    ],
    "bench.media": ["Media steps", "audio-extraction", "video-render", "end to end"],
    "bench.truth": ["Generated talks with exact ground truth", "speech kept", "steps:"],
    "bench.wer": ["Word error rate on real English speech", "faster-whisper", "WER"],
}


@pytest.mark.parametrize("module", BENCHES)
def test_the_bench_runs_in_quick_mode_and_prints_its_tables(module: str, tmp_path: Path) -> None:
    if module == "bench.truth" and shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng (apt-get install espeak-ng)")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "TALKAVOCADO_", "MEDIA_", "STORAGE_", "JWT_"))
    }
    done = subprocess.run(
        [sys.executable, "-m", module, "--quick"],
        cwd=REPO,
        env={**environment, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for header in BENCHES[module]:
        assert header in done.stdout, f"{header!r} missing from:\n{done.stdout}"
