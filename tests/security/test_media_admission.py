"""Media admission, over HTTP against the local stack: an input that costs
more than it admits to is refused or bounded, never decoded past the limits.

- length: an MPEG-TS whose timestamps restart states one segment's length
  and decodes to all of them; the extraction stops a second past the limit
  and fails the job INPUT_TOO_LONG;
- pixels: a frame larger than MaxFramePixels (however few frames), or more
  pixels a second than MaxPixelRate, fails the job PICTURE_TOO_LARGE from
  the probe, before anything is decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talkavocado.adapters import ffmpeg
from talkavocado.domain.keys import JobKeys
from tests.e2e.conftest import Stack, running_stack
from tests.hostile_media import picture, restarting_ts


@pytest.fixture(scope="module")
def one_minute_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local stack with a 1-minute length limit and the default picture limits."""
    with running_stack(tmp_path_factory, MAX_INPUT_MINUTES="1") as stack:
        yield stack


def _failed(stack: Stack, tenant: str, source: Path) -> tuple[dict[str, Any], JobKeys]:
    job_id = stack.submit(tenant, source)
    job = stack.wait_until_finished(tenant, job_id, timeout=120)
    assert job["status"] == "failed", job
    assert job["artifacts"]["audio"] is None and job["artifacts"]["renders"] == []
    return job, JobKeys("test", tenant, job_id)


def test_sound_restarting_its_timestamps_is_decoded_only_to_the_limit(
    one_minute_stack: Stack, tmp_path: Path
) -> None:
    source = restarting_ts(tmp_path)  # 10 x 18 s: stated 17.7 s, decodes to 180 s
    assert ffmpeg.probe(source, 30).duration < 18
    job, keys = _failed(one_minute_stack, "tenant-a", source)
    assert job["error"]["type"] == "INPUT_TOO_LONG"
    assert job["error"]["step"] == "audio-extraction"
    assert "at most 1.0 minutes (MaxInputMinutes)" in job["error"]["message"]
    assert not (one_minute_stack.storage / keys.audio).exists()


def test_a_huge_frame_is_refused_at_the_probe(one_minute_stack: Stack, tmp_path: Path) -> None:
    source = picture(tmp_path, "8192x4352", 1)  # one frame of 35.7 megapixels, 110 KB
    job, _ = _failed(one_minute_stack, "tenant-b", source)
    assert job["error"]["type"] == "PICTURE_TOO_LARGE"
    assert "8192x4352 (35.7 megapixels per frame)" in job["error"]["message"]
    assert "at most 33.2 megapixels per frame (MaxFramePixels)" in job["error"]["message"]


def test_too_many_pixels_a_second_are_refused_at_the_probe(
    one_minute_stack: Stack, tmp_path: Path
) -> None:
    source = picture(tmp_path, "1920x1080", 500, seconds=0.2)  # 1,037 megapixels a second
    job, _ = _failed(one_minute_stack, "tenant-c", source)
    assert job["error"]["type"] == "PICTURE_TOO_LARGE"
    assert "1920x1080 at 500 fps" in job["error"]["message"]
    assert "at most 995.3 megapixels a second (MaxPixelRate)" in job["error"]["message"]
