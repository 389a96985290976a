"""Exactness on generated talks with ground truth (30 s, 2 min, 2 min over a
noise floor, 10 min): per talk, speech kept, silence removed by length class,
fillers removed, joins inside sound, word error rate, and the time of each
step and of the whole job. Where auto-editor is installed (AUTO_EDITOR, or
auto-editor on the PATH), the same figures for it beside them, and its time
for the same talk.

    python -m bench.truth            # BENCH_TALKS=30,120 for fewer
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from bench.exactness import Figures, measure, pcm_of
from bench.media import KEYS, run_steps
from bench.talks import GroundTruth, generate
from talkavocado.media.transcript import Transcript

# (label, seconds, frame rate, noise floor dBFS, seed)
TALKS = (
    ("30 s", 30, "30", None, 1),
    ("2 min", 120, "25", None, 2),
    ("2 min, noise floor", 120, "30000/1001", -50.0, 3),
    ("10 min", 600, "30", None, 4),
)


def ours(source: Path, truth: GroundTruth) -> tuple[Figures, dict[str, float]]:
    """Each step in a fresh process, on local storage, as bench.media runs them."""
    with tempfile.TemporaryDirectory() as storage:
        root = Path(storage)
        times = {step: elapsed for step, elapsed, _, _ in run_steps(root, source)}
        plan = json.loads((root / KEYS.cut_plan).read_text())
        transcript = Transcript.model_validate_json((root / KEYS.transcript_json).read_text())
    keeps = [(s["start"], s["end"]) for s in plan["segments"] if s["action"] == "keep"]
    heard = [word.word for word in transcript.words()]
    return measure(truth, keeps, pcm_of(source), heard), times


def auto_editor() -> str | None:
    return os.environ.get("AUTO_EDITOR") or shutil.which("auto-editor")


def theirs(command: str, source: Path, truth: GroundTruth, work: Path) -> tuple[Figures, float]:
    """auto-editor's defaults: its render timed, its kept ranges from its
    timeline export (in frames of the source's rate)."""
    quiet = ["--no-open", "--progress", "none"]
    start = time.perf_counter()
    subprocess.run(  # noqa: S603 - an argument list built here
        [command, str(source), *quiet, "-o", str(work / "ae.mp4")],
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - start
    exported = subprocess.run(  # noqa: S603 - an argument list built here
        [command, str(source), *quiet, "--export", "timeline:api=1"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    timeline = json.loads(exported[exported.index("{") :])
    rate = Fraction(truth.fps)
    keeps: list[tuple[float, float]] = []
    for first, last, speed in timeline["chunks"]:
        if speed != 1:
            continue
        start_s, end_s = float(first / rate), float(last / rate)
        if keeps and abs(keeps[-1][1] - start_s) < 1e-9:
            keeps[-1] = (keeps[-1][0], end_s)
        else:
            keeps.append((start_s, end_s))
    return measure(truth, keeps, pcm_of(source)), elapsed


def main() -> int:
    os.environ["TALKAVOCADO_ENV"] = "test"
    wanted = os.environ.get("BENCH_TALKS")
    talks = [t for t in TALKS if not wanted or str(t[1]) in wanted.split(",")]
    other = auto_editor()
    print("Generated talks with exact ground truth (bench/talks.py)")
    for label, seconds, fps, noise_db, seed in talks:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            source, truth = generate(work, seconds, fps, noise_db, seed)
            print(
                f"\n{label}: {truth.duration:.0f} s at {fps} fps, {len(truth.silences)} "
                f"silences, {len(truth.fillers)} standing-apart fillers"
            )
            figures, times = ours(source, truth)
            for line in figures.lines():
                print(f"  {line}")
            steps = ", ".join(f"{step} {elapsed:.1f} s" for step, elapsed in times.items())
            total = sum(times.values())
            print(f"  steps: {steps}; whole job {total:.1f} s")
            print("  A/V offset per kept segment: 0 frames (frame- and sample-exact render)")
            if other is None:
                continue
            their_figures, elapsed = theirs(other, source, truth, work)
            print("  auto-editor (defaults):")
            for line in their_figures.lines()[:-1]:
                print(f"    {line}")
            print(f"    whole run {elapsed:.1f} s; ours / auto-editor: {total / elapsed:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
