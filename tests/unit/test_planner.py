from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talkavocado.media.planner import (
    CutPlan,
    PlannerParameters,
    Ties,
    find_fillers,
    plan_cuts,
    real_word_there,
    short_sounds,
    spotted_fillers,
)
from talkavocado.media.transcript import Word
from talkavocado.support import schema_files

DEFAULTS = PlannerParameters(padding=0.15)  # the figures below assume it


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


def test_filler_words_and_phrases_that_stand_apart_are_cut() -> None:
    spoken = words(
        ("so", 0.0, 0.4),
        ("um", 0.7, 1.1),  # a pause before it
        ("this", 1.15, 1.45),
        ("works", 1.5, 1.9),
        ("you", 2.1, 2.3),  # a pause before the phrase
        ("know", 2.32, 2.6),
        ("right", 2.65, 3.0),
    )
    plan = plan_cuts(3.1, [(0.4, 0.7), (1.9, 2.1)], spoken, DEFAULTS)
    check_shape(plan, 3.1)
    assert [(c.start, c.end, c.reason) for c in plan.cuts()] == [
        (0.55, 1.1, 'filler "um"'),  # with the quiet before it, but 0.15 s of air
        (2.05, 2.6, 'filler "you know"'),
    ]


def test_a_gap_in_the_word_timings_without_quiet_in_the_signal_is_no_pause() -> None:
    # The recogniser heard "ah ah" inside a sentence with 0.15 s between its
    # words; the signal has no quiet there: they are not fillers standing apart.
    spoken = words(("within", 3.0, 3.4), ("ah", 3.45, 3.55), ("ah", 3.7, 3.8), ("a", 3.85, 4.0))
    assert plan_cuts(6.0, [(0.0, 2.9), (4.1, 6.0)], spoken, DEFAULTS).cuts()[1:-1] == []


@pytest.mark.parametrize(
    "sentence",
    [
        # "Did you know that bees..." and "What I mean is...": words in flowing speech.
        [("did", 0.0, 0.2), ("you", 0.22, 0.4), ("know", 0.42, 0.7), ("that", 0.72, 1.0)],
        [("what", 0.0, 0.3), ("i", 0.32, 0.4), ("mean", 0.42, 0.7), ("is", 0.75, 0.9)],
        # "fruit ... um" heard as "you ... know": not one phrase, its words apart.
        [("the", 0.0, 0.2), ("you", 0.25, 0.5), ("know", 1.2, 1.5), ("bees", 1.55, 1.9)],
        # A filler word inside a sentence, no pause on either side.
        [("the", 0.0, 0.2), ("um", 0.25, 0.4), ("hive", 0.45, 0.8)],
    ],
)
def test_filler_words_inside_speech_are_never_cut(sentence: list[tuple[str, float, float]]) -> None:
    assert find_fillers(words(*sentence), DEFAULTS.fillers) == []


def test_filler_matching_ignores_case_punctuation_and_alternates() -> None:
    spoken = words(("Um,", 0, 1), ("you(2)", 1.5, 2), ("KNOW", 2, 3))
    found = find_fillers(spoken, ["um", "you know"])
    assert [text for _, _, text in found] == ["um", "you know"]


def test_a_pause_is_decided_by_the_signal_whatever_word_is_timed_inside_it() -> None:
    # Whisper can time a word wholly in the pause after its sound.
    plan = plan_cuts(6.0, [(1.0, 5.0)], words(("soft", 2.8, 3.2)), DEFAULTS)
    check_shape(plan, 6.0)
    [cut] = plan.cuts()
    assert (cut.start, cut.end) == (1.15, 4.85)


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


def test_a_removed_filler_takes_the_quiet_beside_it_keeping_air_by_the_words() -> None:
    spoken = words(("so", 0.0, 0.5), ("um", 0.9, 1.2), ("this", 1.5, 2.0))
    quiet = [(0.5, 0.9), (1.2, 1.5)]  # shorter than a pause: not cut on their own
    plan = plan_cuts(2.0, quiet, spoken, DEFAULTS)
    [cut] = plan.cuts()
    assert (cut.start, cut.end) == (0.65, 1.35)  # both edges in quiet, 0.15 s from the words
    assert cut.reason == 'filler "um"'


