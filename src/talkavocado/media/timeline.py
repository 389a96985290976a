"""A plan as an editor's timeline: the kept segments of one source, in
frames of its own rate, one after the other. No I/O here; the file formats
are written by an adapter (``adapters/otio_timeline.py``)."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

TimelineFormat = Literal["fcpxml", "xml", "edl", "otio"]
TIMELINE_FORMATS: tuple[str, ...] = get_args(TimelineFormat)
# A source without a picture has no frame grid; editors still count in
# frames, so its timeline counts at this rate (its cuts are to the ms).
AUDIO_ONLY_RATE = 25


@dataclass(frozen=True)
class Timeline:
    name: str  # the cut's name, e.g. "talk_cut"
    source_name: str  # the source file's original name
    source_url: str  # what the editor opens: the name, or a file:// URL
    rate: Fraction  # frames per second (30000/1001 for 29.97)
    source_frames: int  # the source's length in frames
    clips: tuple[tuple[int, int], ...]  # the kept frames [first, last) of each segment
    has_video: bool
    size: tuple[int, int] | None = None  # the picture's width and height, when known

    @property
    def frames(self) -> int:
        return sum(last - first for first, last in self.clips)

    @property
    def duration(self) -> float:
        return float(self.frames / self.rate)


def timeline_of(
    keeps: Sequence[tuple[float, float]],
    fps: float | None,
    source_duration: float,
    source_name: str,
    source_url: str | None = None,
    size: tuple[int, int] | None = None,
) -> Timeline:
    """The kept segments (frame-snapped, as the render cuts them) as frames
    of the source's rate: with a picture, the render's own frame numbers
    (``frame_span``); without, times counted at AUDIO_ONLY_RATE."""
    # Imported here: the API, which exports, does not load the render's
    # module for anything else (its cold start).
    from talkavocado.media.commands import frame_span, rate

    exact = Fraction(rate(fps)) if fps else Fraction(AUDIO_ONLY_RATE)
    clips = []
    for start, end in keeps:
        first, last = (
            frame_span(start, end, fps)
            if fps
            else (round(Fraction(start) * exact), round(Fraction(end) * exact))
        )
        if last > first:
            clips.append((first, last))
    stem = posixpath.splitext(source_name)[0] or "source"
    return Timeline(
        name=f"{stem}_cut",
        source_name=source_name,
        source_url=source_url or source_name,
        rate=exact,
        source_frames=max(round(Fraction(source_duration) * exact), clips[-1][1] if clips else 0),
        clips=tuple(clips),
        has_video=fps is not None,
        size=size if fps else None,
    )
