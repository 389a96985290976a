"""The default recogniser: faster-whisper with the pinned tiny.en model, fed
clips cut at quiet points. The same audio gives the same words however many
workers decode, the clips never split speech, and an interrupted
transcription is a retryable failure."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from talkavocado.adapters import ffmpeg, whisper_engine
from talkavocado.adapters.whisper_engine import CLIP_SECONDS, WhisperEngine, speech_clips
from talkavocado.errors import ErrorType, StepFailed
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "tests" / "fixtures" / "sample_talk.mp4"
RATE = whisper_engine.SAMPLE_RATE


def pcm_chunks(path: Path) -> Iterator[bytes]:
    with ffmpeg.pcm_stream(path, RATE) as pcm:
        yield from iter(lambda: pcm.read(65536), b"")


def test_the_sample_is_heard_word_for_word_the_same_on_one_worker_and_two() -> None:
    one = WhisperEngine(workers=1).transcribe(pcm_chunks(SAMPLE))
    two = WhisperEngine(workers=2).transcribe(pcm_chunks(SAMPLE))
    assert one == two
    words = [w.word.strip(".,").lower() for s in one for w in s.words]
    script = "hello and welcome to talk avocado today i will show you how it removes the long"
    assert " ".join(words).startswith(script)
    assert words[-4:] == ["see", "you", "next", "time"]
    timed = [w for s in one for w in s.words]
    assert all(a.start <= b.start for a, b in itertools.pairwise(timed))
    assert all(w.confidence is not None for w in timed)


def tone(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def test_clips_hold_every_sound_split_only_in_quiet_and_fit_one_window() -> None:
    # 40 s of sound without a pause: split at its quietest point, once.
    parts = [quiet(1), tone(2), quiet(0.5), tone(3), quiet(5), tone(40), quiet(1), tone(1)]
    audio = np.concatenate(parts)
    clips = speech_clips(audio)
    assert all((end - first) / RATE <= CLIP_SECONDS + 0.5 for first, end in clips)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(clips))
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    covered = np.zeros(len(audio), dtype=bool)
    for first, end in clips:
        covered[first:end] = True
    assert covered[loud].all()
    # The 0.5 s pause joins its neighbours; the 5 s silence ends a clip.
    assert clips[0][0] / RATE == pytest.approx(0.8, abs=0.05)
    assert clips[0][1] / RATE == pytest.approx(6.7, abs=0.05)
    assert len(clips) == 3


def test_silence_gives_no_clip() -> None:
    assert speech_clips(quiet(3)) == []
    assert WhisperEngine(workers=1).transcribe([bytes(RATE * 2)]) == []


def test_an_interrupted_transcription_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = WhisperEngine(workers=1)
    decode = engine._model.transcribe

    def interrupted_after_the_first(*args: object, **kwargs: object) -> object:
        whisper_engine.interrupt_all()
        return decode(*args, **kwargs)

    monkeypatch.setattr(engine._model, "transcribe", interrupted_after_the_first)
    with pytest.raises(StepFailed) as failed:
        engine.transcribe(pcm_chunks(SAMPLE))
    assert failed.value.type == ErrorType.TRANSIENT_DEPENDENCY
    assert failed.value.type.retryable
    assert "interrupted" in failed.value.message


# What the transcription function's package leaves out (Makefile,
# build-TranscriptionFunction): the engine must work without any of it.
LEFT_OUT = ("av", "huggingface_hub", "onnxruntime", "hf_xet", "imageio_ffmpeg", "pocketsphinx")
WITHOUT_THEM = f"""
import importlib.abc, sys
from pathlib import Path

class LeftOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {LEFT_OUT!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, LeftOut())
from talkavocado.adapters.whisper_engine import AbsentModule, WhisperEngine

pcm = Path(sys.argv[1]).read_bytes()
segments = WhisperEngine(workers=1).transcribe([pcm])
print(" ".join(w.word for s in segments for w in s.words))
assert isinstance(sys.modules["av"], AbsentModule)
import faster_whisper
for use in (lambda: faster_whisper.decode_audio(sys.argv[1]),
            lambda: faster_whisper.download_model("tiny.en")):
    try:
        use()
    except ImportError as error:
        print(error)
    else:
        raise SystemExit("decoded or downloaded without the module that does it")
loaded = sorted(name for name in sys.modules if name.split(".")[0] in {LEFT_OUT!r})
assert loaded == ["av", "huggingface_hub"], loaded
"""


def test_transcription_needs_no_decoder_vad_nor_downloader(tmp_path: Path) -> None:
    pcm = tmp_path / "sample.pcm"
    pcm.write_bytes(b"".join(pcm_chunks(SAMPLE)))
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_THEM, str(pcm)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    heard, decoding, downloading = ran.stdout.splitlines()[-3:]
    assert heard.startswith("Hello, and welcome to Talk Avocado.")
    assert heard.endswith("see you next time.")
    assert "PyAV is not installed here" in decoding
    assert "huggingface_hub is not installed here" in downloading
