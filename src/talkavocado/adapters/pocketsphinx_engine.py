"""Offline English transcription with PocketSphinx (its wheel ships the
en-US model). Utterances are found by its endpointer and decoded one at a
time, so memory stays bounded whatever the recording's length."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib.metadata import version

from talkavocado.media.transcript import Segment, Word

_NOT_WORDS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "<unk>"}
_ALTERNATE = re.compile(r"\(\d+\)$")
FRAMES_PER_SECOND = 100  # PocketSphinx's default frame rate


def _frames(pcm: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """(frame, is_last): fixed-size frames from chunks of any size. The last
    is padded with silence to a full frame, even when the audio ends exactly
    on a frame boundary (the endpointer must see an end-of-stream frame)."""
    pending = b""
    for chunk in pcm:
        pending += chunk
        while len(pending) > size:
            yield pending[:size], False
            pending = pending[size:]
    yield pending.ljust(size, b"\0"), True


class PocketSphinxEngine:
    name = "pocketsphinx"
    language = "en"
    sample_rate = 16000

    def __init__(self) -> None:
        import pocketsphinx

        pocketsphinx.set_loglevel("FATAL")
        self.model = f"pocketsphinx-{version('pocketsphinx')}-en-us"
        self._pocketsphinx = pocketsphinx
        self._decoder = pocketsphinx.Decoder(samprate=self.sample_rate)

    def transcribe(self, pcm: Iterable[bytes]) -> list[Segment]:
        endpointer = self._pocketsphinx.Endpointer(sample_rate=self.sample_rate)
        decoder = self._decoder
        segments: list[Segment] = []
        size = int(endpointer.frame_bytes)
        for frame, last in _frames(pcm, size):
            was_speaking = endpointer.in_speech
            speech = endpointer.end_stream(frame) if last else endpointer.process(frame)
            if speech is not None:
                if not was_speaking:
                    decoder.start_utt()
                decoder.process_raw(speech)
                if not endpointer.in_speech:
                    decoder.end_utt()
                    segment = self._segment(endpointer.speech_start)
                    if segment is not None:
                        segments.append(segment)
        return segments

    def _segment(self, offset: float) -> Segment | None:
        words = [
            Word(
                word=_ALTERNATE.sub("", item.word),
                start=round(offset + item.start_frame / FRAMES_PER_SECOND, 3),
                end=round(offset + (item.end_frame + 1) / FRAMES_PER_SECOND, 3),
                # The Python bindings expose no calibrated word posterior.
                confidence=None,
            )
            for item in self._decoder.seg()
            if item.word not in _NOT_WORDS
        ]
        if not words:
            return None
        return Segment(
            text=" ".join(w.word for w in words),
            start=words[0].start,
            end=words[-1].end,
            words=words,
        )
