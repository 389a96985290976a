"""What a probe of a media file says of its streams."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    audio_codec: str | None
    sample_rate: int | None
    video_codec: str | None
    width: int | None
    height: int | None
    fps: float | None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None
