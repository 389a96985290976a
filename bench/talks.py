"""Talks with exact ground truth: separately synthesized utterances
(espeak-ng) joined by silences and standing-apart fillers of known length and
position, over a moving test picture, at a chosen frame rate, optionally over
a noise floor. Beside each talk, a JSON of its exact speech, silence and
filler intervals and its script.

    python -m bench.talks OUT_DIR --seconds 120 [--fps 30] [--noise-db -55] [--seed 1]
        [--size 1280x720]

Needs espeak-ng (Debian: apt-get install espeak-ng) and the ffmpeg binary
that imageio-ffmpeg ships.
"""

from __future__ import annotations

import argparse
import array
import json
import math
import random
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import imageio_ffmpeg

SAMPLE_RATE = 22050  # espeak-ng's own
# Where an utterance's sound starts and ends: louder than this.
EDGE_DBFS = -40.0
SILENCE_CLASSES = (0.2, 0.4, 0.8, 1.5, 3.0)
FILLERS = ("um", "uh", "erm")
# Short real words said on their own, between pauses: speech, never a filler.
SHORT_WORDS = ("Yes.", "No.", "Okay.", "So.", "Right.", "Well.", "Oh.", "Now.", "Hi.")
TEXT = (
    "the team built a small garden behind the old school and every spring the children "
    "plant beans tomatoes and sunflowers while their teachers explain how water light and "
    "soil work together bees visit the flowers in the morning and the harvest goes to the "
    "kitchen where the cooks prepare soup for everyone on friday afternoon people from the "
    "town bring tools seeds and stories about the weather last year a storm broke the fence "
    "but volunteers repaired it within a week because they care about the place"
)
WORDS = tuple(TEXT.split())


@dataclass(frozen=True)
class Interval:
    start: float
    end: float
    text: str = ""


@dataclass
class GroundTruth:
    duration: float
    fps: str
    noise_db: float | None
    script: str
    speech: list[Interval] = field(default_factory=list)
    silences: list[Interval] = field(default_factory=list)  # text: its length class
    fillers: list[Interval] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        data = json.loads(path.read_text())
        for name in ("speech", "silences", "fillers"):
            data[name] = [Interval(**item) for item in data[name]]
        return cls(**data)


def _speak(text: str, work: Path) -> array.array[int]:
    """The utterance's samples, trimmed to where its sound starts and ends."""
    path = work / "utterance.wav"
    subprocess.run(  # noqa: S603 - an argument list built here
        ["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), text],  # noqa: S607
        check=True,
        capture_output=True,
    )
    with wave.open(str(path)) as clip:
        assert clip.getframerate() == SAMPLE_RATE and clip.getsampwidth() == 2
        samples = array.array("h", clip.readframes(clip.getnframes()))
    floor = 32768 * 10 ** (EDGE_DBFS / 20)
    loud = [i for i, s in enumerate(samples) if abs(s) > floor]
    return samples[loud[0] : loud[-1] + 1]


def _sentence(rng: random.Random) -> str:
    start = rng.randrange(len(WORDS) - 12)
    words = WORDS[start : start + rng.randint(4, 11)]
    return " ".join(words).capitalize() + "."


def generate(
    out_dir: Path,
    seconds: float,
    fps: str = "30",
    noise_db: float | None = None,
    seed: int = 1,
    size: str = "320x240",
) -> tuple[Path, GroundTruth]:
    """``out_dir/talk.mp4`` and ``out_dir/truth.json``: about ``seconds`` long."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = array.array("h")
    truth = GroundTruth(duration=0.0, fps=fps, noise_db=noise_db, script="")
    script: list[str] = []

    def now() -> float:
        return len(samples) / SAMPLE_RATE

    def pause(length: float) -> None:
        start = now()
        samples.frombytes(bytes(2 * round(length * SAMPLE_RATE)))
        truth.silences.append(Interval(start, now(), f"{length}"))

    def say(text: str, into: list[Interval], work: Path) -> None:
        start = now()
        samples.extend(_speak(text, work))
        into.append(Interval(start, now(), text))

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        pause(0.5)
        while now() < seconds:
            sentence = _sentence(rng)
            say(sentence, truth.speech, work)
            script.append(sentence)
            if rng.random() < 0.3:  # a filler standing apart: pauses on both sides
                pause(rng.choice(SILENCE_CLASSES[:3]))
                say(rng.choice(FILLERS), truth.fillers, work)
            elif rng.random() < 0.15:  # a short real word standing apart
                pause(rng.choice(SILENCE_CLASSES[1:3]))
                word = rng.choice(SHORT_WORDS)
                say(word, truth.speech, work)
                script.append(word)
            pause(rng.choice(SILENCE_CLASSES))
        audio = work / "talk.wav"
        with wave.open(str(audio), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(samples.tobytes())
        truth.duration = now()
        truth.script = " ".join(script)
        video = out_dir / "talk.mp4"
        _mux(audio, video, truth.duration, fps, noise_db, size, seed)
    (out_dir / "truth.json").write_text(truth.to_json())
    return video, truth


def _mux(
    audio: Path,
    video: Path,
    duration: float,
    fps: str,
    noise_db: float | None,
    size: str,
    seed: int,
) -> None:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    sound = "[1:a]anull[a]"
    inputs = ["-i", str(audio)]
    if noise_db is not None:
        # Pink noise at that RMS level under the whole talk, the same each time.
        amplitude = 10 ** (noise_db / 20) * math.sqrt(3)
        noise = f"anoisesrc=c=pink:a={amplitude:.6f}:r={SAMPLE_RATE}:seed={seed}"
        inputs += ["-f", "lavfi", "-i", noise]
        sound = "[1:a][2:a]amix=inputs=2:duration=first:normalize=0[a]"
    subprocess.run(  # noqa: S603 - an argument list built here
        [
            ffmpeg, "-y", "-v", "error",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={duration:.6f}",
            *inputs,
            "-filter_complex", sound,
            "-map", "0:v", "-map", "[a]",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "96k", "-shortest",
            str(video),
        ],
        check=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--fps", default="30")
    parser.add_argument("--noise-db", type=float)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", default="320x240", help="the picture, WIDTHxHEIGHT")
    args = parser.parse_args()
    video, truth = generate(
        args.out_dir, args.seconds, args.fps, args.noise_db, args.seed, args.size
    )
    print(
        f"{video}: {truth.duration:.1f} s, {len(truth.speech)} sentences, "
        f"{len(truth.silences)} silences, {len(truth.fillers)} fillers"
    )


if __name__ == "__main__":
    main()
