"""A waveform's peaks: the lowest and highest sample of each pixel's worth of
audio, in the JSON that BBC audiowaveform writes (version 2, one channel,
8 bits), so that a page draws the waveform without decoding the media.

At most PIXELS_PER_SECOND pixels a second and MAX_PIXELS in all: the 26 s
sample gets 100 pixels a second, an hour about 8, and no document is larger
than about 200 KB."""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Iterable
from typing import Any

# What the peaks are computed from: 16-bit mono PCM at this rate.
PEAKS_SAMPLE_RATE = 8000
PIXELS_PER_SECOND = 100
MAX_PIXELS = 30_000
PEAKS_VERSION = 2
PEAKS_BITS = 8


def samples_per_pixel(duration: float, sample_rate: int = PEAKS_SAMPLE_RATE) -> int:
    """PIXELS_PER_SECOND, unless that makes more than MAX_PIXELS pixels."""
    finest = max(1, sample_rate // PIXELS_PER_SECOND)
    bounded = math.ceil(max(0.0, duration) * sample_rate / MAX_PIXELS)
    return max(finest, bounded)


class PeaksBuilder:
    """Fed 16-bit little-endian mono PCM in chunks of any size."""

    def __init__(self, samples_per_pixel: int, sample_rate: int = PEAKS_SAMPLE_RATE) -> None:
        self.samples_per_pixel = samples_per_pixel
        self.sample_rate = sample_rate
        self._data = array("b")
        self._pending = array("h")
        self._odd = b""

    def feed(self, chunk: bytes) -> None:
        chunk = self._odd + chunk
        whole = len(chunk) - len(chunk) % 2
        self._odd = chunk[whole:]
        samples = array("h")
        samples.frombytes(chunk[:whole])
        if sys.byteorder == "big":
            samples.byteswap()
        self._pending.extend(samples)
        step = self.samples_per_pixel
        full = len(self._pending) - len(self._pending) % step
        for start in range(0, full, step):
            self._pixel(self._pending[start : start + step])
        del self._pending[:full]

    def _pixel(self, samples: array[int]) -> None:
        # audiowaveform's 8 bits: the 16-bit sample's high byte.
        self._data.append(min(samples) >> 8)
        self._data.append(max(samples) >> 8)

    def document(self) -> dict[str, Any]:
        """The peaks of everything fed so far (a last, partial pixel included)."""
        data = array("b", self._data)
        if self._pending:
            data.extend((min(self._pending) >> 8, max(self._pending) >> 8))
        return {
            "version": PEAKS_VERSION,
            "channels": 1,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "bits": PEAKS_BITS,
            "length": len(data) // 2,
            "data": data.tolist(),
        }


def peaks_of(chunks: Iterable[bytes], duration: float) -> dict[str, Any]:
    builder = PeaksBuilder(samples_per_pixel(duration))
    for chunk in chunks:
        builder.feed(chunk)
    return builder.document()


def to_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
