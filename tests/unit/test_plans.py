"""A job's cut settings, its plan as people see it (snapped to frames) and
edit it (validated), and the job states of a review and of a new render."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talkavocado.domain.deadlines import Deadlines
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.domain.plans import CutSettings, Segment, edited_plan, snap, snap_time
from talkavocado.errors import ErrorType, InvalidTransition, ValidationFailed
from talkavocado.media.commands import align_to_frames
from talkavocado.media.planner import CutPlan, PlannerParameters, PlanSegment, plan_cuts
from talkavocado.media.transcript import Word
from talkavocado.support.clock import parse_time

KEYS = JobKeys("test", "demo-tenant", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69")
NOW = "2026-01-01T00:00:00.000Z"


def spoken(*spans: tuple[str, float, float]) -> list[Word]:
    return [Word(word=w, start=s, end=e) for w, s, e in spans]


# --- settings change the plan as asked ---------------------------------------

TALK = spoken(("hello", 0.2, 1.0), ("there", 3.0, 3.8), ("um", 5.0, 5.3), ("bye", 7.0, 8.0))
QUIET = [(1.0, 3.0), (3.8, 5.0), (5.3, 7.0), (8.0, 9.0)]


def plan_with(settings: CutSettings) -> CutPlan:
    return plan_cuts(9.0, QUIET, TALK, settings.parameters(PlannerParameters()))


def test_a_larger_margin_keeps_more_sound_around_every_kept_segment() -> None:
    narrow = plan_with(CutSettings.of(margin_seconds=0.1)).keeps()
    wide = plan_with(CutSettings.of(margin_seconds=0.3)).keeps()
    assert len(narrow) == len(wide)
    for (a, b), (c, d) in zip(narrow, wide, strict=True):
        assert c <= a and d >= b
        assert (d - c) > (b - a)  # each kept segment grew


def test_fillers_none_cuts_no_filler() -> None:
    default = plan_with(CutSettings.of())
    assert any("filler" in cut.reason for cut in default.cuts())
    none = plan_with(CutSettings.of(fillers=[]))
    assert not any("filler" in cut.reason for cut in none.cuts())


def test_a_longer_minimum_pause_cuts_fewer_pauses() -> None:
    assert (
        plan_with(CutSettings.of(min_pause_seconds=1.5)).total_cuts
        < plan_with(CutSettings.of(min_pause_seconds=0.5)).total_cuts
    )


def test_settings_are_kept_in_milliseconds_and_left_out_ones_are_the_defaults() -> None:
    settings = CutSettings.of(margin_seconds=0.2, fillers=["Um", "you know", "um"])
    assert (settings.margin_ms, settings.min_pause_ms) == (200, None)
    assert settings.fillers == ["um", "you know"]
    parameters = settings.parameters(PlannerParameters(min_pause=1.0))
    assert (parameters.padding, parameters.min_pause) == (0.2, 1.0)
    stored = JobRecord.model_validate(
        JobRecord.for_job(KEYS, correlation_id="c", settings=settings).to_item()
    )
    assert stored.settings == settings


@pytest.mark.parametrize("filler", ["", "a,b", "one two three four five", "x" * 41, "<um>"])
def test_a_filler_that_is_no_word_or_phrase_is_refused(filler: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        CutSettings.of(fillers=["um", filler])
    assert refused.value.details["field"] == "settings.fillers[1]"


# --- snapping: what a review shows is what the render cuts --------------------

PLAN = CutPlan(
    source_duration=10.0,
    parameters=PlannerParameters(),
    segments=[
        PlanSegment(start=0, end=2.013, action="keep", reason="speech"),
        PlanSegment(start=2.013, end=4.5, action="cut", reason="pause 2.49 s"),
        PlanSegment(start=4.5, end=4.51, action="keep", reason="speech"),
        PlanSegment(start=4.51, end=7.777, action="cut", reason="pause"),
        PlanSegment(start=7.777, end=10.0, action="keep", reason="speech"),
    ],
    total_cuts=2,
    kept_duration=4.246,
    cut_duration=5.754,
)


@pytest.mark.parametrize("fps", [25.0, 30000 / 1001, None])
def test_snapped_keeps_are_the_renders_own(fps: float | None) -> None:
    snapped = [(s.start, s.end) for s in snap(PLAN, fps) if s.action == "keep"]
    assert snapped == align_to_frames(PLAN.keeps(), fps)
    if fps:
        for start, end in snapped:
            assert abs(start * fps - round(start * fps)) < 1e-6
            assert abs(end * fps - round(end * fps)) < 1e-6


# --- edits: any valid one accepted, any other refused naming its field --------

FPS = 25.0


@st.composite
def valid_edits(draw: st.DrawFn) -> tuple[list[Segment], float]:
    duration = draw(st.integers(min_value=10, max_value=2000)) / FPS
    inner = draw(
        st.lists(st.integers(min_value=1, max_value=round(duration * FPS) - 1), unique=True)
    )
    bounds = [0.0, *(b / FPS for b in sorted(inner)), duration]
    actions = draw(
        st.lists(
            st.sampled_from(["keep", "cut"]), min_size=len(bounds) - 1, max_size=len(bounds) - 1
        )
    )
    if "keep" not in actions:
        actions[draw(st.integers(0, len(actions) - 1))] = "keep"
    segments = [
        Segment(a, b, action, "edited")  # type: ignore[arg-type]
        for a, b, action in zip(bounds[:-1], bounds[1:], actions, strict=True)
    ]
    return segments, duration


def planner_of(duration: float) -> CutPlan:
    return CutPlan(
        source_duration=duration,
        parameters=PlannerParameters(),
        segments=[PlanSegment(start=0, end=duration, action="keep", reason="speech")],
        total_cuts=0,
        kept_duration=duration,
        cut_duration=0,
    )


@settings(max_examples=150, deadline=None)
@given(valid_edits())
def test_any_valid_edit_is_accepted_as_it_was_made(edit: tuple[list[Segment], float]) -> None:
    segments, duration = edit
    plan = edited_plan(segments, planner_of(duration), FPS)
    assert [s.action for s in plan.segments] == [s.action for s in segments]
    for made, asked in zip(plan.segments, segments, strict=True):
        assert made.start == pytest.approx(asked.start) and made.end == pytest.approx(asked.end)
    assert plan.segments[0].start == 0 and plan.segments[-1].end == duration
    assert plan.total_cuts == sum(1 for s in segments if s.action == "cut")
    assert plan.kept_duration == pytest.approx(
        sum(s.end - s.start for s in segments if s.action == "keep"), abs=1e-5
    )
    plan.to_json()  # and it is a valid plan document


@settings(max_examples=150, deadline=None)
@given(valid_edits(), st.data())
def test_any_gapped_overlapping_or_reordered_edit_is_refused(
    edit: tuple[list[Segment], float], data: st.DataObject
) -> None:
    segments, duration = edit
    broken = list(segments)
    how = data.draw(st.sampled_from(["gap", "overlap", "reorder", "short", "long", "empty"]))
    index = data.draw(st.integers(0, len(broken) - 1))
    segment = broken[index]
    length = segment.end - segment.start
    shift = 0.002 + data.draw(st.floats(min_value=0, max_value=0.9)) * (length - 0.002)
    if how == "gap":  # it starts after the one before it ends
        broken[index] = Segment(segment.start + shift, segment.end, segment.action, "")
    elif how == "overlap" and index > 0:  # it starts before the one before it ends
        broken[index] = Segment(segment.start - shift, segment.end, segment.action, "")
    elif how in ("overlap", "reorder") and len(broken) == 1:
        broken.append(Segment(0, segment.end, "keep", ""))
    elif how in ("overlap", "reorder"):
        at = max(index, 1)
        broken[at - 1], broken[at] = broken[at], broken[at - 1]
    elif how == "short":  # it stops before the input's end
        broken = broken[:-1] if len(broken) > 1 else [Segment(0, duration / 2, "keep", "")]
    elif how == "long":  # it goes on past the input's end
        last = broken[-1]
        broken[-1] = Segment(last.start, duration + 0.1, last.action, "")
    else:
        broken[index] = Segment(segment.start, segment.start, segment.action, "")
    with pytest.raises(ValidationFailed) as refused:
        edited_plan(broken, planner_of(duration), FPS)
    assert str(refused.value.details["field"]).startswith("segments")


def test_an_edit_that_keeps_nothing_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="keeps nothing"):
        edited_plan([Segment(0, 10, "cut", "")], planner_of(10.0), FPS)


def test_boundaries_within_a_millisecond_meet_and_the_snapped_end_is_accepted() -> None:
    duration = 10.01  # its last frame boundary (25 fps) is 10.0
    plan = edited_plan(
        [Segment(0, 4.0004, "keep", ""), Segment(4.0, snap_time(duration, FPS), "cut", "")],
        planner_of(duration),
        FPS,
    )
    assert plan.segments[1].start == plan.segments[0].end
    assert plan.segments[-1].end == duration
    assert plan.algorithm == "edited" and plan.segments[1].reason == "edited"


# --- the job: a review awaited, approved, expired; an edit rendered again -----


def planned(review: bool) -> JobRecord:
    record = JobRecord.for_job(
        KEYS, correlation_id="c", settings=CutSettings.of(review=review), started_at=NOW
    )
    for step in STEP_NAMES[:3]:
        record.start_step(step, NOW)
        record.finish_step(step, "completed", NOW)
    return record


def test_a_job_that_asks_for_a_review_waits_after_planning() -> None:
    record = planned(review=True)
    assert record.status == "awaiting-review" and record.plan_version == 1
    assert record.review_since == NOW
    assert record.refusal_to_run("video-render") == "the job's plan awaits its review"
    record.approve_plan(NOW, (2, KEYS.edited_plan(2, "ab12")))
    assert (record.status, record.plan_version) == ("processing", 2)
    assert record.refusal_to_run("video-render") is None
    assert [e.kind for e in record.journal][-2:] == ["awaiting-review", "plan-approved"]
    with pytest.raises(InvalidTransition):
        record.approve_plan(NOW)


def test_a_job_without_review_goes_on() -> None:
    record = planned(review=False)
    assert record.status == "processing" and record.plan_version == 1


def test_a_review_not_answered_in_its_window_expires() -> None:
    record = planned(review=True)
    deadlines = Deadlines(
        upload_window=timedelta(hours=1),
        step_budgets={step: timedelta(hours=2) for step in STEP_NAMES},
        review_window=timedelta(hours=3),
    )
    since = parse_time(NOW)
    assert deadlines.overdue(record, since + timedelta(hours=2, minutes=59)) is None
    error = deadlines.overdue(record, since + timedelta(hours=3, seconds=1))
    assert error is not None and error.type == ErrorType.REVIEW_EXPIRED
    assert error.step == "review" and "ReviewWindowSeconds" in error.message
    record.fail(error, NOW)
    assert record.status == "failed" and record.journal[-1].kind == "expired"


def test_an_edit_of_a_finished_job_is_rendered_as_a_new_run_from_the_render() -> None:
    record = planned(review=False)
    for step in STEP_NAMES[3:]:
        record.start_step(step, NOW)
        record.finish_step(step, "completed", NOW)
    record.complete()
    record.rerender((2, KEYS.edited_plan(2, "cd34")), NOW)
    assert (record.status, record.run, record.plan_version) == ("processing", 2, 2)
    assert record.steps["smart-cut-planner"].status == "completed"
    assert record.steps["video-render"].status == "pending"
    last = record.journal[-1]
    assert (last.kind, last.resume_at, last.plan_version) == ("rerendered", "video-render", 2)
    with pytest.raises(InvalidTransition):
        record.retry()  # only a failed job is retried
