"""A job's cut settings and its plan as a person sees and edits it.

- ``CutSettings``: what a job asks of the planner (margin, shortest pause
  cut, fillers) and whether its plan waits for a review, kept on the record
  in milliseconds (DynamoDB stores no floats);
- ``snap``: a plan's segments on the frame grid the render cuts on
  (``media.commands.align_to_frames``): what a review shows is what the
  render keeps;
- ``edited_plan``: a replacement plan checked against the input (in order,
  covering it from 0 to its end, no gap, no overlap, something kept).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from talkavocado.errors import ValidationFailed
from talkavocado.media.planner import CutPlan, PlannerParameters, PlanSegment
from talkavocado.support.camel import CamelModel

# What a job may ask for: margins beyond 2 s keep whole pauses, and a pause
# under 0.1 s is the gap between two words.
MAX_MARGIN_SECONDS = 2.0
MIN_PAUSE_RANGE = (0.1, 30.0)
MAX_FILLERS = 50
FILLER_PATTERN = r"^[A-Za-z']+(?: [A-Za-z']+){0,3}$"
MAX_FILLER_LENGTH = 40
# Boundaries of an edit meet when they are this close (a plan's times are
# written to the microsecond, frame boundaries are not).
TOLERANCE = 0.001
MAX_SEGMENTS = 10_000
MAX_REASON_LENGTH = 200
EDITED = "edited"  # the algorithm of a plan a person made

MarginSeconds = Annotated[float, Field(ge=0, le=MAX_MARGIN_SECONDS, examples=[0.2])]
MinPauseSeconds = Annotated[
    float, Field(ge=MIN_PAUSE_RANGE[0], le=MIN_PAUSE_RANGE[1], examples=[0.75])
]
Filler = Annotated[str, Field(min_length=1, max_length=MAX_FILLER_LENGTH, pattern=FILLER_PATTERN)]
Fillers = Annotated[list[Filler], Field(max_length=MAX_FILLERS, examples=[["um", "uh"]])]


class CutSettings(CamelModel):
    """A job's own planner settings (None: the deployment's default) and
    whether its plan waits for a review before the render."""

    model_config = ConfigDict(extra="ignore")

    margin_ms: Annotated[int, Field(ge=0, le=int(MAX_MARGIN_SECONDS * 1000))] | None = None
    min_pause_ms: (
        Annotated[int, Field(ge=int(MIN_PAUSE_RANGE[0] * 1000), le=int(MIN_PAUSE_RANGE[1] * 1000))]
        | None
    ) = None
    fillers: list[str] | None = None
    review: bool = False

    @classmethod
    def of(
        cls,
        margin_seconds: float | None = None,
        min_pause_seconds: float | None = None,
        fillers: Sequence[str] | None = None,
        review: bool = False,
    ) -> CutSettings:
        """From seconds, to the millisecond; fillers lowercased, each once."""
        return cls(
            margin_ms=None if margin_seconds is None else round(margin_seconds * 1000),
            min_pause_ms=None if min_pause_seconds is None else round(min_pause_seconds * 1000),
            fillers=None if fillers is None else _fillers(fillers),
            review=review,
        )

    @property
    def margin_seconds(self) -> float | None:
        return None if self.margin_ms is None else self.margin_ms / 1000

    @property
    def min_pause_seconds(self) -> float | None:
        return None if self.min_pause_ms is None else self.min_pause_ms / 1000

    def parameters(self, defaults: PlannerParameters) -> PlannerParameters:
        """The planner's parameters for this job: the deployment's, with
        what the job asked for instead."""
        update: dict[str, object] = {}
        if self.margin_ms is not None:
            update["padding"] = self.margin_ms / 1000
        if self.min_pause_ms is not None:
            update["min_pause"] = self.min_pause_ms / 1000
        if self.fillers is not None:
            update["fillers"] = list(self.fillers)
        return defaults.model_copy(update=update)


def _fillers(values: Sequence[str]) -> list[str]:
    pattern = re.compile(FILLER_PATTERN)
    seen: list[str] = []
    for index, value in enumerate(values):
        if len(value) > MAX_FILLER_LENGTH or not pattern.fullmatch(value):
            raise ValidationFailed(
                "a filler is a word or a phrase of up to 4 words (letters and apostrophes)",
                field=f"settings.fillers[{index}]",
            )
        if value.lower() not in seen:
            seen.append(value.lower())
    return seen


def snap_time(seconds: float, fps: float | None) -> float:
    """A time on the frame grid, as the render snaps it (to the microsecond
    without a picture)."""
    return round(seconds * fps) / fps if fps else round(seconds, 6)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    action: Literal["keep", "cut"]
    reason: str


def snap(plan: CutPlan, fps: float | None) -> list[Segment]:
    """The plan's segments with their boundaries on the frame grid; a
    segment shorter than half a frame (which the render cannot cut) goes."""
    snapped = []
    for segment in plan.segments:
        start, end = snap_time(segment.start, fps), snap_time(segment.end, fps)
        if end - start > 1e-6:
            snapped.append(Segment(start, end, segment.action, segment.reason))
    return snapped


def edited_plan(segments: Sequence[Segment], planner: CutPlan, fps: float | None) -> CutPlan:
    """A person's replacement for ``planner`` (the planner's own plan of the
    same input), refused with the field at fault unless it covers the input
    from 0 to its end in order, without gap or overlap, and keeps at least a
    frame. Boundaries within TOLERANCE are joined exactly."""
    duration = planner.source_duration
    if not segments:
        raise ValidationFailed("a plan has at least one segment", field="segments")
    if len(segments) > MAX_SEGMENTS:
        raise ValidationFailed(f"a plan has at most {MAX_SEGMENTS} segments", field="segments")
    # The last boundary may be the end snapped to the frame grid.
    end_limit = max(duration, snap_time(duration, fps))
    end_floor = min(duration, snap_time(duration, fps))
    cursor = 0.0
    normalised: list[PlanSegment] = []
    for index, segment in enumerate(segments):
        field = f"segments[{index}]"
        if segment.end <= segment.start:
            raise ValidationFailed(f"{field} ends before it starts", field=f"{field}.end")
        if segment.start > cursor + TOLERANCE:
            where = "the input's start" if index == 0 else f"segments[{index - 1}]"
            raise ValidationFailed(
                f"{field} leaves a gap after {where}: segments must cover the whole input",
                field=f"{field}.start",
            )
        if segment.start < cursor - TOLERANCE:
            raise ValidationFailed(
                f"{field} overlaps segments[{index - 1}] or is out of order",
                field=f"{field}.start",
            )
        if segment.end > end_limit + TOLERANCE:
            raise ValidationFailed(
                f"{field} ends after the input's end ({duration:.3f} s)", field=f"{field}.end"
            )
        end = min(segment.end, duration)
        if end - cursor > 1e-6:
            reason = segment.reason[:MAX_REASON_LENGTH] or EDITED
            normalised.append(
                PlanSegment(start=cursor, end=round(end, 6), action=segment.action, reason=reason)
            )
        cursor = round(end, 6)
    if cursor < end_floor - TOLERANCE:
        raise ValidationFailed(
            f"the segments end at {cursor:.3f} s, before the input's end ({duration:.3f} s): "
            "they must cover the whole input",
            field=f"segments[{len(segments) - 1}].end",
        )
    if normalised and normalised[-1].end < duration:
        normalised[-1] = normalised[-1].model_copy(update={"end": duration})
    kept = sum(
        snap_time(s.end, fps) - snap_time(s.start, fps) for s in normalised if s.action == "keep"
    )
    if kept <= 1e-6:
        raise ValidationFailed("the plan keeps nothing (less than a frame)", field="segments")
    kept_duration = round(sum(s.end - s.start for s in normalised if s.action == "keep"), 6)
    return CutPlan(
        source_duration=duration,
        algorithm=EDITED,
        parameters=planner.parameters,
        segments=normalised,
        total_cuts=sum(1 for s in normalised if s.action == "cut"),
        kept_duration=kept_duration,
        cut_duration=round(duration - kept_duration, 6),
    )


def kept_time(segments: Sequence[Segment]) -> float:
    return sum(s.end - s.start for s in segments if s.action == "keep")