def test_a_filler_flush_against_speech_is_cut_at_its_own_edges() -> None:
    spoken = words(("so", 0.0, 0.5), ("um", 0.9, 1.2), ("this", 1.2, 2.0))
    plan = plan_cuts(2.0, [(0.5, 0.9)], spoken, DEFAULTS)
    [cut] = plan.cuts()
    assert (cut.start, cut.end) == (0.65, 1.2)


VOCABULARY = ["the", "bees", "you", "know", "um", "uh", "i", "mean", "what", "did", "fruit"]


@st.composite
def talks(draw: st.DrawFn) -> tuple[float, list[Word], list[tuple[float, float]]]:
    """Words with gaps between them; some gaps are quiet in the signal."""
    cursor, spoken, quiet = 0.0, [], []
    for _ in range(draw(st.integers(1, 25))):
        gap = draw(st.sampled_from([0.0, 0.02, 0.08, 0.12, 0.2, 0.4, 0.9, 2.0]))
        if gap >= 0.1 and draw(st.booleans()):
            quiet.append((round(cursor, 3), round(cursor + gap, 3)))
        cursor += gap
        length = draw(st.sampled_from([0.1, 0.25, 0.4]))
        spoken.append(
            Word(word=draw(st.sampled_from(VOCABULARY)), start=cursor, end=cursor + length)
        )
        cursor += length
    tail = draw(st.sampled_from([0.0, 0.5, 1.5]))
    if tail:
        quiet.append((round(cursor, 3), round(cursor + tail, 3)))
    return round(cursor + tail, 3), spoken, quiet


@given(talks())
@settings(max_examples=300, deadline=None)
def test_no_cut_ever_touches_a_word_that_is_not_a_filler(
    talk: tuple[float, list[Word], list[tuple[float, float]]],
) -> None:
    duration, spoken, quiet = talk
    plan = plan_cuts(duration, quiet, spoken, DEFAULTS)
    check_shape(plan, duration)
    # A word that is no filler is never cut, nor are a phrase's words ("you
    # know") unless they stand apart as that filler.
    phrases = find_fillers(spoken, DEFAULTS.fillers)
    kept_words = [
        w
        for w in spoken
        if w.word not in ("um", "uh") and not any(a <= w.start < b for a, b, _ in phrases)
    ]
    for cut in plan.cuts():
        for word in kept_words:
            assert cut.end <= word.start + 1e-6 or cut.start >= word.end - 1e-6, (cut, word)


def test_short_sounds_are_those_standing_between_pauses() -> None:
    quiet = [(0.0, 1.0), (1.3, 2.0), (2.3, 2.35), (2.6, 4.0), (5.0, 6.0)]
    # 1.0-1.3: short, quiet both sides; 2.0-2.3: only 0.05 s of quiet after;
    # 2.35-2.6: only 0.05 s before; 4.0-5.0: too long to be a lone filler.
    assert short_sounds(6.0, quiet) == [(1.0, 1.3)]
    assert short_sounds(1.5, [(0.4, 1.5)]) == [(0.0, 0.4)]  # the start counts as quiet


OPENING_WORDS = ("First,", "So,", "Well,", "Now,", "And")


@pytest.mark.parametrize("opening", OPENING_WORDS)
def test_a_sentence_opening_word_after_a_long_pause_is_never_cut_as_a_filler(
    opening: str,
) -> None:
    # The recorded case: after a 2.3 s pause, "First," (14.80-15.35 s) was
    # cut with the pause as a filler. Whatever the second look heard, the
    # main transcript's real word there keeps it; its edge may stretch.
    spoken = words(("spring.", 11.0, 12.5), (opening, 14.62, 15.35), ("we", 15.55, 15.8))
    quiet = [(12.5, 14.80), (15.35, 15.55)]
    looked = [(14.80, 15.35, "the"), (14.80, 15.35, "um"), (14.80, 15.35, "uh")]
    plan = plan_cuts(17.0, quiet, spoken, DEFAULTS, spotted=looked)
    assert all("filler" not in cut.reason for cut in plan.cuts())
    assert any(start <= 14.80 and end >= 15.35 for start, end in plan.keeps())
    # The pause before it is still cut, from the signal.
    assert any(cut.start <= 12.7 and cut.end >= 14.6 for cut in plan.cuts())


