"""The waveform's peaks: audiowaveform's JSON, bounded in size, exact per pixel."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from talkavocado.media.peaks import (
    MAX_PIXELS,
    PEAKS_SAMPLE_RATE,
    PeaksBuilder,
    peaks_of,
    samples_per_pixel,
    to_json,
)

STATIC = Path(__file__).resolve().parents[2] / "src" / "talkavocado" / "api" / "static"


def pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def test_each_pixel_holds_its_lowest_and_highest_samples_high_byte() -> None:
    builder = PeaksBuilder(samples_per_pixel=4)
    data = pcm(0, 256, -512, 1000, 32767, -32768, 5, 6, 300)
    for cut in (3, 7, 1):  # chunks that split samples in two
        builder.feed(data[:cut])
        data = data[cut:]
    builder.feed(data)
    document = builder.document()
    assert document["data"] == [-2, 3, -128, 127, 1, 1]  # the last pixel is partial
    assert document["length"] == 3
    assert (document["version"], document["channels"], document["bits"]) == (2, 1, 8)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(26.4, 80), (600.0, 160), (3600.0, 960)],
)
def test_a_hundred_pixels_a_second_at_most_and_no_more_than_max_pixels(
    seconds: float, expected: int
) -> None:
    per_pixel = samples_per_pixel(seconds)
    assert per_pixel == expected
    assert seconds * PEAKS_SAMPLE_RATE / per_pixel <= MAX_PIXELS


def test_an_hours_peaks_stay_small() -> None:
    seconds = 3600
    loud = pcm(*([-20000, 20000] * (PEAKS_SAMPLE_RATE // 2)))
    document = peaks_of((loud for _ in range(seconds)), seconds)
    assert document["length"] <= MAX_PIXELS
    assert len(to_json(document)) < 300_000
    assert json.loads(to_json(document)) == document


def test_the_vendored_libraries_are_the_pinned_ones() -> None:
    """The digests VERSIONS.md records are those of the files served."""
    versions = (STATIC / "vendor" / "VERSIONS.md").read_text()
    for name in ("wavesurfer.esm.js", "regions.esm.js", "LICENSE.wavesurfer.js"):
        digest = hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest()
        assert f"`{name}` | wavesurfer.js 7.12.12" in versions
        assert digest in versions, name
    assert "BSD 3-Clause" in (STATIC / "vendor" / "LICENSE.wavesurfer.js").read_text()
