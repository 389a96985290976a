"""The input length limit holds for pictures up to 1080p at 30 fps and
shrinks with the pixels a second beyond that (the render's time grows with
them)."""

from __future__ import annotations

import pytest

from talkavocado.media.limits import input_limit_minutes


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