def test_a_sound_is_a_filler_only_where_the_look_heard_a_wanted_filler_and_no_word_is() -> None:
    spoken = words(("hello", 0.1, 0.9), ("so", 3.0, 3.25), ("um", 5.0, 5.3))
    looked = [(1.0, 1.3, "um"), (3.0, 3.3, "uh"), (5.0, 5.3, "um"), (7.0, 7.3, "erm")]
    # 1.0: nothing heard there; 3.0: "so" is a real word; 5.0: the
    # transcript's own "um" is no real word; 7.0: "erm" is not wanted.
    wanted = ["um", "uh"]
    sounds = [(0.1, 0.9), *((start, end) for start, end, _ in looked)]
    ties = Ties(spoken, sounds)
    assert spotted_fillers(looked, ties, wanted) == [(1.0, 1.3, "um"), (5.0, 5.3, "um")]
    assert spotted_fillers(looked, ties, ["uh"]) == []


def test_a_word_that_only_touches_a_sound_is_not_there() -> None:
    # Whisper's "It" stretched 0.02 s back into the "uh" before it.
    spoken = words(("It", 11.68, 12.22))
    ties = Ties(spoken, [(11.3, 11.7), (11.9, 12.2)])
    assert real_word_there((11.3, 11.7), ties, ["uh"]) is None
    assert real_word_there((11.9, 12.2), ties, ["uh"]) == spoken[0]


def test_plan_fillers_limits_every_path_that_cuts_a_filler() -> None:
    spoken = words(("hello", 0.1, 0.9), ("uh", 2.0, 2.3), ("world", 4.0, 4.6))
    quiet = [(0.9, 2.0), (2.3, 4.0)]
    only_um = PlannerParameters(padding=0.15, fillers=["um"])
    plan = plan_cuts(5.0, quiet, spoken, only_um, spotted=[(2.0, 2.3, "uh")])
    assert all("filler" not in cut.reason for cut in plan.cuts())
    plan = plan_cuts(5.0, quiet, spoken, DEFAULTS, spotted=[(2.0, 2.3, "uh")])
    assert any("filler" in cut.reason for cut in plan.cuts())


def test_a_word_stretched_into_a_pause_does_not_keep_the_pause() -> None:
    # "spring." ends at 4.2 s in the sound, but the recogniser's word runs
    # on to 5.2 s, into the 2 s pause after it.
    spoken = words(("spring.", 3.8, 5.2), ("first", 6.2, 6.7))
    plan = plan_cuts(8.0, [(4.2, 6.2)], spoken, DEFAULTS)
    [cut] = plan.cuts()
    assert (cut.start, cut.end) == (4.35, 6.05)


def test_a_spotted_filler_is_cut_with_the_quiet_beside_it_and_no_word() -> None:
    spoken = words(("hello", 0.2, 0.9), ("world", 2.1, 2.8))  # the "um" left out
    quiet = [(0.9, 1.3), (1.6, 2.1)]
    plan = plan_cuts(3.0, quiet, spoken, DEFAULTS, spotted=[(1.3, 1.6, "um")])
    [cut] = plan.cuts()
    assert cut.reason == 'filler "um"'
    assert cut.start >= 0.9 + DEFAULTS.padding - 1e-9 and cut.end <= 2.1 - DEFAULTS.padding + 1e-9
    assert cut.start < 1.3 and cut.end > 1.6


