"""How exact a cut plan is against a talk's ground truth: speech kept, silence
removed by length class, fillers removed, joins inside sound, and the
transcript's word error rate against the script."""

from __future__ import annotations

import array
import math
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg

from bench.talks import SILENCE_CLASSES, GroundTruth, Interval

JOIN_WINDOW = 0.020  # seconds either side of a join
JOIN_LOUD_DBFS = -40.0
PCM_RATE = 16000
Span = tuple[float, float]


@dataclass
class Figures:
    speech_kept: float  # share of the true speech time
    words_cut: int  # sentences with any part cut
    silence_removed: dict[str, float]  # by length class: share of its time
    fillers_removed: int  # cut for at least 90% of their length
    fillers: int
    joins: int
    joins_in_sound: int
    word_error_rate: float | None

    def lines(self) -> list[str]:
        silence = ", ".join(f"{k} s {v:.0%}" for k, v in self.silence_removed.items())
        wer = "-" if self.word_error_rate is None else f"{self.word_error_rate:.0%}"
        return [
            f"speech kept {self.speech_kept:.2%} (sentences touched by a cut: {self.words_cut})",
            f"silence removed: {silence}",
            f"fillers removed {self.fillers_removed}/{self.fillers}",
            f"joins inside sound {self.joins_in_sound}/{self.joins}",
            f"word error rate {wer}",
        ]


def _overlap(a: Span, spans: Sequence[Span]) -> float:
    return sum(max(0.0, min(a[1], e) - max(a[0], s)) for s, e in spans)


def _cuts(keeps: Sequence[Span], duration: float) -> list[Span]:
    cuts, cursor = [], 0.0
    for start, end in keeps:
        if start > cursor:
            cuts.append((cursor, start))
        cursor = end
    if cursor < duration:
        cuts.append((cursor, duration))
    return cuts


def pcm_of(media: Path) -> array.array[int]:
    """The media's sound, mono, 16 kHz, 16-bit."""
    raw = subprocess.run(  # noqa: S603 - an argument list built here
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(media), "-vn", "-ac", "1",
         "-ar", str(PCM_RATE), "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    return array.array("h", raw)


def _loud(pcm: array.array[int], start: float, end: float) -> bool:
    """Louder than JOIN_LOUD_DBFS (RMS over 5 ms windows) anywhere in [start, end)."""
    floor = 32768 * 10 ** (JOIN_LOUD_DBFS / 20)
    step = PCM_RATE // 200
    first, last = max(0, round(start * PCM_RATE)), min(len(pcm), round(end * PCM_RATE))
    for at in range(first, max(first, last - step) + 1, step):
        window = pcm[at : at + step]
        if window and math.sqrt(sum(s * s for s in window) / len(window)) > floor:
            return True
    return False


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower()).split()


def word_error_rate(recognised: Sequence[str], script: str) -> float:
    reference = _words(script)
    hypothesis = _words(" ".join(recognised))
    previous = list(range(len(hypothesis) + 1))
    for i, word in enumerate(reference, 1):
        current = [i]
        for j, heard in enumerate(hypothesis, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != heard))
            )
        previous = current
    return previous[-1] / max(1, len(reference))


def measure(
    truth: GroundTruth,
    keeps: Sequence[Span],
    source_pcm: array.array[int] | None = None,
    recognised: Sequence[str] | None = None,
) -> Figures:
    cuts = _cuts(keeps, truth.duration)
    speech = sum(s.end - s.start for s in truth.speech)
    kept = sum(_overlap((s.start, s.end), keeps) for s in truth.speech)
    by_class: dict[str, list[Interval]] = {f"{c}": [] for c in SILENCE_CLASSES}
    for silence in truth.silences:
        by_class.setdefault(silence.text, []).append(silence)
    removed = {
        name: sum(_overlap((s.start, s.end), cuts) for s in found)
        / sum(s.end - s.start for s in found)
        for name, found in by_class.items()
        if found and name in {f"{c}" for c in SILENCE_CLASSES}
    }
    joins = [(keeps[i][1], keeps[i + 1][0]) for i in range(len(keeps) - 1)]
    in_sound = 0
    if source_pcm is not None:
        in_sound = sum(
            _loud(source_pcm, a - JOIN_WINDOW, a) or _loud(source_pcm, b, b + JOIN_WINDOW)
            for a, b in joins
        )
    return Figures(
        speech_kept=kept / speech,
        words_cut=sum(_overlap((s.start, s.end), cuts) > 0.001 for s in truth.speech),
        silence_removed=removed,
        fillers_removed=sum(
            _overlap((f.start, f.end), cuts) >= 0.9 * (f.end - f.start) for f in truth.fillers
        ),
        fillers=len(truth.fillers),
        joins=len(joins),
        joins_in_sound=in_sound,
        word_error_rate=None if recognised is None else word_error_rate(recognised, truth.script),
    )


def _onset(pcm: array.array[int], start: float, end: float) -> float | None:
    """Where the sound first gets louder than JOIN_LOUD_DBFS (1 ms RMS) in [start, end)."""
    floor = 32768 * 10 ** (JOIN_LOUD_DBFS / 20)
    step = PCM_RATE // 1000
    for at in range(max(0, round(start * PCM_RATE)), min(len(pcm), round(end * PCM_RATE)), step):
        window = pcm[at : at + step]
        if window and math.sqrt(sum(s * s for s in window) / len(window)) > floor:
            return at / PCM_RATE
    return None


def av_offsets(
    truth: GroundTruth, keeps: Sequence[Span], render_pcm: array.array[int]
) -> list[int]:
    """Per kept segment with a sound starting inside it: how many frames from
    its picture that sound is in the render, measured. The picture's place is
    counted in frames (the render holds exactly the kept frames); the sound's
    is the onset found in the render's own audio."""
    rate = Fraction(truth.fps)
    onsets = sorted(s.start for s in [*truth.speech, *truth.fillers])
    offsets = []
    frames_before = 0
    for start, end in keeps:
        first, last = round(Fraction(start) * rate), round(Fraction(end) * rate)
        inside = [o for o in onsets if start + 0.05 <= o <= end - 0.05]
        if inside:
            expected = float(frames_before / rate) + inside[0] - float(first / rate)
            found = _onset(render_pcm, expected - 0.05, expected + 0.2)
            offsets.append(99 if found is None else round((found - expected) * rate))
        frames_before += last - first
    return offsets
