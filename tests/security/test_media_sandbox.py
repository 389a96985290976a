"""Media input is hostile: a playlist, a concat script or any container off the
allow-list fails with CODEC_UNSUPPORTED and reads nothing outside the job's
own input, whatever it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkavocado.adapters import ffmpeg
from talkavocado.errors import ErrorType, StepFailed
from tests.e2e.conftest import Stack


def playlist(entry: str) -> str:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30.0,\n{entry}\n#EXT-X-ENDLIST\n"


def hostile_inputs(secret: Path) -> dict[str, str]:
    return {
        "playlist, relative path": playlist(f"../{secret.name}"),
        "playlist, absolute path": playlist(str(secret)),
        "playlist, file url": playlist(f"file://{secret}"),
        "playlist, network": playlist("http://169.254.169.254/latest/meta-data/"),
        "concat script": f"ffconcat version 1.0\nfile '{secret}'\n",
        "concat protocol": f"concat:{secret}|{secret}",
        "subfile protocol": f"subfile,,start,0,end,0,,:{secret}",
        "text": "just words, not media",
    }


@pytest.fixture
def secret(media_dir: Path, tmp_path: Path) -> Path:
    """Another tenant's media, next to the hostile file."""
    target = tmp_path / "secret.m4a"
    target.write_bytes((media_dir / "speech.m4a").read_bytes())
    return target


@pytest.mark.parametrize("name", list(hostile_inputs(Path("/x"))))
@pytest.mark.parametrize("suffix", ["", ".m3u8", ".txt", ".mp4"])
def test_hostile_input_is_refused_by_every_ffmpeg_run(
    tmp_path: Path, secret: Path, name: str, suffix: str
) -> None:
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    hostile = job_dir / f"source{suffix}"
    hostile.write_text(hostile_inputs(secret)[name])
    with pytest.raises(StepFailed) as refused:
        ffmpeg.probe(hostile, 30)
    assert refused.value.type == ErrorType.CODEC_UNSUPPORTED
    with pytest.raises(StepFailed) as refused:
        ffmpeg.run(["-i", str(hostile), "-f", "null", "-"], 30)
    assert refused.value.type == ErrorType.CODEC_UNSUPPORTED
    with pytest.raises(StepFailed), ffmpeg.pcm_stream(hostile, 16000) as pcm:
        assert pcm.read() == b""  # not one sample of the secret


def test_every_input_of_a_command_line_is_sandboxed() -> None:
    argv = ffmpeg.sandboxed(["-y", "-i", "a.mp4", "-i", "b.wav", "out.mp4"])
    assert argv.count("-protocol_whitelist") == 2 and argv.count("-format_whitelist") == 2
    for index in (i for i, arg in enumerate(argv) if arg == "-i"):
        assert argv[index - 4 : index] == list(ffmpeg.SANDBOX)


@pytest.mark.parametrize("clip", ["tone.mp4", "speech.m4a", "phone.mov"])
def test_real_recordings_still_open(media_dir: Path, clip: str) -> None:
    assert ffmpeg.probe(media_dir / clip, 30).has_audio


def test_a_playlist_naming_another_tenants_audio_fails_the_job(
    stack: Stack, tmp_path: Path, media_dir: Path
) -> None:
    victim = stack.submit("tenant-a", media_dir / "tone.mp4")
    assert stack.wait_until_finished("tenant-a", victim, timeout=120)["status"] == "completed"
    stolen = f"../../../tenant-a/{victim}/audio/{victim}.mp3"
    clip = tmp_path / "clip.m3u8"
    clip.write_text(playlist(stolen))
    attacker = stack.submit("tenant-b", clip)
    job = stack.wait_until_finished("tenant-b", attacker)
    assert job["status"] == "failed"
    assert job["error"]["type"] == "CODEC_UNSUPPORTED"
    assert job["artifacts"]["audio"] is None and job["artifacts"]["renders"] == []
