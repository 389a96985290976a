from __future__ import annotations

from pathlib import Path

import pytest

from talkavocado import wiring
from talkavocado.adapters.whisper_engine import MODEL_FILES, bundled_model, verified_model
from talkavocado.config import Settings
from talkavocado.errors import ConfigurationError
from talkavocado.media.planner import PlannerParameters


def test_faster_whisper_without_a_model_directory_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRANSCRIPTION_ENGINE", "faster-whisper")
    monkeypatch.setenv("WHISPER_MODEL_DIR", str(tmp_path / "no-model-here"))
    wiring.reset()
    with pytest.raises(ConfigurationError) as failed:
        wiring.transcription_engine()
    assert "no model.bin" in failed.value.message


def test_faster_whisper_is_the_default_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSCRIPTION_ENGINE", raising=False)
    assert Settings.from_env().transcription_engine == "faster-whisper"


def test_a_model_file_other_than_the_pinned_one_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    bundled = bundled_model()
    for name in MODEL_FILES:
        (tmp_path / name).symlink_to(bundled / name)
    (tmp_path / "vocabulary.txt").unlink()
    (tmp_path / "vocabulary.txt").write_text("a\nb\n")
    with pytest.raises(ConfigurationError) as failed:
        verified_model(tmp_path)
    assert "vocabulary.txt" in failed.value.message
    assert "Systran/faster-whisper-tiny.en" in failed.value.message


def test_the_bundled_model_has_the_upstream_digests() -> None:
    assert verified_model(bundled_model()) == bundled_model()


def test_an_unknown_engine_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSCRIPTION_ENGINE", "magic")
    with pytest.raises(ConfigurationError, match="TRANSCRIPTION_ENGINE"):
        Settings.from_env()


def test_planner_parameters_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAN_MIN_PAUSE_SECONDS", "1.25")
    monkeypatch.setenv("PLAN_FILLERS", "um, like")
    planner = Settings.from_env().planner
    assert planner.min_pause == 1.25
    assert planner.fillers == ["um", "like"]
    assert planner.padding == PlannerParameters().padding  # unset: the default


@pytest.mark.parametrize(
    ("name", "value"), [("PLAN_MIN_PAUSE_SECONDS", "-1"), ("PLAN_SILENCE_THRESHOLD_DB", "10")]
)
def test_invalid_planner_parameters_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="planner"):
        Settings.from_env()
