from __future__ import annotations

import itertools
import re
from pathlib import Path

from talkavocado.media.commands import align_to_frames, cut_render_args
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


def test_render_cuts_video_and_audio_at_the_same_boundaries() -> None:
    args = cut_render_args(Path("in.mp4"), [(0.0, 1.0), (2.0, 3.52)], True, 25.0, Path("out.mp4"))
    graph = args[args.index("-filter_complex") + 1]
    assert "trim=start=1.980000:end=3.500000" in graph  # the video half a frame earlier
    assert "atrim=start=2.000000:end=3.520000" in graph
    # Both on the source's timeline: held picture, silence where the sound is missing.
    assert "[0:v:0]fps=25:start_time=0,tpad=stop_mode=clone:stop_duration=3.520," in graph
    assert "[0:a:0]aresample=async=1:first_pts=0,atrim" in graph
    assert "concat=n=2:v=1:a=1[joined][a];[joined]crop=trunc(iw/2)*2:trunc(ih/2)*2[v]" in graph
    assert args[args.index("-c:v") + 1] == "libx264" and args[args.index("-r") + 1] == "25"


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
