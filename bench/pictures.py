"""The render's cost by picture size and frame rate: for a short generated
clip of each (the same moving test picture bench.talks draws, and a tone),
the render step's own ffmpeg runs (the cut render and its preview):
CPU-seconds per minute of input, per pixel as a ratio to 1080p at 30 fps,
and peak memory. The input limits (README, "Input length limit" and
"Picture limits") are derived from these figures.

    python -m bench.pictures        # BENCH_PICTURES=1920x1080@30,3840x2160@60
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from talkavocado.adapters import ffmpeg
from talkavocado.media.commands import PREVIEW_MAX_HEIGHT, cut_render_args, preview_args

PICTURES = (
    "1280x720@30",
    "1920x1080@30",
    "2560x1440@30",
    "3840x2160@30",
    "5120x2880@30",
    "7680x4320@30",
    # The same pixels a second in more, smaller frames.
    "320x240@240",
    "1920x1080@120",
    "3840x2160@60",
)
SECONDS = float(os.environ.get("BENCH_PICTURE_SECONDS", "2"))
BASELINE = "1920x1080@30"


def _run(argv: list[str]) -> tuple[float, int]:
    """ffmpeg's CPU-seconds (user + system) and peak memory in KB."""
    process = subprocess.Popen(  # noqa: S603 - an argument list built here
        [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(process.stderr.read().decode(errors="replace"))
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _source(size: str, fps: int, path: Path) -> None:
    _run(
        [
            "-y",
            *("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={SECONDS}"),
            *("-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=44100:duration={SECONDS}"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-shortest", str(path)),
        ]
    )


def render_cost(size: str, fps: int, work: Path) -> tuple[float, int]:
    """The render step's ffmpeg runs on ``size`` at ``fps``: CPU-seconds, peak KB."""
    source = work / f"{size}.mp4"
    _source(size, fps, source)
    info = ffmpeg.probe(source, 60)
    base = work / f"{size}-base.mp4"
    keeps = [(0.0, SECONDS)]
    cpu, peak = _run(cut_render_args(source, keeps, True, info.fps, base, info.sample_rate))
    if (info.height or 0) > PREVIEW_MAX_HEIGHT:
        more, preview_peak = _run(preview_args(base, work / f"{size}-preview.mp4"))
        cpu, peak = cpu + more, max(peak, preview_peak)
    for made in (source, base, work / f"{size}-preview.mp4"):
        made.unlink(missing_ok=True)
    return cpu, peak


def main() -> int:
    pictures = os.environ.get("BENCH_PICTURES", ",".join(PICTURES)).split(",")
    if BASELINE not in pictures:
        pictures.insert(0, BASELINE)
    print(f"The render's ffmpeg runs on {SECONDS:g} s of input, by picture")
    print(
        f"{'picture':<15}{'Mpx':>6}{'Mpx/s':>7}{'CPU s':>7}{'CPU s/min':>10}{'ns/px':>7}"
        f"{'per px vs 1080p30':>19}{'peak MB':>9}"
    )
    baseline: float | None = None
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for picture in pictures:
            size, rate = picture.split("@")
            width, height = (int(side) for side in size.split("x"))
            cpu, peak_kb = render_cost(size, int(rate), Path(scratch))
            per_pixel = cpu / (width * height * int(rate) * SECONDS)
            if picture == BASELINE:
                baseline = per_pixel
            rows.append((picture, width * height, int(rate), cpu, per_pixel, peak_kb))
    assert baseline is not None
    for picture, pixels, fps, cpu, per_pixel, peak_kb in rows:
        print(
            f"{picture:<15}{pixels / 1e6:>6.1f}{pixels * fps / 1e6:>7.0f}{cpu:>7.1f}"
            f"{cpu * 60 / SECONDS:>10.0f}{per_pixel * 1e9:>7.1f}"
            f"{per_pixel / baseline:>19.2f}{peak_kb / 1024:>9.0f}"
        )
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
