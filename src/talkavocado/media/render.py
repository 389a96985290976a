"""The ffmpeg arguments of a cut render: trim and concatenate the kept
segments, video and audio cut at the same frame boundaries so they cannot
drift apart. Boundaries are frame and sample numbers, not times, so that
hundreds of cuts add no rounding error. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

PREVIEW_MAX_HEIGHT = 360


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


def cut_render_args(
    source: Path,
    keeps: Sequence[tuple[float, float]],
    has_video: bool,
    fps: float | None,
    sample_rate: int,
    output: Path,
) -> list[str]:
    """H.264 + AAC (or AAC alone for an audio-only source), at the source's
    frame rate and resolution. ``keeps`` are frame-aligned (align_to_frames)."""
    graph: list[str] = []
    inputs: list[str] = []
    for index, (start, end) in enumerate(keeps):
        if has_video and fps:
            frames = f"start_frame={round(start * fps)}:end_frame={round(end * fps)}"
            graph.append(f"[0:v:0]trim={frames},setpts=PTS-STARTPTS[v{index}]")
            inputs.append(f"[v{index}]")
        samples = f"start_sample={round(start * sample_rate)}:end_sample={round(end * sample_rate)}"
        graph.append(f"[0:a:0]atrim={samples},asetpts=PTS-STARTPTS[a{index}]")
        inputs.append(f"[a{index}]")
    outputs = "[v][a]" if has_video else "[a]"
    graph.append(f"{''.join(inputs)}concat=n={len(keeps)}:v={int(has_video)}:a=1{outputs}")
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
            args += ["-r", f"{fps:g}"]
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