def test_a_filler_heard_late_is_cut_where_its_sound_is_never_into_the_next_sentence() -> None:
    # The measured case: "um" sounds 25.44-25.79 s, quiet until the next
    # sentence at 26.19 s; Whisper heard "um," at 25.84-26.28 s (in the
    # pause, reaching into "Their") and "They'll" from 26.40 s. "seeds."
    # stretched 0.04 s into the filler's sound.
    spoken = words(
        ("seeds.", 24.96, 25.48),
        ("um,", 25.84, 26.28),
        ("They'll", 26.40, 26.64),
        ("teach", 26.64, 27.0),
    )
    quiet = [(25.24, 25.44), (25.79, 26.19), (27.0, 28.0)]
    plan = plan_cuts(28.0, quiet, spoken, DEFAULTS)
    [cut] = [c for c in plan.cuts() if "filler" in c.reason]
    assert cut.start <= 25.44 and cut.end >= 25.79  # the whole filler
    assert cut.start >= 25.24 + DEFAULTS.padding - 1e-9  # air after "seeds."
    assert cut.end <= 26.19 - DEFAULTS.padding + 1e-9  # air before "Their"


def test_a_filler_heard_early_reaching_back_into_a_sentence_is_cut_where_its_sound_is() -> None:
    spoken = words(("light,", 27.98, 28.3), ("um,", 28.2, 29.0), ("Explain", 29.3, 29.8))
    quiet = [(28.3, 28.5), (28.88, 29.28)]
    plan = plan_cuts(30.0, quiet, spoken, DEFAULTS)
    [cut] = [c for c in plan.cuts() if "filler" in c.reason]
    assert cut.start >= 28.3 + DEFAULTS.padding - 1e-9 and cut.start <= 28.5
    assert cut.end >= 28.88 and cut.end <= 29.28 - DEFAULTS.padding + 1e-9


def test_a_filler_spoken_into_the_next_word_keeps_its_heard_span() -> None:
    # No quiet between "um" and "so": the signal cannot place it, the words' times do.
    spoken = words(("end.", 1.0, 1.5), ("um", 2.5, 2.8), ("so", 2.8, 3.1), ("we", 3.1, 3.4))
    plan = plan_cuts(4.0, [(1.5, 2.5), (3.4, 4.0)], spoken, DEFAULTS)
    fillers = [c for c in plan.cuts() if "filler" in c.reason]
    assert fillers and all(c.end <= 2.8 + 1e-9 for c in fillers)


# Measured on the 10-minute bench talk (bench.talks, seed 4): Whisper's word
# times lag and stretch around lone fillers. Each case below kept a filler.


