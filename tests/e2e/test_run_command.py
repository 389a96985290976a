"""`talkavocado run VIDEO`, as `make run` uses it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from talkavocado.domain.errors import ValidationFailed
from talkavocado.domain.pipeline import PIPELINE
from talkavocado_local.cli import main
from talkavocado_local.notify import LoopbackReceiver, verify
from talkavocado_local.run import run_video
from tests.conftest import REPO_ROOT, ffmpeg
from tests.issuer import AUDIENCE, Issuer, issuer

__all__ = ["issuer"]

SAMPLE = REPO_ROOT / "tests" / "fixtures" / "sample_talk.mp4"


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MEDIA_STORAGE_PATH", str(tmp_path / "storage"))
    return tmp_path


def test_the_sample_runs_to_completed_with_progress_and_files(local_env: Path) -> None:
    out = io.StringIO()
    status = run_video(SAMPLE, "demo-tenant", timeout=120, log_file=local_env / "run.log", out=out)
    printed = out.getvalue()
    assert status == 0, printed
    steps = len(PIPELINE)
    assert f"[{steps}/{steps}] job-finalizer      completed" in printed
    assert "job completed" in printed
    assert re.search(r"cut \d+ parts, [\d.]+ s of 26\.\d s:", printed)
    assert 'filler "' in printed and "pause " in printed
    assert re.search(r"before 26\.\d s -> after 1\d\.\d s", printed)
    assert "renders/base_cuts.mp4" in printed
    [input_line] = [line for line in printed.splitlines() if line.strip().startswith("input")]
    stored = Path(input_line.split()[-1])
    assert stored.read_bytes() == SAMPLE.read_bytes()
    assert (local_env / "run.log").stat().st_size > 0
    assert re.search(
        r"webhook notification: JobCompleted [0-9a-f-]{36} \(signature verified\)", printed
    )


def test_notify_pushes_the_outcome_to_the_given_receiver_and_shows_the_delivery(
    local_env: Path, media_dir: Path
) -> None:
    receiver = LoopbackReceiver()
    try:
        out = io.StringIO()
        status = run_video(
            media_dir / "tone.mp4",
            "demo-tenant",
            timeout=120,
            log_file=local_env / "run.log",
            out=out,
            notify=receiver.url,
        )
    finally:
        receiver.close()
    printed = out.getvalue()
    assert status == 0, printed
    assert re.search(
        r"webhook delivery 1 to http://127\.0\.0\.1:\d+/\S+: delivered \(204\)", printed
    )
    [(headers, body)] = receiver.received
    assert json.loads(body)["type"] == "JobCompleted"
    secret = re.search(r"secret (whsec_\S+)", printed)
    assert secret is not None and verify(secret[1], headers, body)


def test_a_missing_file_is_refused_before_anything_starts(local_env: Path) -> None:
    with pytest.raises(ValidationFailed, match="no such file"):
        run_video(local_env / "nope.mp4", "demo-tenant", 10, local_env / "run.log")


def test_an_empty_file_is_refused_before_anything_starts(
    local_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = local_env / "empty.mp4"
    empty.touch()
    with pytest.raises(ValidationFailed, match=r"empty \(0 bytes\)"):
        run_video(empty, "demo-tenant", 10, local_env / "run.log")
    assert main(["run", str(empty), "--log-file", str(local_env / "run.log")]) == 2
    assert "the file is empty" in capsys.readouterr().err
    assert not (local_env / "run.log").exists()  # no stack was started


def test_a_directory_is_named_as_one(local_env: Path) -> None:
    folder = local_env / "videos.mp4"
    folder.mkdir()
    with pytest.raises(ValidationFailed, match="is a directory"):
        run_video(folder, "demo-tenant", 10, local_env / "run.log")


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "soon"])
def test_the_timeout_must_be_a_positive_number_of_seconds(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", str(SAMPLE), "--timeout", timeout])
    assert exited.value.code == 2
    assert "--timeout" in capsys.readouterr().err


def test_after_giving_up_nothing_the_job_does_later_is_printed(local_env: Path) -> None:
    out = io.StringIO()
    status = run_video(SAMPLE, "demo-tenant", 0.001, local_env / "run.log", out=out)
    printed = out.getvalue()
    assert status == 1
    assert re.search(r"gave up waiting after 0\.001 s; the job is \w+\n", printed)
    after = printed.split("gave up waiting", 1)[1]
    assert "webhook" not in after and "Job" not in after and "completed" not in after
    assert after.splitlines()[1:] == [f"function logs: {local_env / 'run.log'}"]


def test_a_refused_job_names_the_problem_and_waits_for_no_notification(
    local_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    out = io.StringIO()
    assert run_video(SAMPLE, "demo-tenant", 60, local_env / "run.log", out=out) == 1
    printed = out.getvalue()
    [refused] = [line for line in printed.splitlines() if line.startswith("job refused")]
    assert "input.bytes" in refused and "{" not in refused  # a sentence, not the raw answer
    assert "webhook" not in printed


def test_a_file_that_is_not_media_by_name_is_refused(local_env: Path) -> None:
    notes = local_env / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(ValidationFailed, match="not a video or audio"):
        run_video(notes, "demo-tenant", 10, local_env / "run.log")


def test_with_an_issuer_the_run_needs_a_token_and_takes_its_tenant(
    local_env: Path, media_dir: Path, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_ISSUER", issuer.url)
    monkeypatch.setenv("JWT_AUDIENCE", AUDIENCE)
    clip, log = media_dir / "tone.mp4", local_env / "run.log"

    refused = io.StringIO()
    assert run_video(clip, "demo-tenant", timeout=60, log_file=log, out=refused) == 1
    assert "job refused (401)" in refused.getvalue()

    out = io.StringIO()
    token = issuer.token("tenant-from-token")
    assert run_video(clip, "demo-tenant", 60, log, out=out, token=token) == 0, out.getvalue()
    assert "tenant tenant-from-token" in out.getvalue()
    assert "/tenant-from-token/" in out.getvalue()


def test_camcorder_transport_streams_are_taken_by_name(local_env: Path) -> None:
    clip = local_env / "CLIP0001.MTS"
    ffmpeg(
        "-i", str(SAMPLE), "-t", "8", "-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpegts", str(clip)
    )
    out = io.StringIO()
    assert run_video(clip, "demo-tenant", 120, local_env / "run.log", out=out) == 0, out.getvalue()
    assert "job completed" in out.getvalue()
