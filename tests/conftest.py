"""Fixtures shared by every test layer."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from talkavocado import wiring
from talkavocado.support.observability import logger, metrics

REPO_ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = REPO_ROOT / "events"
TEMPLATE = REPO_ROOT / "template.yaml"


def sample_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


class LogCapture(logging.Handler):
    """Collects the JSON lines the Powertools logger emits."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(logger.registered_formatter.format(record)))


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    capture = LogCapture()
    logger._logger.addHandler(capture)
    try:
        yield capture.lines
    finally:
        logger._logger.removeHandler(capture)


@pytest.fixture
def storage_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "storage"
    monkeypatch.setenv("MEDIA_STORAGE_PATH", str(root))
    return root


@pytest.fixture(autouse=True)
def _fresh_wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test builds its services from its own environment."""
    monkeypatch.setenv("TALKAVOCADO_ENV", "test")
    wiring.reset()
    yield
    wiring.reset()
    # A metric a test added outside a handler's flush must not reach the next test.
    metrics.clear_metrics()


SAMPLE = REPO_ROOT / "tests" / "fixtures" / "sample_talk.mp4"
# Files of media_dir that must fail audio extraction, with what the error says.
BROKEN_INPUTS = [
    ("empty.mp4", "empty"),
    ("text.mp4", "not a readable video or audio file"),
    ("no_audio.mp4", "no audio track"),
    ("truncated.mp4", "truncated"),
    ("truncated_index_at_end.mp4", "not a readable video or audio file"),
]


def ffmpeg(*argv: str) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *argv],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small generated media files, good and broken, made once per run."""
    root = tmp_path_factory.mktemp("media")
    sample = str(SAMPLE)
    picture = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25"]
    h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050"]
    ffmpeg(*picture, *tone, "-t", "2", *h264, "-c:a", "aac", "-shortest", str(root / "tone.mp4"))
    ffmpeg(*picture, "-t", "2", *h264, str(root / "no_audio.mp4"))
    ffmpeg("-i", sample, "-vn", "-c:a", "aac", str(root / "speech.m4a"))
    # Like a phone's: NTSC frame rate, 48 kHz stereo, a rotation flag, .mov.
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30000/1001", "-i", sample),
        *("-map", "0:v", "-map", "1:a", "-t", "12", *h264, "-c:a", "aac", "-ar", "48000"),
        *("-ac", "2", "-metadata:s:v", "rotate=90", str(root / "phone.mov")),
    )
    # Streams that do not start together: the sound 2 s after the picture
    # (and outlasting it), or the picture 1.5 s after the sound.
    for name, early, late, offset in (
        ("late_audio.mp4", "0:v", "1:a", "2"),
        ("late_video.mp4", "0:a", "1:v", "1.5"),
    ):
        ffmpeg(
            *("-i", sample, "-itsoffset", offset, "-i", sample),
            *("-map", early, "-map", late, "-c", "copy", str(root / name)),
        )
    # Odd dimensions (a cropped screen recording), in 4:4:4.
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-i", sample),
        *("-map", "0:v", "-map", "1:a", "-t", "6", "-vf", "scale=321:241", "-c:v", "libx264"),
        *("-pix_fmt", "yuv444p", "-c:a", "copy", str(root / "odd_size.mp4")),
    )
    # Taller than a preview: the preview is a smaller copy.
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25", "-i", sample),
        *("-map", "0:v", "-map", "1:a", "-t", "6", *h264, "-c:a", "copy", str(root / "tall.mp4")),
    )
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("this is a text file, not a video\n" * 20)
    data = SAMPLE.read_bytes()  # its index is at the front (faststart)
    (root / "truncated.mp4").write_bytes(data[: len(data) // 3])
    ffmpeg("-i", sample, "-c", "copy", str(root / "index_at_end.mp4"))
    data = (root / "index_at_end.mp4").read_bytes()
    (root / "truncated_index_at_end.mp4").write_bytes(data[: len(data) // 2])
    return root
