"""The transcript: segments of words with timings, its JSON document and its
SRT captions. No I/O here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated

from pydantic import Field

from talkavocado.support.camel import CamelModel

Seconds = Annotated[float, Field(ge=0)]
MAX_CUE_SECONDS = 7.0
MAX_CUE_CHARACTERS = 84


class Word(CamelModel):
    word: str
    start: Seconds
    end: Seconds
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None


class Segment(CamelModel):
    text: str
    start: Seconds
    end: Seconds
    words: list[Word]


class Transcript(CamelModel):
    language: str
    engine: str
    model: str
    duration: Seconds
    segments: list[Segment]

    def words(self) -> Iterator[Word]:
        for segment in self.segments:
            yield from segment.words

    @property
    def confidence(self) -> float | None:
        """Mean word confidence, when the engine reports one."""
        scores = [w.confidence for w in self.words() if w.confidence is not None]
        return round(sum(scores) / len(scores), 4) if scores else None

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, indent=2).encode()


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def _cues(segments: Sequence[Segment]) -> Iterator[tuple[float, float, str]]:
    """Each segment, split into cues of bounded length at word boundaries."""
    for segment in segments:
        group: list[Word] = []
        for word in segment.words:
            text = " ".join(w.word for w in [*group, word])
            if group and (
                word.end - group[0].start > MAX_CUE_SECONDS or len(text) > MAX_CUE_CHARACTERS
            ):
                yield group[0].start, group[-1].end, " ".join(w.word for w in group)
                group = []
            group.append(word)
        if group:
            yield group[0].start, group[-1].end, " ".join(w.word for w in group)
        elif segment.text:
            yield segment.start, segment.end, segment.text


def to_srt(segments: Sequence[Segment]) -> str:
    """Valid SRT: numbered cues in time order that never overlap; every word
    of the transcript appears once."""
    lines: list[str] = []
    previous_end = 0.0
    for index, (start, end, text) in enumerate(_cues(segments), start=1):
        start = max(start, previous_end)
        end = max(end, start + 0.001)
        lines += [str(index), f"{_timestamp(start)} --> {_timestamp(end)}", text, ""]
        previous_end = end
    return "\n".join(lines)
