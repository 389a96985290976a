"""Media made to cost more than it admits to, generated with the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ffmpeg

TONE = ("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000")


def restarting_ts(folder: Path, seconds: int = 18, copies: int = 10) -> Path:
    """MPEG-TS segments joined end to end, each starting its timestamps
    again: ffmpeg states the length of one (17.7 s) and decodes them all."""
    segment = folder / "segment.ts"
    ffmpeg(*TONE, "-t", str(seconds), "-c:a", "mp2", "-b:a", "32k", "-f", "mpegts", str(segment))
    joined = folder / "restarting.ts"
    joined.write_bytes(segment.read_bytes() * copies)
    return joined


def picture(
    folder: Path, size: str, fps: int, seconds: float = 1.0, container: str = "mp4"
) -> Path:
    """A still H.264 picture with a tone: small on disk, whatever its size."""
    path = folder / f"{size}@{fps}.{container}"
    ffmpeg(
        *("-f", "lavfi", "-i", f"color=c=gray:size={size}:rate={fps}"),
        *TONE,
        *("-map", "0:v", "-map", "1:a", "-t", f"{seconds:g}"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-c:a", "mp2", "-b:a", "32k", str(path)),
    )
    return path


def growing_picture(folder: Path, small: str, large: str) -> Path:
    """A TS whose first two seconds are ``small`` and the next ``large``:
    ffmpeg states the first frames' size."""
    first = picture(folder, small, 25, seconds=2, container="ts")
    second = picture(folder, large, 25, seconds=1, container="ts")
    joined = folder / "growing.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    return joined
