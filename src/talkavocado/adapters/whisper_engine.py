"""Transcription with faster-whisper, from a model directory on local disk
(the optional ``whisper`` extra). Nothing is downloaded: a missing package or
model directory is an error, never a silent fallback to another engine."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from pathlib import Path

from talkavocado.errors import ErrorType, StepFailed
from talkavocado.media.transcript import Segment, Word


class WhisperEngine:
    name = "faster-whisper"
    sample_rate = 16000

    def __init__(self, model_dir: Path | None, language: str = "en") -> None:
        if model_dir is None or not (model_dir / "model.bin").is_file():
            raise StepFailed(
                ErrorType.VALIDATION_FAILED,
                f"TRANSCRIPTION_ENGINE=faster-whisper needs WHISPER_MODEL_DIR to be a "
                f"CTranslate2 model directory (with model.bin); got {model_dir}",
            )
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise StepFailed(
                ErrorType.VALIDATION_FAILED,
                "faster-whisper is not installed: pip install 'talkavocado[whisper]'",
            ) from None
        self.language = language
        self.model = f"faster-whisper:{model_dir.name}"
        self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8")

    def transcribe(self, pcm: Iterable[bytes]) -> list[Segment]:
        import numpy as np

        samples = array("h")
        for chunk in pcm:
            samples.frombytes(chunk[: len(chunk) - len(chunk) % 2])
        audio = np.frombuffer(samples.tobytes(), dtype=np.int16).astype(np.float32) / 32768
        found, _ = self._model.transcribe(audio, language=self.language, word_timestamps=True)
        segments = []
        for item in found:
            words = [
                Word(
                    word=w.word.strip(),
                    start=round(w.start, 3),
                    end=round(w.end, 3),
                    confidence=round(w.probability, 4),
                )
                for w in item.words or []
            ]
            if words:
                segments.append(
                    Segment(
                        text=item.text.strip(), start=words[0].start, end=words[-1].end, words=words
                    )
                )
        return segments
