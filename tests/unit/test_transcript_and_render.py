from __future__ import annotations

import itertools
import re
from fractions import Fraction
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from talkavocado.media.commands import align_to_frames, cut_render_args, rate
from talkavocado.media.transcript import Segment, Word, to_srt

CUE_TIME = re.compile(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)")


def seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def segment(*spans: tuple[str, float, float]) -> Segment:
    words = [Word(word=w, start=s, end=e) for w, s, e in spans]
    return Segment(
        text=" ".join(w.word for w in words), start=words[0].start, end=words[-1].end, words=words
    )


def cues(srt: str) -> list[tuple[float, float, str]]:
    found = []
    for block in srt.strip().split("\n\n"):
        _number, times, text = block.split("\n", 2)
        match = CUE_TIME.fullmatch(times)
        assert match, times
        found.append((seconds(*match.groups()[:4]), seconds(*match.groups()[4:]), text))
    return found


def test_srt_cues_are_numbered_monotonic_and_never_overlap() -> None:
    srt = to_srt(
        [segment(("hello", 0.2, 0.6), ("there", 0.6, 1.0)), segment(("again", 0.9, 1.5))]
    )  # overlaps the first on purpose
    parsed = cues(srt)
    assert [block.split("\n")[0] for block in srt.strip().split("\n\n")] == ["1", "2"]
    for (start, end, _), (next_start, _, _) in itertools.pairwise(parsed):
        assert start < end <= next_start


def test_srt_drops_no_word_and_splits_long_segments() -> None:
    long = segment(*[(f"w{i}", i * 0.5, i * 0.5 + 0.4) for i in range(40)])
    parsed = cues(to_srt([long]))
    assert len(parsed) > 1
    assert " ".join(text for _, _, text in parsed).split() == [f"w{i}" for i in range(40)]
    assert all(end - start <= 7.5 for start, end, _ in parsed)


def test_keeps_are_aligned_to_the_frame_grid() -> None:
    aligned = align_to_frames([(0.0, 1.013), (2.51, 3.0), (5.0, 5.01)], 25.0)
    assert aligned == [(0.0, 1.0), (2.52, 3.0)]
    assert align_to_frames([(0.0, 1.0134)], None) == [(0.0, 1.0134)]


def test_render_cuts_video_by_frame_and_audio_by_sample_from_the_same_boundaries() -> None:
    keeps = [(0.0, 1.0), (2.0, 3.52)]
    args = cut_render_args(Path("in.mp4"), keeps, True, 25.0, Path("out.mp4"), 48000)
    graph = args[args.index("-filter_complex") + 1]
    assert "select='(between(n,0,24)+between(n,50,87))'" in graph
    assert "atrim=start_sample=0:end_sample=48000" in graph
    assert "atrim=start_sample=96000:end_sample=168960" in graph
    # Both on the source's timeline: held picture, silence where the sound is missing.
    assert "[0:v:0]fps=25:start_time=0,tpad=stop_mode=clone:stop_duration=3.520," in graph
    assert "[0:a:0]aresample=async=1:first_pts=0,asplit=2[s0][s1]" in graph
    assert "concat=n=2:v=0:a=1[a];[joined]crop=trunc(iw/2)*2:trunc(ih/2)*2[v]" in graph
    assert args[args.index("-c:v") + 1] == "libx264" and args[args.index("-r") + 1] == "25"


FRAME_RATES = [24.0, 25.0, 30000 / 1001, 30.0, 60.0]


@st.composite
def plans(draw: st.DrawFn) -> list[tuple[float, float]]:
    """Up to 200 kept segments in an hour, at any times (six decimals, as plans are)."""
    edges = draw(
        st.lists(st.floats(0, 3600, allow_nan=False), min_size=2, max_size=400, unique=True)
    )
    edges = sorted(round(edge, 6) for edge in edges)
    return list(zip(edges[::2], edges[1::2], strict=False))


@settings(max_examples=200, deadline=None)
@given(plans(), st.sampled_from(FRAME_RATES), st.sampled_from([22050, 44100, 48000]))
def test_a_render_holds_exactly_the_kept_frames_with_each_segments_sound_on_its_picture(
    keeps: list[tuple[float, float]], fps: float, sample_rate: int
) -> None:
    aligned = align_to_frames(keeps, fps)
    assume(aligned)  # a plan keeping less than a frame fails before it renders
    args = cut_render_args(Path("in.mp4"), aligned, True, fps, Path("out.mp4"), sample_rate)
    graph = args[args.index("-filter_complex") + 1]
    frames = [(int(a), int(b) + 1) for a, b in re.findall(r"between\(n,(\d+),(\d+)\)", graph)]
    samples = [
        (int(a), int(b)) for a, b in re.findall(r"start_sample=(\d+):end_sample=(\d+)", graph)
    ]
    assert len(frames) == len(samples) == len(aligned)
    kept_frames = sum(round((end - start) * Fraction(rate(fps))) for start, end in aligned)
    assert sum(last - first for first, last in frames) == kept_frames
    picture = Fraction(rate(fps))
    frames_before = samples_before = 0  # in the render
    for (first, last), (first_sample, last_sample) in zip(frames, samples, strict=True):
        assert first < last
        # Each segment's sound starts with its picture, in the source and in
        # the render (within half a sample, the rounding of one boundary).
        in_source = abs(Fraction(first_sample, sample_rate) - first / picture)
        in_render = abs(Fraction(samples_before, sample_rate) - frames_before / picture)
        assert in_source <= Fraction(1, 2 * sample_rate)
        assert in_render <= Fraction(1, 2 * sample_rate)
        frames_before += last - first
        samples_before += last_sample - first_sample
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(frames))  # in order, disjoint


def test_an_audio_only_source_renders_audio_only() -> None:
    args = cut_render_args(Path("in.m4a"), [(0.0, 1.0)], False, None, Path("out.mp4"))
    graph = args[args.index("-filter_complex") + 1]
    assert "[0:v" not in graph and "concat=n=1:v=0:a=1[a]" in graph
    assert "-c:v" not in args


def test_ntsc_frame_rates_are_given_to_ffmpeg_exactly() -> None:
    args = cut_render_args(Path("in.mov"), [(0.0, 1.0)], True, 30000 / 1001, Path("out.mp4"))
    assert "fps=30000/1001:" in args[args.index("-filter_complex") + 1]
    assert args[args.index("-r") + 1] == "30000/1001"


def test_pcm_is_cut_into_full_frames_ending_with_one_marked_last() -> None:
    from talkavocado.adapters.pocketsphinx_engine import _frames

    exact = list(_frames([b"ab" * 4, b"cd" * 4], 8))  # ends exactly on a frame boundary
    assert [(len(frame), last) for frame, last in exact] == [(8, False), (8, True)]
    ragged = list(_frames([b"x" * 11], 8))
    assert ragged == [(b"x" * 8, False), (b"xxx" + b"\0" * 5, True)]