def quiet_between(sounds: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    edges = [0.0, *(t for sound in sounds for t in sound), duration]
    return [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b > a]


def cut_share(plan: CutPlan, start: float, end: float) -> float:
    cut = sum(max(0.0, min(c.end, end) - max(c.start, start)) for c in plan.cuts())
    return cut / (end - start)


def assert_only_the_middle_sound_is_cut(
    duration: float,
    sounds: list[tuple[float, float]],
    spoken: list[Word],
    spotted: list[tuple[float, float, str]],
) -> None:
    """Three sounds (a sentence, a lone filler, a sentence): the filler's
    is cut whole, the sentences' not at all."""
    plan = plan_cuts(duration, quiet_between(sounds, duration), spoken, DEFAULTS, spotted)
    before, filler, after = sounds
    assert cut_share(plan, *filler) == 1.0
    assert cut_share(plan, *before) == 0.0 and cut_share(plan, *after) == 0.0


def test_a_word_stretched_over_a_lone_filler_from_the_sentence_before_does_not_keep_it() -> None:
    # "in," runs 2.8 s, from its sentence over the "uh" into the next pause.
    sounds = [(41.73, 44.72), (45.12, 45.36), (47.2, 49.0)]
    spoken = words(("visit", 43.54, 43.88), ("in,", 44.42, 47.22), ("the", 47.3, 47.6))
    assert_only_the_middle_sound_is_cut(50.0, sounds, spoken, [(45.12, 45.36, "uh")])


def test_a_first_word_mostly_in_the_pause_before_its_sentence_does_not_keep_a_filler() -> None:
    # "The" starts in the "erm" and lies mostly in the pause and its own sound.
    sounds = [(102.23, 105.54), (105.94, 106.31), (106.52, 107.04)]
    spoken = words(("waterlight", 104.98, 105.92), ("The", 105.92, 106.72), ("fence", 106.72, 107))
    assert_only_the_middle_sound_is_cut(108.0, sounds, spoken, [(105.94, 106.31, "erm")])


def test_a_sentence_end_stretched_over_a_lone_erm_with_whisper_s_um_beside_it_is_cut() -> None:
    # "the" ends its sentence 0.4 s late, over the "erm"; Whisper's own "um"
    # follows it in the pause.
    sounds = [(267.89, 269.45), (269.85, 270.22), (270.42, 273.24)]
    spoken = words(
        ("to", 269.22, 269.70), ("the", 269.70, 270.04), ("um", 270.04, 270.50),
        ("sunflowers", 270.50, 271.08),
    )  # fmt: skip
    assert_only_the_middle_sound_is_cut(274.0, sounds, spoken, [(269.85, 270.22, "erm")])


def test_a_filler_heard_just_past_the_quiet_after_it_cuts_its_sound_not_the_next_word() -> None:
    # The "um" sounds 468.53-468.87; Whisper heard "um," at 469.10, 30 ms
    # into the next sentence's sound, past the quiet between them.
    sounds = [(465.81, 467.73), (468.53, 468.87), (469.07, 470.98)]
    spoken = words(("teachers,", 467.38, 468.38), ("um,", 469.10, 469.18), ("seeds", 469.36, 470))
    assert_only_the_middle_sound_is_cut(472.0, sounds, spoken, [])


def test_a_word_timed_too_short_to_tie_does_not_keep_a_filler() -> None:
    # Whisper's "How?" of 20 ms inside an "um".
    sounds = [(354.0, 355.9), (356.30, 356.65), (357.0, 359.0)]
    spoken = words(("done.", 355.5, 355.9), ("How?", 356.34, 356.36), ("we", 357.0, 357.3))
    assert_only_the_middle_sound_is_cut(360.0, sounds, spoken, [(356.30, 356.65, "um")])


def test_an_unstressed_word_whisper_wrote_for_a_filler_does_not_keep_it() -> None:
    # Whisper wrote the "uh" (6.61-6.85 s) as "A", all inside its sound.
    sounds = [(3.94, 5.81), (6.61, 6.85), (7.05, 9.78)]
    spoken = words(("plant", 5.32, 6.00), ("A", 6.62, 6.78), ("soil", 6.78, 7.52))
    assert_only_the_middle_sound_is_cut(10.0, sounds, spoken, [(6.61, 6.85, "uh")])


def test_a_lone_word_whisper_stretched_into_the_pause_after_it_still_keeps_its_sound() -> None:
    # "yes" runs 1.2 s over a 0.42 s "Yes."; even were the look to hear a
    # filler there, a word people say on their own covering the sound keeps it.
    sounds = [(277.62, 278.91), (279.71, 280.13), (281.0, 283.0)]
    spoken = words(("work", 278.60, 279.52), ("yes", 279.52, 280.72), ("we", 281.0, 281.3))
    quiet = quiet_between(sounds, 284.0)
    plan = plan_cuts(284.0, quiet, spoken, DEFAULTS, [(279.71, 280.13, "uh")])
    assert all("filler" not in cut.reason for cut in plan.cuts())
    assert cut_share(plan, 279.71, 280.13) == 0.0


def test_a_filler_whisper_wrote_between_words_is_cut_where_the_signal_shows_it_alone() -> None:
    # Whisper's "um" touches the words on both sides; the signal shows its
    # sound standing apart (273.44-273.78 s), and the second look heard none.
    sounds = [(270.42, 273.24), (273.44, 273.78), (274.18, 276.87)]
    spoken = words(("water", 272.98, 273.44), ("um", 273.44, 274.04), ("for", 274.04, 274.50))
    assert_only_the_middle_sound_is_cut(278.0, sounds, spoken, [])
    only_uh = PlannerParameters(padding=0.15, fillers=["uh"])  # PLAN_FILLERS limits it
    plan = plan_cuts(278.0, quiet_between(sounds, 278.0), spoken, only_uh)
    assert all("filler" not in cut.reason for cut in plan.cuts())
