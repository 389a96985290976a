"""Word error rate on real English speech (bench/speech: people reading and
speaking, not synthesized), each clip transcribed alone through the same
engine interface the transcription step uses, against the transcript its
source gives. The default recogniser (faster-whisper tiny.en), and
PocketSphinx beside it.

    python -m bench.wer
    python -m bench.wer --quick    # make test: two clips, the default recogniser

Before comparing, both texts are lowercased, hyphens and punctuation become
spaces, "mr." is "mister", and numbers under 100 are spelt out ("10" is
"ten"): the references are written that way.
"""

from __future__ import annotations

import re
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.quick import quick
from talkavocado.ports import TranscriptionEngine

SPEECH = Path(__file__).resolve().parent / "speech"
LIBRIVOX = "sense_and_sensibility_01_austen_64kb-0"
# (set, file, reference transcript)
CLIPS = (
    ("LibriVox reading", f"{LIBRIVOX}870.wav", "and mister john dashwood had then leisure to "
     "consider how much there might be prudently in his power to do for them"),
    ("LibriVox reading", f"{LIBRIVOX}880.wav", "he was not an ill disposed young man"),
    ("LibriVox reading", f"{LIBRIVOX}890.wav", "unless to be rather cold hearted and rather "
     "selfish is to be ill disposed"),
    # The reader's own restart "a more a amiable" is in the reference.
    ("LibriVox reading", f"{LIBRIVOX}920.wav", "had he married a more a amiable woman he might "
     "have been made still more respectable than he was"),
    ("LibriVox reading", f"{LIBRIVOX}930.wav", "he might even have been made amiable himself"),
    ("playing cards", "cards-001.wav", "ten of clubs"),
    ("playing cards", "cards-002.wav", "four queen of clubs"),
    ("playing cards", "cards-003.wav", "seven of clubs"),
    ("playing cards", "cards-004.wav", "five five"),
    ("playing cards", "cards-005.wav", "eight of spades four of clubs seven of hearts"),
    ("command", "goforward.raw", "go forward ten meters"),
)  # fmt: skip
QUICK_CLIPS = (f"{LIBRIVOX}880.wav", "goforward.raw")
RATE = 16000

_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _spelt(number: int) -> str:
    if number < 20:
        return _UNITS[number]
    tens, unit = divmod(number, 10)
    return _TENS[tens] + (f" {_UNITS[unit]}" if unit else "")


def normalise(text: str) -> list[str]:
    text = re.sub(r"\bmr\.?(?=\s|$)", "mister", text.lower())
    text = re.sub(r"\b\d{1,2}\b", lambda m: _spelt(int(m.group())), text)
    return re.sub(r"[^a-z0-9' ]+", " ", text.replace("-", " ")).split()


def word_errors(reference: Sequence[str], heard: Sequence[str]) -> int:
    """Substitutions, deletions and insertions turning ``heard`` into ``reference``."""
    row = list(range(len(heard) + 1))
    for i, wanted in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, got in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (wanted != got))
    return row[-1]


def pcm_of(path: Path) -> bytes:
    if path.suffix == ".raw":  # headerless 16 kHz mono 16-bit
        return path.read_bytes()
    with wave.open(str(path), "rb") as clip:
        if (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) != (1, 2, RATE):
            raise SystemExit(f"{path.name} is not 16 kHz mono 16-bit")
        return clip.readframes(clip.getnframes())


@dataclass
class Result:
    errors: int
    words: int
    seconds: float  # of audio
    elapsed: float


def measure(
    engine: TranscriptionEngine, clips: Sequence[tuple[str, str, str]]
) -> dict[str, Result]:
    """Per set and in all: errors, reference words, audio and decoding time."""
    totals: dict[str, Result] = {}
    for label, name, reference in clips:
        pcm = pcm_of(SPEECH / name)
        start = time.perf_counter()
        segments = engine.transcribe([pcm])
        elapsed = time.perf_counter() - start
        heard = " ".join(word.word for segment in segments for word in segment.words)
        wanted, got = normalise(reference), normalise(heard)
        errors = word_errors(wanted, got)
        print(f"  {name:<45} {errors:>2}/{len(wanted):<3} heard: {heard}")
        for key in (label, "all"):
            total = totals.setdefault(key, Result(0, 0, 0.0, 0.0))
            total.errors += errors
            total.words += len(wanted)
            total.seconds += len(pcm) / 2 / RATE
            total.elapsed += elapsed
    return totals


def engines() -> list[tuple[str, Callable[[], TranscriptionEngine]]]:
    from talkavocado.adapters.pocketsphinx_engine import PocketSphinxEngine
    from talkavocado.adapters.whisper_engine import WhisperEngine

    found: list[tuple[str, Callable[[], TranscriptionEngine]]] = [
        ("faster-whisper tiny.en (the default)", WhisperEngine)
    ]
    if not quick():
        found.append(("PocketSphinx en-us", PocketSphinxEngine))
    return found


def main() -> int:
    clips = [clip for clip in CLIPS if not quick() or clip[1] in QUICK_CLIPS]
    seconds = sum(len(pcm_of(SPEECH / name)) / 2 / RATE for _, name, _ in clips)
    print(f"Word error rate on real English speech (bench/speech: {len(clips)} clips, "
          f"{seconds:.1f} s), each clip alone")  # fmt: skip
    for label, build in engines():
        print(f"\n{label}:")
        totals = measure(build(), clips)
        for key, total in sorted(totals.items(), key=lambda item: item[0] == "all"):
            print(
                f"  {key:<18} WER {total.errors / total.words:6.1%} "
                f"({total.errors} errors in {total.words} words, {total.seconds:.1f} s, "
                f"decoded in {total.elapsed:.1f} s)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
