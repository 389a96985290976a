"""ffmpeg, the binary that imageio-ffmpeg ships (no system ffmpeg needed).

Always run with an argument list, never through a shell. Inputs are judged
by what ffmpeg reads in them, not by their names. A run that overstays its
deadline is killed and reported as TIMEOUT.

Media input is hostile: every input is opened sandboxed, with the ``file``
protocol only and an allow-list of container formats, so that a playlist,
a concat script or an image sequence can never make ffmpeg read another file
(another tenant's media, a path outside storage) or the network.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any

from talkavocado.errors import ErrorType, StepFailed
from talkavocado.media.info import MediaInfo

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio): (\w+)(.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
# The stream's base frame rate ("tbr"); "fps" is an average that gaps lower.
_FRAME_RATE = re.compile(r"([\d.]+)k? tbr")
_RATE = re.compile(r"(\d+) Hz")
_SILENCE_START = re.compile(r"silence_start: (-?[\d.]+)")
_SILENCE_END = re.compile(r"silence_end: (-?[\d.]+)")
_FRAME_COUNT = re.compile(r"frame=\s*(\d+)")
_TIME = re.compile(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_ERROR_TAIL = 400
SIGNAL_EXIT = 255  # ffmpeg's exit status after a SIGINT or SIGTERM
_REFUSED_FORMAT = re.compile(r"Format not on whitelist|Protocol '[^']*' not on whitelist")
# A decoder refusing a frame over its -max_pixels.
_OVERSIZED_FRAME = re.compile(r"Picture size (\d+)x(\d+) exceeds specified max pixel count")

# The containers recordings arrive in, by demuxer name. Not here on purpose:
# hls, dash, concat, image sequences, tty and other text formats, devices.
ALLOWED_FORMATS = (
    "mov",  # .mov .mp4 .m4a .3gp
    "matroska",  # .mkv .webm
    "avi",
    "mpegts",  # .ts .mts .m2ts
    "mpeg",  # program streams (.mpg, .vob)
    "flv",
    "asf",  # .wmv .wma
    "ogg",
    "mp3",
    "wav",
    "flac",
    "aac",
    "caf",
)
SANDBOX = ("-protocol_whitelist", "file", "-format_whitelist", ",".join(ALLOWED_FORMATS))


def sandboxed(argv: list[str]) -> list[str]:
    """``argv`` with every input (each ``-i``) opened under :data:`SANDBOX`."""
    safe: list[str] = []
    for arg in argv:
        if arg == "-i":
            safe.extend(SANDBOX)
        safe.append(arg)
    return safe


@cache
def executable() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - a dependency of the package
        raise StepFailed(ErrorType.UNKNOWN, "ffmpeg is not installed (imageio-ffmpeg)") from None
    path: str = imageio_ffmpeg.get_ffmpeg_exe()
    return path


class _Children:
    """The ffmpeg processes running now. Each runs in a session of its own, so
    a Ctrl-C meant for the local runtime does not kill it under a step (which
    would blame the user's file); the runtime interrupts them itself when its
    grace period on shutdown is over."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    @contextmanager
    def start(self, argv: list[str], **options: Any) -> Iterator[subprocess.Popen[bytes]]:
        process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            [executable(), "-hide_banner", "-nostdin", *argv],
            start_new_session=True,
            **options,
        )
        with self._lock:
            self._running.add(process)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            with self._lock:
                self._running.discard(process)

    def interrupt_all(self) -> int:
        with self._lock:
            running = list(self._running)
        for process in running:
            process.terminate()
        return len(running)


CHILDREN = _Children()
interrupt_all = CHILDREN.interrupt_all


def _interrupted(returncode: int) -> bool:
    """Killed by a signal, or ffmpeg's own exit on one (255): not the file's fault."""
    return returncode < 0 or returncode == SIGNAL_EXIT


