"""Generated talks with exact ground truth through the whole pipeline: every
word kept (short ones said on their own too), no join inside sound, long
silences and standing-apart fillers removed, at several frame rates and over
a noise floor (make bench runs the 2- and 10-minute ones)."""

from __future__ import annotations

import array
import json
import shutil
import uuid
from fractions import Fraction
from pathlib import Path

import pytest
from bench.exactness import PCM_RATE, av_offsets, measure, pcm_of
from bench.talks import generate

from talkavocado.media.commands import align_to_frames
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)"
)
# At least this share of each silence length class is removed (0.2 and 0.4 s
# pauses are natural speech rhythm and stay).
REMOVED_AT_LEAST = {"0.8": 0.6, "1.5": 0.8, "3.0": 0.9}


@pytest.mark.parametrize(
    ("fps", "noise_db", "seed"),
    # Seeds whose talks hold standing-apart fillers and short real words ("Oh.", "No.").
    [("25", None, 5), ("30000/1001", -50.0, 8)],
    ids=["25fps", "29.97fps-noise-floor"],
)
def test_a_generated_talk_keeps_every_word_and_removes_the_long_silences(
    stack: Stack, tmp_path: Path, fps: str, noise_db: float | None, seed: int
) -> None:
    video, truth = generate(tmp_path, seconds=30, fps=fps, noise_db=noise_db, seed=seed)
    tenant = f"truth-{uuid.uuid4().hex[:8]}"
    job_id = stack.submit(tenant, video)
    job = stack.wait_until_finished(tenant, job_id, timeout=180)
    assert job["status"] == "completed", job["error"]  # the render check passed too

    prefix = stack.storage / "test" / tenant / job_id
    plan = json.loads((prefix / "plan" / "cut_plan.json").read_text())
    keeps = [(s["start"], s["end"]) for s in plan["segments"] if s["action"] == "keep"]
    figures = measure(truth, keeps, pcm_of(video))

    assert figures.speech_kept == pytest.approx(1.0, abs=1e-6), figures.lines()
    assert figures.words_cut == 0
    assert figures.joins_in_sound == 0
    if noise_db is None:  # over a noise floor the second look finds fewer
        assert figures.fillers_removed >= 0.6 * figures.fillers, figures.lines()
    for length, share in REMOVED_AT_LEAST.items():
        if length in figures.silence_removed:
            assert figures.silence_removed[length] >= share, figures.lines()

    # Each kept segment's sound is on its picture, measured in the render.
    rendered = pcm_of(prefix / "renders" / "base_cuts.mp4")
    aligned = align_to_frames(keeps, float(Fraction(fps)))
    offsets = av_offsets(truth, aligned, rendered)
    assert len(offsets) >= 3 and set(offsets) == {0}, offsets
    late = array.array("h", bytes(2 * PCM_RATE // 10)) + rendered  # the sound 0.1 s late
    assert all(offset >= 2 for offset in av_offsets(truth, aligned, late))  # the measure sees it
