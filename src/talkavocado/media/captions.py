"""Captions of the cut video: the transcript's words re-timed onto the
render's timeline, grouped into cues by captioning conventions, written as
SRT and WebVTT with pysubs2. No I/O here.

A cue never spans a cut: it holds words of one kept segment only, and ends
where that segment ends at the latest. It has at most MAX_LINES lines of at
most about LINE_CHARACTERS characters (a single word longer than a line
stands alone), lasts at most MAX_CUE_SECONDS, and stays on screen at least
MIN_CUE_SECONDS where the segment and the next cue leave room for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pysubs2

from talkavocado.media.transcript import Segment, Word

LINE_CHARACTERS = 42
MAX_LINES = 2
MIN_CUE_SECONDS = 1.0
MAX_CUE_SECONDS = 7.0


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...]  # on the render's timeline
    segment: int  # the kept segment it belongs to


def retime(words: Sequence[Word], keeps: Sequence[tuple[float, float]]) -> list[list[Word]]:
    """For each kept segment (source times), the words heard in it, re-timed
    onto the render's timeline. A word belongs to the segment that keeps
    most of it, clipped to that segment (a recogniser's word edges can
    stretch into a pause that was cut); a word wholly cut (all but less than a
    millisecond) is left out."""
    found: list[list[Word]] = [[] for _ in keeps]
    offsets, offset = [], 0.0
    for start, end in keeps:
        offsets.append(offset)
        offset += end - start
    for word in words:
        overlaps = [min(word.end, end) - max(word.start, start) for start, end in keeps]
        if not overlaps or max(overlaps) <= 0:
            continue
        index = overlaps.index(max(overlaps))
        start, end = keeps[index]
        shown = (
            round(offsets[index] + max(word.start, start) - start, 3),
            round(offsets[index] + min(word.end, end) - start, 3),
        )
        if shown[1] <= shown[0]:  # less than a millisecond of it kept: cut
            continue
        found[index].append(word.model_copy(update={"start": shown[0], "end": shown[1]}))
    return found


def _lines(words: Sequence[Word]) -> tuple[str, ...] | None:
    """The words broken into at most MAX_LINES lines; None when they do not fit."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word.word) <= LINE_CHARACTERS:
            lines[-1] += " " + word.word
        else:
            lines.append(word.word)
    return tuple(lines) if len(lines) <= MAX_LINES or len(words) == 1 else None


def cues(words: Sequence[Word], keeps: Sequence[tuple[float, float]]) -> list[Cue]:
    """The cues of the cut video (``keeps``: the render's kept segments, in
    source times, as it cut them)."""
    segment_ends, offset = [], 0.0
    for start, end in keeps:
        offset += end - start
        segment_ends.append(round(offset, 3))
    groups: list[tuple[int, list[Word]]] = []
    for index, inside in enumerate(retime(words, keeps)):
        group: list[Word] = []
        for word in inside:
            candidate = [*group, word]
            too_long = word.end - candidate[0].start > MAX_CUE_SECONDS
            sentence_ended = bool(group) and group[-1].word.endswith((".", "?", "!"))
            if group and (too_long or _lines(candidate) is None or sentence_ended):
                groups.append((index, group))
                candidate = [word]
            group = candidate
        if group:
            groups.append((index, group))
    found: list[Cue] = []
    for position, (index, group) in enumerate(groups):
        start = group[0].start
        if found and start < found[-1].end:
            start = found[-1].end
        end = max(group[-1].end, start + 0.001)
        # At least MIN_CUE_SECONDS where there is room: up to the next cue,
        # never past the end of its own segment (a cut) nor MAX_CUE_SECONDS.
        room = segment_ends[index]
        if position + 1 < len(groups):
            room = min(room, groups[position + 1][1][0].start)
        end = max(end, min(start + MIN_CUE_SECONDS, room))
        end = min(end, start + MAX_CUE_SECONDS, segment_ends[index])
        lines = _lines(group) or (" ".join(w.word for w in group),)
        found.append(Cue(round(start, 3), round(end, 3), lines, tuple(group), index))
    return found


def _subtitles(found: Sequence[Cue]) -> pysubs2.SSAFile:
    document = pysubs2.SSAFile()
    for cue in found:
        document.events.append(
            pysubs2.SSAEvent(
                start=round(cue.start * 1000), end=round(cue.end * 1000), text=r"\N".join(cue.lines)
            )
        )
    return document


def to_srt(found: Sequence[Cue]) -> str:
    return str(_subtitles(found).to_string("srt"))


def to_vtt(found: Sequence[Cue]) -> str:
    return str(_subtitles(found).to_string("vtt"))


def cut_segments(found: Sequence[Cue]) -> list[Segment]:
    """The transcript of the cut video: one segment per cue, on its timeline."""
    return [
        Segment(text=" ".join(cue.lines), start=cue.start, end=cue.end, words=list(cue.words))
        for cue in found
    ]
