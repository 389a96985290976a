from __future__ import annotations

import json

import pytest

from talkavocado import schema_files
from talkavocado.media.planner import CutPlan, PlannerParameters, find_fillers, plan_cuts
from talkavocado.media.transcript import Word

DEFAULTS = PlannerParameters()


def words(*spans: tuple[str, float, float]) -> list[Word]:
    return [Word(word=w, start=s, end=e) for w, s, e in spans]


def check_shape(plan: CutPlan, duration: float) -> None:
    """Covers [0, duration] with ordered, non-overlapping segments."""
    assert plan.segments[0].start == 0
    assert plan.segments[-1].end == pytest.approx(duration)
    for before, after in zip(plan.segments, plan.segments[1:], strict=False):
        assert before.end == after.start
        assert before.start < before.end
    schema_files.validate(
        plan.model_dump(mode="json", by_alias=True), "cut_plan.schema.json", "plan"
    )
    assert plan.total_cuts == len(plan.cuts())
    assert all(segment.reason for segment in plan.segments)


def test_a_short_sentence_between_two_long_pauses_is_kept() -> None:
    spoken = words(
        ("hello", 0.2, 1.0), ("short", 4.0, 4.8), ("sentence", 4.8, 5.5), ("bye", 9.0, 9.6)
    )
    plan = plan_cuts(10.0, [(1.0, 4.0), (5.5, 9.0)], spoken, DEFAULTS)
    check_shape(plan, 10.0)
    keeps = plan.keeps()
    assert any(start <= 4.0 and end >= 5.5 for start, end in keeps)
    assert plan.total_cuts == 2


def test_pauses_are_cut_with_padding_next_to_speech() -> None:
    plan = plan_cuts(6.0, [(2.0, 4.0)], words(("a", 0.5, 2.0), ("b", 4.0, 5.5)), DEFAULTS)
    [cut] = plan.cuts()
    assert (cut.start, cut.end) == (2.15, 3.85)
    assert cut.reason == "pause 2.00 s"


def test_pauses_shorter_than_the_minimum_are_kept() -> None:
    plan = plan_cuts(4.0, [(1.0, 1.5)], words(("a", 0.2, 1.0), ("b", 1.5, 3.0)), DEFAULTS)
    assert plan.total_cuts == 0
    assert plan.keeps() == [(0.0, 4.0)]


def test_leading_and_trailing_silence_is_cut_to_the_edge() -> None:
    plan = plan_cuts(8.0, [(0.0, 2.0), (6.0, 8.0)], words(("a", 2.0, 6.0)), DEFAULTS)
    cuts = [(c.start, c.end) for c in plan.cuts()]
    assert cuts == [(0.0, 1.85), (6.15, 8.0)]


def test_filler_words_and_phrases_are_cut() -> None:
    spoken = words(
        ("so", 0.0, 0.4),
        ("um", 0.5, 0.9),
        ("this", 1.0, 1.3),
        ("you", 1.4, 1.6),
        ("know", 1.6, 1.9),
        ("works", 2.0, 2.5),
    )
    plan = plan_cuts(2.6, [], spoken, DEFAULTS)
    check_shape(plan, 2.6)
    assert [(c.start, c.end, c.reason) for c in plan.cuts()] == [
        (0.5, 0.9, 'filler "um"'),
        (1.4, 1.9, 'filler "you know"'),
    ]


def test_filler_matching_ignores_case_punctuation_and_alternates() -> None:
    found = find_fillers(words(("Um,", 0, 1), ("you(2)", 1, 2), ("KNOW", 2, 3)), ["um", "you know"])
    assert [text for _, _, text in found] == ["um", "you know"]


def test_words_inside_a_detected_silence_are_never_cut() -> None:
    plan = plan_cuts(6.0, [(1.0, 5.0)], words(("soft", 2.8, 3.2)), DEFAULTS)
    check_shape(plan, 6.0)
    for start, end in [(c.start, c.end) for c in plan.cuts()]:
        assert end <= 2.8 - DEFAULTS.padding + 1e-9 or start >= 3.2 + DEFAULTS.padding - 1e-9


def test_cuts_shorter_than_the_minimum_cut_are_dropped() -> None:
    plan = plan_cuts(3.0, [], words(("uh", 1.0, 1.2)), DEFAULTS)
    assert plan.total_cuts == 0


def test_close_cuts_with_no_speech_between_are_merged() -> None:
    spoken = words(("a", 0.0, 1.0), ("um", 3.0, 3.5), ("b", 3.6, 5.0))
    plan = plan_cuts(5.0, [(1.0, 3.0)], spoken, DEFAULTS)
    [cut] = plan.cuts()
    assert (cut.start, cut.end) == (1.15, 3.5)
    assert cut.reason == 'pause 2.00 s; filler "um"'


def test_cuts_separated_by_speech_are_not_merged() -> None:
    spoken = words(("a", 0.0, 1.0), ("b", 2.05, 2.2), ("c", 3.3, 4.0))
    parameters = PlannerParameters(merge_gap=5.0, min_pause=0.5, padding=0.0)
    plan = plan_cuts(4.0, [(1.0, 2.05), (2.2, 3.3)], spoken, parameters)
    assert plan.total_cuts == 2


def test_the_same_inputs_give_a_byte_identical_plan() -> None:
    spoken = words(("a", 0.1, 1.0), ("um", 1.2, 1.5), ("b", 3.0, 4.0))
    first = plan_cuts(5.0, [(1.5, 3.0)], spoken, DEFAULTS).to_json()
    second = plan_cuts(5.0, [(1.5, 3.0)], spoken, DEFAULTS).to_json()
    assert first == second
    document = json.loads(first)
    assert document["schemaVersion"] == "1.0.0"
    assert "plannedAt" not in document


def test_durations_add_up() -> None:
    plan = plan_cuts(10.0, [(1.0, 4.0), (6.0, 9.0)], words(("a", 4.0, 6.0)), DEFAULTS)
    kept = sum(end - start for start, end in plan.keeps())
    assert plan.kept_duration == pytest.approx(kept)
    assert plan.kept_duration + plan.cut_duration == pytest.approx(10.0)