def _report_of(argv: list[str], timeout: float) -> tuple[int, str]:
    """ffmpeg's exit status and report (its stderr)."""
    with CHILDREN.start(
        sandboxed(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        try:
            _, stderr = process.communicate(timeout=max(timeout, 1))
        except subprocess.TimeoutExpired:
            raise StepFailed(
                ErrorType.TIMEOUT, f"ffmpeg took longer than {timeout:.0f} s"
            ) from None
    if _interrupted(process.returncode):
        raise StepFailed(
            ErrorType.TRANSIENT_DEPENDENCY,
            f"ffmpeg was interrupted (exit {process.returncode}); the step is retried",
        )
    return process.returncode, stderr.decode(errors="replace")


def run(argv: list[str], timeout: float) -> str:
    """Run ffmpeg; return its stderr (its report). Errors become StepFailed."""
    returncode, report = _report_of(argv, timeout)
    # A decoder skips a frame over its -max_pixels and goes on: the output
    # would lack it, so the run fails whatever ffmpeg's exit status.
    if oversized := _OVERSIZED_FRAME.search(report):
        width, height = oversized.groups()
        raise StepFailed(
            ErrorType.PICTURE_TOO_LARGE,
            f"a frame of the picture is {width}x{height}, more pixels than this "
            "deployment renders (MaxFramePixels)",
        )
    if returncode != 0:
        raise StepFailed(ErrorType.CODEC_UNSUPPORTED, _explain(report))
    return report


def _explain(report: str) -> str:
    """A sentence a user understands, from ffmpeg's report."""
    if _REFUSED_FORMAT.search(report):
        return (
            "the file's format is not accepted: upload a video or audio file "
            "(MP4, MOV, MKV, WebM, AVI, MPEG-TS, MP3, WAV, ...), not a playlist or script"
        )
    if "moov atom not found" in report or "Invalid data found" in report:
        return (
            "the file is not a readable video or audio file (damaged, truncated or another format)"
        )
    lines = [line for line in report.strip().splitlines() if line.strip()]
    return (
        "ffmpeg could not process the file: "
        + (lines[-1] if lines else "no details")[-_ERROR_TAIL:]
    )


def probe(path: Path, timeout: float, max_pixels: int | None = None) -> MediaInfo:
    """What the file really contains, read by ffmpeg from its content. With
    ``max_pixels``, a larger picture is still reported at its size, from its
    headers, without its first frame being decoded."""
    if path.stat().st_size == 0:
        raise StepFailed(ErrorType.CODEC_UNSUPPORTED, "the file is empty (0 bytes)")
    ceiling = ["-max_pixels", str(max_pixels)] if max_pixels else []
    _, report = _report_of([*ceiling, "-i", str(path)], timeout)
    # Without an output ffmpeg always exits 1; a readable file still lists its streams.
    streams = _STREAM.findall(report)
    if not streams:
        raise StepFailed(ErrorType.CODEC_UNSUPPORTED, _explain(report))
    duration = _DURATION.search(report)
    audio = next((s for s in streams if s[0] == "Audio"), None)
    video = next((s for s in streams if s[0] == "Video" and "attached pic" not in s[2]), None)
    size = _SIZE.search(video[2]) if video else None
    fps = _FRAME_RATE.search(video[2]) if video else None
    rate = _RATE.search(audio[2]) if audio else None
    return MediaInfo(
        duration=_seconds(duration.groups()) if duration else 0.0,
        audio_codec=audio[1] if audio else None,
        sample_rate=int(rate.group(1)) if rate else None,
        video_codec=video[1] if video else None,
        width=int(size.group(1)) if size else None,
        height=int(size.group(2)) if size else None,
        fps=_exact_rate(float(fps.group(1))) if fps else None,
    )


def _exact_rate(printed: float) -> float:
    """ffmpeg prints 29.97 for 30000/1001 (and 23.98, 59.94 likewise);
    frame arithmetic over minutes needs the exact NTSC rate."""
    ntsc = printed * 1.001
    if printed != round(printed) and abs(ntsc - round(ntsc)) < 0.01:
        return round(ntsc) * 1000 / 1001
    return printed


def _seconds(parts: tuple[str, ...]) -> float:
    hours, minutes, seconds = parts
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def silences(
    audio: Path, noise_db: float, min_duration: float, timeout: float
) -> list[tuple[float, float]]:
    """Stretches quieter than ``noise_db`` for at least ``min_duration``
    seconds, found by ffmpeg's silencedetect in the signal itself."""
    report = run(
        [
            "-i",
            str(audio),
            "-af",
            f"silencedetect=noise={noise_db}dB:d={min_duration}",
            "-f",
            "null",
            "-",
        ],
        timeout,
    )
    found: list[tuple[float, float]] = []
    start: float | None = None
    for line in report.splitlines():
        if (began := _SILENCE_START.search(line)) is not None:
            start = max(0.0, float(began.group(1)))
        elif (ended := _SILENCE_END.search(line)) is not None and start is not None:
            found.append((start, float(ended.group(1))))
            start = None
    if start is not None:  # silent until the end of the file
        found.append((start, float("inf")))
    return found


@contextmanager
def pcm_stream(media: Path, sample_rate: int) -> Iterator[IO[bytes]]:
    """The audio decoded to 16-bit mono PCM, streamed (bounded memory). A
    decoding failure is reported once the stream has been read."""
    argv = ["-v", "error", *sandboxed(["-i", str(media)])]
    argv += ["-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "s16le", "-"]
    with CHILDREN.start(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:
        assert process.stdout is not None
        try:
            yield process.stdout
        finally:
            process.stdout.close()
            returncode = process.wait()
    if _interrupted(returncode):
        raise StepFailed(
            ErrorType.TRANSIENT_DEPENDENCY, "decoding was interrupted; the step is retried"
        )
    if returncode != 0:
        raise StepFailed(ErrorType.CODEC_UNSUPPORTED, "the audio could not be decoded")


def reported_duration(report: str) -> float:
    """The output's length, from the last progress line of a ``run``."""
    times = _TIME.findall(report)
    return _seconds(times[-1]) if times else 0.0


def stream_duration(media: Path, stream: str, fps: float | None, timeout: float) -> float:
    """Duration of the first video (``"v"``) or audio (``"a"``) stream, from
    its packets (copied, not decoded): frames / fps for video (with ``fps``),
    otherwise the last timestamp (where the stream ends on the timeline)."""
    report = run(
        ["-i", str(media), "-map", f"0:{stream}:0", "-c", "copy", "-f", "null", "-"], timeout
    )
    if stream == "v" and fps:
        frames = _FRAME_COUNT.findall(report)
        return int(frames[-1]) / fps if frames else 0.0
    return reported_duration(report)
