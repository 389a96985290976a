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
AUDIO_BITRATE_KBPS = 128


def audio_extraction_args(source: Path, output: Path) -> list[str]:
    """The first audio track as mono MP3, on the source's timeline."""
    return [
        "-i",
        str(source),
        "-map",
        "0:a:0",
        "-vn",
        "-af",
        ON_SOURCE_TIMELINE,
        "-ac",
        "1",
        "-ar",
        str(AUDIO_SAMPLE_RATE),
        "-c:a",
        "libmp3lame",
        "-b:a",
        f"{AUDIO_BITRATE_KBPS}k",
        str(output),
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


def sample_span(start: float, end: float, fps: float | None, sample_rate: int) -> tuple[int, int]:
    """The samples of a segment: from the same frame boundaries as its
    picture when there is one (so each segment's sound starts with its
    picture), else from its times."""
    if fps:
        first, last = frame_span(start, end, fps)
        per_frame = Fraction(sample_rate) / Fraction(rate(fps))
        return round(first * per_frame), round(last * per_frame)
    return round(start * sample_rate), round(end * sample_rate)


def cut_render_args(
    source: Path,
    keeps: Sequence[tuple[float, float]],
    has_video: bool,
    fps: float | None,
    output: Path,
    sample_rate: int | None = None,
) -> list[str]:
    """H.264 + AAC (or AAC alone for an audio-only source), at the source's
    frame rate and resolution. ``keeps`` are frame-aligned (align_to_frames).
    Each segment is cut by index, never by rounded seconds: its frames by
    frame number on the regular frame grid, its sound by sample number from
    the same boundaries, so the render holds exactly the kept frames, and no
    rounding adds up over hundreds of cuts."""
    # Both streams are first made regular on the source's timeline: constant
    # frame rate (variable-rate phone recordings, joined files), the first
    # frame held from 0 when the picture starts late and the last one held
    # when the sound outlasts it; silence where the sound starts late or
    # has gaps.
    hold = keeps[-1][1] if keeps else 0.0
    regular_video = (
        f"fps={rate(fps)}:start_time=0,tpad=stop_mode=clone:stop_duration={hold:.3f},"
        if fps
        else ""
    )
    regular_audio = f"{ON_SOURCE_TIMELINE},"
    graph: list[str] = []
    inputs: list[str] = []
    for index, (start, end) in enumerate(keeps):
        if has_video and fps:
            first, last = frame_span(start, end, fps)
            frames = f"start_frame={first}:end_frame={last}"
            graph.append(f"[0:v:0]{regular_video}trim={frames},setpts=PTS-STARTPTS[v{index}]")
            inputs.append(f"[v{index}]")
        elif has_video:
            graph.append(
                f"[0:v:0]trim=start={start:.6f}:end={end:.6f},setpts=PTS-STARTPTS[v{index}]"
            )
            inputs.append(f"[v{index}]")
        if sample_rate:
            first_sample, last_sample = sample_span(
                start, end, fps if has_video else None, sample_rate
            )
            samples = f"start_sample={first_sample}:end_sample={last_sample}"
        else:
            samples = f"start={start:.6f}:end={end:.6f}"
        graph.append(f"[0:a:0]{regular_audio}atrim={samples},asetpts=PTS-STARTPTS[a{index}]")
        inputs.append(f"[a{index}]")
    outputs = "[joined][a]" if has_video else "[a]"
    graph.append(f"{''.join(inputs)}concat=n={len(keeps)}:v={int(has_video)}:a=1{outputs}")
    if has_video:
        # H.264 in 4:2:0 needs even dimensions: an odd last row or column is dropped.
        graph.append("[joined]crop=trunc(iw/2)*2:trunc(ih/2)*2[v]")
    args = ["-y", "-i", str(source), "-filter_complex", ";".join(graph)]
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
    args += ["-map", "[a]", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(output)]
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
        "-b:a",
        "64k",
        "-movflags",
        "+faststart",
        str(output),
    ]
