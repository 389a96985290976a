"""Exactness on generated talks with ground truth (30 s, 2 min, 2 min over a
noise floor, 10 min): per talk, speech kept, silence removed by length class,
fillers removed, joins inside sound, word error rate, and the time of each
step and of the whole job. Where auto-editor is installed (AUTO_EDITOR, or
auto-editor on the PATH), the same figures for it beside them, and its time
for the same talk.

    python -m bench.truth            # BENCH_TALKS=30,120 for fewer
    python -m bench.truth --quick    # make test: one 10 s talk, every table
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

from bench.exactness import Figures, av_offsets, measure, pcm_of
from bench.media import KEYS, run_steps
from bench.quick import quick
from bench.talks import GroundTruth, generate
from talkavocado.media.commands import align_to_frames
from talkavocado.media.planner import CutPlan
from talkavocado.media.transcript import Transcript

# (label, seconds, frame rate, noise floor dBFS, seed, picture size)
QUICK_TALK = ("10 s", 10, "30", None, 1, "320x240")
TALKS = (
    ("30 s", 30, "30", None, 1, "320x240"),
    ("2 min", 120, "25", None, 2, "320x240"),
    ("2 min, noise floor", 120, "30000/1001", -50.0, 3, "320x240"),
    ("10 min", 600, "30", None, 4, "320x240"),
    # The same talk at a talking head's usual size: rendering weighs more.
    ("10 min, 720p", 600, "30", None, 4, "1280x720"),
)


def ours(source: Path, truth: GroundTruth) -> tuple[Figures, dict[str, float], list[int]]:
    """Each step in a fresh process, on local storage, as bench.media runs
    them; and each kept segment's A/V offset in frames, measured in the render."""
    with tempfile.TemporaryDirectory() as storage:
        root = Path(storage)
        times = {step: elapsed for step, elapsed, _, _ in run_steps(root, source)}
        plan = CutPlan.model_validate_json((root / KEYS.cut_plan).read_text())
        transcript = Transcript.model_validate_json((root / KEYS.transcript_json).read_text())
        rendered = pcm_of(root / KEYS.base_cuts_render)
    keeps = align_to_frames(plan.keeps(), float(Fraction(truth.fps)))
    heard = [word.word for word in transcript.words()]
    figures = measure(truth, plan.keeps(), pcm_of(source), heard)
    return figures, times, av_offsets(truth, keeps, rendered)


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
    if quick():
        talks, other = [QUICK_TALK], None
    print("Generated talks with exact ground truth (bench/talks.py)")
    for label, seconds, fps, noise_db, seed, size in talks:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            source, truth = generate(work, seconds, fps, noise_db, seed, size)
            print(
                f"\n{label}: {truth.duration:.0f} s, {size} at {fps} fps, {len(truth.silences)} "
                f"silences, {len(truth.fillers)} standing-apart fillers"
            )
            figures, times, offsets = ours(source, truth)
            for line in figures.lines():
                print(f"  {line}")
            steps = ", ".join(f"{step} {elapsed:.1f} s" for step, elapsed in times.items())
            total = sum(times.values())
            print(f"  steps: {steps}; whole job {total:.1f} s")
            off = [o for o in offsets if o != 0]
            print(
                f"  A/V offset per kept segment, measured in the render: 0 frames on "
                f"{len(offsets) - len(off)} of {len(offsets)}"
                + (f"; off: {sorted(off)}" if off else "")
            )
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
