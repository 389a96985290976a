"""A sentence's first word after a long pause is speech, never a filler: the
case of a spoken "First," cut with the 2.3 s pause before it as a filler,
at several speech rates and voices, through transcription and planning."""

from __future__ import annotations

import array
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from talkavocado import wiring
from talkavocado.media.planner import CutPlan
from tests.integration.test_media_steps import new_job

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)"
)
RATE = 22050
PAUSE = 2.3
LEAD = "Today I want to talk about how we plan our garden every spring."
SENTENCES = (
    "First, we choose the seeds.",
    "So, the soil comes next.",
    "Well, it rains a lot here.",
    "Now, the beans go in.",
    "And the bees do the rest.",
)


def spoken(text: str, voice: str, speed: int, work: Path) -> array.array[int]:
    path = work / "part.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    with wave.open(str(path)) as file:
        samples = array.array("h", file.readframes(file.getnframes()))
    loud = [i for i, s in enumerate(samples) if abs(s) > 330]  # -40 dBFS
    return samples[loud[0] : loud[-1] + 1]


@pytest.mark.parametrize(
    ("engine", "voice", "speed"),
    [
        ("faster-whisper", "en-us", 130),
        ("faster-whisper", "en-gb", 160),
        ("faster-whisper", "en-us+f3", 190),
        # The engine that heard "First," as "the", which was then cut.
        ("pocketsphinx", "en-us", 130),
    ],
)
def test_no_sentence_opening_word_after_a_long_pause_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, voice: str, speed: int
) -> None:
    monkeypatch.setenv("TRANSCRIPTION_ENGINE", engine)
    wiring.reset()
    samples = array.array("h", bytes(2 * RATE // 2))
    openings: list[tuple[str, float, float]] = []
    for text in (LEAD, *SENTENCES):
        if text != LEAD:
            samples.extend(bytes(round(2 * RATE * PAUSE)))
        start = len(samples) / RATE
        part = spoken(text, voice, speed, tmp_path)
        samples.extend(part)
        if text != LEAD:
            # The opening word's sound: up to the first quiet after it.
            first = spoken(text.split()[0], voice, speed, tmp_path)
            openings.append((text.split()[0], start, start + len(first) / RATE))
    samples.extend(bytes(2 * RATE))
    source = tmp_path / "openers.wav"
    with wave.open(str(source), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(samples.tobytes())

    job = new_job(tmp_path / "storage", source)
    for step in ("audio-extraction", "transcription", "smart-cut-planner"):
        job.run(step)
    plan = CutPlan.model_validate_json(job.file(job.keys.cut_plan).read_bytes())
    for word, start, end in openings:
        cut = [c for c in plan.cuts() if c.start < end - 0.02 and c.end > start + 0.02]
        assert not cut, (word, start, end, cut)
    # The pauses before them are still cut.
    assert sum(1 for c in plan.cuts() if c.reason.startswith("pause")) >= len(SENTENCES)
