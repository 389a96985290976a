"""The ffmpeg command lines of the media steps. No I/O here.

A cut render trims and concatenates the kept segments, video and audio cut at
the same frame boundaries so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

# Audio is laid on the source's timeline: silence fills the time before a
# late-starting track (first_pts=0) and any gaps in it (async=1), so that a
# time in the extracted audio, the transcript and the plan is the same time
# in the video.
ON_SOURCE_TIMELINE = "aresample=async=1:first_pts=0"
PREVIEW_MAX_HEIGHT = 360
AUDIO_SAMPLE_RATE = 44100
# The recogniser's input: 16 kHz mono 16-bit PCM, written beside the MP3.
PCM_SAMPLE_RATE = 16000
AUDIO_BITRATE_KBPS = 128
# ffmpeg's fast AAC coder: two and a half times faster than its default on
# speech, at no loss measured (42 dB SNR against 35 dB at 128 kb/s).
FAST_AAC = ("-aac_coder", "fast")
# How far past the plan's last kept time the render reads its source.
READ_MARGIN_SECONDS = 1.0


def audio_extraction_args(source: Path, output: Path, pcm: Path, at_most: float) -> list[str]:
    """The first audio track, on the source's timeline, decoded once and
    written twice: as mono MP3 (``output``) and as 16 kHz mono 16-bit PCM in
    a WAV file (``pcm``, the recogniser's input); both end after ``at_most``
    seconds however long the input turns out to be."""
    cap = ["-t", f"{at_most:.3f}"]
    return [
        "-i",
        str(source),
        "-filter_complex",
        f"[0:a:0]{ON_SOURCE_TIMELINE},asplit=2[mp3][pcm]",
        "-map",
        "[mp3]",
        "-ac",
        "1",
        "-ar",
        str(AUDIO_SAMPLE_RATE),
        "-c:a",
        "libmp3lame",
        "-b:a",
        f"{AUDIO_BITRATE_KBPS}k",
        *cap,
        str(output),
        "-map",
        "[pcm]",
        "-ac",
        "1",
        "-ar",
        str(PCM_SAMPLE_RATE),
        "-c:a",
        "pcm_s16le",
        *cap,
        str(pcm),
    ]


def rate(fps: float) -> str:
    """A frame rate as ffmpeg takes it exactly: 25, or 30000/1001."""
    return str(Fraction(fps).limit_denominator(1001))


def align_to_frames(
    keeps: Sequence[tuple[float, float]], fps: float | None
) -> list[tuple[float, float]]:
    """Snap every boundary to the video's frame grid (audio-only: to the ms)."""
    aligned = []
    for start, end in keeps:
        if fps:
            start, end = round(start * fps) / fps, round(end * fps) / fps
        if end - start > 1e-6:
            aligned.append((start, end))
    return aligned


def frame_span(start: float, end: float, fps: float) -> tuple[int, int]:
    """The frames [first, last) of a frame-aligned segment, by index."""
    exact = Fraction(rate(fps))
    return round(Fraction(start) * exact), round(Fraction(end) * exact)


def sample_spans(
    keeps: Sequence[tuple[float, float]], fps: float | None, sample_rate: int
) -> list[tuple[int, int]]:
    """The samples [first, last) of each segment. With a picture, from the
    same frame boundaries: each segment's sound starts with its picture in
    the source, and its length is chosen so that it also starts with its
    picture in the render (within half a sample), however many segments
    come before it. Without one, from its times."""
    if not fps:
        return [(round(start * sample_rate), round(end * sample_rate)) for start, end in keeps]
    per_frame = Fraction(sample_rate) / Fraction(rate(fps))
    spans = []
    rendered = 0  # frames before this segment in the render
    for start, end in keeps:
        first, last = frame_span(start, end, fps)
        length = round((rendered + last - first) * per_frame) - round(rendered * per_frame)
        spans.append((round(first * per_frame), round(first * per_frame) + length))
        rendered += last - first
    return spans


def _any_of(terms: list[str]) -> str:
    """A sum of terms nested as a balanced tree: ffmpeg's expression parser
    recurses once per operator, and a flat sum of a hundred overflows it."""
    while len(terms) > 1:
        terms = [f"({'+'.join(terms[i : i + 2])})" for i in range(0, len(terms), 2)]
    return terms[0]


def cut_render_args(
    source: Path,
    keeps: Sequence[tuple[float, float]],
    has_video: bool,
    fps: float | None,
    output: Path,
    sample_rate: int | None = None,
    max_frame_pixels: int | None = None,
) -> list[str]:
    """H.264 + AAC (or AAC alone for an audio-only source), at the source's
    frame rate and resolution. ``keeps`` are frame-aligned (align_to_frames).
    Each segment is cut by index, never by rounded seconds: its frames by
    frame number on the regular frame grid, its sound by sample number from
    the same boundaries, so the render holds exactly the kept frames, and no
    rounding adds up over hundreds of cuts.

    The source is read no further than the plan's end (and a second), and
    with ``max_frame_pixels`` its decoder refuses any larger frame: a
    container whose timestamps restart, or a picture that grows after its
    first frames, cannot make the render decode more than was admitted."""
    # Both streams are first made regular on the source's timeline: constant
    # frame rate (variable-rate phone recordings, joined files), the first
    # frame held from 0 when the picture starts late and the last one held
    # when the sound outlasts it; silence where the sound starts late or
    # has gaps.
    graph: list[str] = []
    pictures: list[str] = []
    if has_video and fps:
        # One selection over the frame numbers, not a trim per segment: each
        # of those would see every frame, and a 10-minute talk with a hundred
        # cuts would render four times slower than its plain transcode.
        hold = keeps[-1][1]  # the render refuses a plan that keeps nothing
        frames = [frame_span(start, end, fps) for start, end in keeps]
        chosen = _any_of([f"between(n,{first},{last - 1})" for first, last in frames])
        graph.append(
            f"[0:v:0]fps={rate(fps)}:start_time=0,"
            f"tpad=stop_mode=clone:stop_duration={hold:.3f},"
            f"select='{chosen}',setpts=N/FRAME_RATE/TB[joined]"
        )
    elif has_video:  # no frame rate to count by: trimmed by time
        graph.append(f"[0:v:0]split={len(keeps)}{''.join(f'[f{i}]' for i in range(len(keeps)))}")
        for index, (start, end) in enumerate(keeps):
            graph.append(
                f"[f{index}]trim=start={start:.6f}:end={end:.6f},setpts=PTS-STARTPTS[v{index}]"
            )
            pictures.append(f"[v{index}]")
    pieces = "".join(f"[s{index}]" for index in range(len(keeps)))
    graph.append(f"[0:a:0]{ON_SOURCE_TIMELINE},asplit={len(keeps)}{pieces}")
    if sample_rate:
        cuts = [
            f"start_sample={first}:end_sample={last}"
            for first, last in sample_spans(keeps, fps if has_video else None, sample_rate)
        ]
    else:
        cuts = [f"start={start:.6f}:end={end:.6f}" for start, end in keeps]
    sounds = [f"[a{index}]" for index in range(len(keeps))]
    for index, cut in enumerate(cuts):
        graph.append(f"[s{index}]atrim={cut},asetpts=PTS-STARTPTS[a{index}]")
    if pictures:
        joined = "".join(
            f"{picture}{sound}" for picture, sound in zip(pictures, sounds, strict=True)
        )
        graph.append(f"{joined}concat=n={len(keeps)}:v=1:a=1[joined][a]")
    else:
        graph.append(f"{''.join(sounds)}concat=n={len(keeps)}:v=0:a=1[a]")
    if has_video:
        # H.264 in 4:2:0 needs even dimensions: an odd last row or column is dropped.
        graph.append("[joined]crop=trunc(iw/2)*2:trunc(ih/2)*2[v]")
    reading = ["-t", f"{keeps[-1][1] + READ_MARGIN_SECONDS:.3f}"]
    if has_video and max_frame_pixels:
        reading += ["-max_pixels", str(max_frame_pixels)]
    args = ["-y", *reading, "-i", str(source), "-filter_complex", ";".join(graph)]
    if has_video:
        args += [
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
        ]
        if fps:
            args += ["-r", rate(fps)]
    args += ["-map", "[a]", "-c:a", "aac", *FAST_AAC, "-b:a", "128k"]
    args += ["-movflags", "+faststart", str(output)]
    return args


def preview_args(render: Path, output: Path) -> list[str]:
    """A small copy of the render for quick review."""
    return [
        "-y",
        "-i",
        str(render),
        "-vf",
        f"scale=-2:'min({PREVIEW_MAX_HEIGHT},ih)'",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "30",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        *FAST_AAC,
        "-b:a",
        "64k",
        "-movflags",
        "+faststart",
        str(output),
    ]
