"""The input length limit holds for pictures up to 1080p at 30 fps and
shrinks with the pixels a second beyond that (the render's time grows with
them); a picture over the pixel limits is refused whatever its length; the
steps decode no more than the limit, whatever the container states."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkavocado.config import DEFAULT_MAX_FRAME_PIXELS, DEFAULT_MAX_PIXEL_RATE
from talkavocado.media.commands import audio_extraction_args, cut_render_args
from talkavocado.media.limits import (
    PictureLimits,
    decode_cap_seconds,
    decoded_past_limit,
    input_limit_minutes,
)


@pytest.mark.parametrize(
    ("width", "height", "fps", "minutes"),
    [
        (1920, 1080, 30.0, 60.0),
        (1280, 720, 30000 / 1001, 60.0),
        (320, 240, 60.0, 60.0),
        (1920, 1080, 60.0, 30.0),
        (3840, 2160, 30.0, 15.0),
        (None, None, None, 60.0),  # sound alone
    ],
)
def test_the_limit_shrinks_only_beyond_1080p_at_30_fps(
    width: int | None, height: int | None, fps: float | None, minutes: float
) -> None:
    assert input_limit_minutes(60, width, height, fps) == pytest.approx(minutes)


DEFAULTS = PictureLimits(DEFAULT_MAX_FRAME_PIXELS, DEFAULT_MAX_PIXEL_RATE)


@pytest.mark.parametrize(
    ("width", "height", "fps"),
    [
        (1920, 1080, 30.0),
        (3840, 2160, 60.0),
        (7680, 4320, 30.0),
        (1080, 1920, 30000 / 1001),  # a phone held upright
        (None, None, None),  # sound alone
        (1920, 1080, None),  # no frame rate to count by: the frame alone
    ],
)
def test_pictures_up_to_8k_at_30_fps_are_taken(
    width: int | None, height: int | None, fps: float | None
) -> None:
    assert DEFAULTS.refusal(width, height, fps) is None


def test_a_frame_of_16000x16000_is_refused_whatever_its_frame_rate() -> None:
    for fps in (25.0, 1.0, None):
        refusal = DEFAULTS.refusal(16000, 16000, fps)
        assert refusal is not None
        assert "16000x16000 (256.0 megapixels per frame)" in refusal
        assert "at most 33.2 megapixels per frame (MaxFramePixels)" in refusal


@pytest.mark.parametrize(("width", "height", "fps"), [(7680, 4320, 60.0), (3840, 2160, 240.0)])
def test_more_pixels_a_second_than_8k_at_30_fps_are_refused(
    width: int, height: int, fps: float
) -> None:
    refusal = DEFAULTS.refusal(width, height, fps)
    assert refusal is not None
    assert f"{width}x{height} at {fps:g} fps" in refusal
    assert "at most 995.3 megapixels a second (MaxPixelRate)" in refusal


def test_decoders_take_every_admitted_frame_with_its_rows_aligned() -> None:
    # 1080 rows of 1920 padded to 1984 columns (an alignment of 64 and more).
    limits = PictureLimits(1920 * 1080, DEFAULT_MAX_PIXEL_RATE)
    assert limits.refusal(1920, 1080, 30.0) is None
    assert limits.decoder_ceiling >= 1984 * 1080


def test_decoded_sound_is_bounded_a_little_past_the_limit() -> None:
    assert decode_cap_seconds(1) == pytest.approx(61.0)
    assert not decoded_past_limit(60.3, 1)  # an MP3's padding on an input of exactly 1 minute
    assert decoded_past_limit(decode_cap_seconds(1), 1)  # reached the cap: there was more


def test_extraction_stops_at_its_cap_and_the_render_reads_no_further_than_its_plan() -> None:
    args = audio_extraction_args(Path("in.ts"), Path("out.mp3"), Path("out.wav"), 61.0)
    for output in ("out.mp3", "out.wav"):  # each output is capped
        at = args.index(output)
        assert args[at - 2 : at] == ["-t", "61.000"]
    args = cut_render_args(
        Path("in.ts"), [(0.0, 1.0), (2.0, 3.5)], True, 25.0, Path("out.mp4"), 48000, 2_000_000
    )
    opening = args[: args.index("-i")]
    assert opening[opening.index("-t") + 1] == "4.500"
    assert opening[opening.index("-max_pixels") + 1] == "2000000"
