"""How much input the media functions take within their Lambda timeouts and
memory (README, "Input length limit" and "Picture limits")."""

from __future__ import annotations

from dataclasses import dataclass

# The picture the limit in minutes is stated for: 1080p at 30 frames a second.
FULL_HD_PIXEL_RATE = 1920 * 1080 * 30
# The extraction decodes this much past the limit, so that sound which goes
# on beyond it is seen to (README): a container's stated duration is never
# trusted for how much is decoded.
DECODE_MARGIN_SECONDS = 1.0
# More decoded sound than the limit by this much: over it (the MP3's own
# padding and ffmpeg's 10 ms time report stay well within it).
DECODE_TOLERANCE_SECONDS = 0.5
# Decoders check a frame's size with its rows padded to their alignment (up
# to 63 more columns: under 10% for any picture 640 or more wide).
DECODER_ALIGNMENT_ROOM = 1.1


def input_limit_minutes(
    max_minutes: float, width: int | None, height: int | None, fps: float | None
) -> float:
    """``max_minutes`` for pictures up to 1080p at 30 fps (and for sound
    alone); proportionally fewer for more pixels a second, since the
    render's time grows with them: 4K at 30 fps gets a quarter."""
    if not (width and height and fps):
        return max_minutes
    return max_minutes * min(1.0, FULL_HD_PIXEL_RATE / (width * height * fps))


def decode_cap_seconds(limit_minutes: float) -> float:
    """How much of the input's timeline a step may decode: the limit and a
    little more, to tell an input that reaches the limit from one that
    goes past it."""
    return limit_minutes * 60 + DECODE_MARGIN_SECONDS


def decoded_past_limit(decoded_seconds: float, limit_minutes: float) -> bool:
    return decoded_seconds > limit_minutes * 60 + DECODE_TOLERANCE_SECONDS


@dataclass(frozen=True)
class PictureLimits:
    """The largest picture the render takes: pixels in one frame (its memory
    grows with them, whatever the frame rate) and pixels a second (width x
    height x frames a second: its time per input minute grows with them)."""

    max_frame_pixels: int
    max_pixel_rate: int

    @property
    def decoder_ceiling(self) -> int:
        """What a decoder is told it may allocate per frame: the limit, with
        room for the row alignment decoders add (up to 63 columns), so that
        an admitted picture always decodes and a larger one never does."""
        return int(self.max_frame_pixels * DECODER_ALIGNMENT_ROOM)

    def refusal(self, width: int | None, height: int | None, fps: float | None) -> str | None:
        """Why a picture of this size is refused (a sentence naming the limit
        and the file's own figures), or None when it is taken."""
        if not (width and height):
            return None
        frame = width * height
        if frame > self.max_frame_pixels:
            return (
                f"the picture is {width}x{height} ({_megapixels(frame)} per frame); this "
                f"deployment renders at most {_megapixels(self.max_frame_pixels)} per frame "
                "(MaxFramePixels)"
            )
        if fps and frame * fps > self.max_pixel_rate:
            return (
                f"the picture is {width}x{height} at {fps:g} fps "
                f"({_megapixels(frame * fps)} a second); this deployment renders at most "
                f"{_megapixels(self.max_pixel_rate)} a second (MaxPixelRate)"
            )
        return None


def _megapixels(pixels: float) -> str:
    return f"{pixels / 1e6:,.1f} megapixels"
