"""How much input the media functions take within their Lambda timeouts
(README, "Input length limit")."""

from __future__ import annotations

# The picture the limit in minutes is stated for: 1080p at 30 frames a second.
FULL_HD_PIXEL_RATE = 1920 * 1080 * 30


def input_limit_minutes(
    max_minutes: float, width: int | None, height: int | None, fps: float | None
) -> float:
    """``max_minutes`` for pictures up to 1080p at 30 fps (and for sound
    alone); proportionally fewer for more pixels a second, since the
    render's time grows with them: 4K at 30 fps gets a quarter."""
    if not (width and height and fps):
        return max_minutes
    return max_minutes * min(1.0, FULL_HD_PIXEL_RATE / (width * height * fps))
