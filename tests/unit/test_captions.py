"""Captions of the cut video: cues never span a cut, follow captioning
conventions, and hold every kept word once, on the render's timeline."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from talkavocado.media.captions import (
    LINE_CHARACTERS,
    MAX_CUE_SECONDS,
    MAX_LINES,
    MIN_CUE_SECONDS,
    cues,
    retime,
    to_srt,
    to_vtt,
)
from talkavocado.media.transcript import Word

VOCABULARY = ["the", "garden", "sunflowers", "and", "First,", "spring.", "volunteers", "a"]


@st.composite
def talks(draw: st.DrawFn) -> tuple[list[Word], list[tuple[float, float]]]:
    cursor, spoken = 0.0, []
    for _ in range(draw(st.integers(1, 60))):
        cursor += draw(st.sampled_from([0.0, 0.05, 0.3, 1.0, 2.5]))
        length = draw(st.sampled_from([0.1, 0.3, 0.6]))
        spoken.append(
            Word(word=draw(st.sampled_from(VOCABULARY)), start=cursor, end=cursor + length)
        )
        cursor += length
    edges = sorted(draw(st.sets(st.floats(0.05, cursor), max_size=12)))
    points = [0.0, *edges, cursor + 0.5]
    keeps = [(a, b) for i, (a, b) in enumerate(itertools.pairwise(points)) if i % 2 == 0 and b > a]
    return spoken, keeps


@given(talks())
# A segment that keeps 0.4 ms of a word: the word is cut, not a cue of no length.
@example(([Word(word="the", start=0.3, end=0.4)], [(0.0, 0.3003586853871394)]))
@settings(max_examples=300, deadline=None)
def test_cues_never_span_a_cut_and_follow_captioning_conventions(
    talk: tuple[list[Word], list[tuple[float, float]]],
) -> None:
    spoken, keeps = talk
    found = cues(spoken, keeps)
    ends, offset = [], 0.0
    for start, end in keeps:
        offset += end - start
        ends.append(offset)
    kept = [w for inside in retime(spoken, keeps) for w in inside]
    assert [w for cue in found for w in cue.words] == kept  # every kept word once, in order
    for index, cue in enumerate(found):
        first = ends[cue.segment - 1] if cue.segment else 0.0
        # within one segment (to the millisecond of the caption files)
        assert first - 1e-3 <= cue.start < cue.end <= ends[cue.segment] + 1e-3
        assert cue.end - cue.start <= MAX_CUE_SECONDS + 1e-6
        assert len(cue.lines) <= MAX_LINES or len(cue.words) == 1
        assert all(len(line) <= LINE_CHARACTERS for line in cue.lines) or len(cue.words) == 1
        following = found[index + 1].start if index + 1 < len(found) else float("inf")
        assert cue.end <= following + 1e-6  # no overlap
        if cue.end - cue.start < MIN_CUE_SECONDS - 1e-6:  # short only where nothing leaves room
            assert min(following, ends[cue.segment]) - cue.end < 1e-3 or (
                cue.end - cue.start >= MAX_CUE_SECONDS - 1e-6
            )
        assert cue.start <= cue.words[0].start + 1e-6 and cue.words[-1].end <= cue.end + 1e-6


def test_words_are_retimed_onto_the_cut_timeline_and_cut_words_dropped() -> None:
    spoken = [
        Word(word="Hello", start=0.2, end=0.6),
        Word(word="um", start=1.5, end=1.8),
        Word(word="world.", start=3.0, end=3.5),
    ]
    keeps = [(0.0, 1.0), (2.8, 4.0)]
    assert [[(w.word, w.start, w.end) for w in inside] for inside in retime(spoken, keeps)] == [
        [("Hello", 0.2, 0.6)],
        [("world.", 1.2, 1.7)],
    ]
    found = cues(spoken, keeps)
    assert [(c.start, c.end, c.lines) for c in found] == [
        (0.2, 1.0, ("Hello",)),  # short: its segment ends at the cut
        (1.2, 2.2, ("world.",)),
    ]
    srt = to_srt(found)
    assert srt.startswith("1\n00:00:00,200 --> 00:00:01,000\nHello\n")
    vtt = to_vtt(found)
    assert vtt.startswith("WEBVTT") and "00:00:01.200 --> 00:00:02.200\nworld." in vtt


def test_a_long_sentence_is_split_into_cues_of_two_lines() -> None:
    text = [
        "the",
        "team",
        "built",
        "a",
        "small",
        "garden",
        "behind",
        "the",
        "old",
        "school",
        "and",
        "every",
        "spring",
        "the",
        "children",
        "plant",
        "beans",
        "tomatoes",
        "and",
        "sunflowers",
    ]
    spoken = [Word(word=w, start=i * 0.3, end=i * 0.3 + 0.25) for i, w in enumerate(text)]
    found = cues(spoken, [(0.0, 10.0)])
    assert len(found) >= 2
    assert all(len(c.lines) <= 2 and all(len(line) <= 42 for line in c.lines) for c in found)
    assert " ".join(" ".join(c.lines) for c in found) == " ".join(text)
    assert found[0].end <= found[1].start
    assert pytest.approx(found[0].start) == 0.0
