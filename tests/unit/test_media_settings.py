from __future__ import annotations

from pathlib import Path

import pytest

from talkavocado import wiring
from talkavocado.config import Settings
from talkavocado.errors import ConfigurationError, ErrorType, StepFailed
from talkavocado.media.planner import PlannerParameters


def test_faster_whisper_without_a_model_directory_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRANSCRIPTION_ENGINE", "faster-whisper")
    monkeypatch.setenv("WHISPER_MODEL_DIR", str(tmp_path / "no-model-here"))
    wiring.reset()
    with pytest.raises(StepFailed) as failed:
        wiring.transcription_engine()
    assert failed.value.type == ErrorType.VALIDATION_FAILED
    assert "WHISPER_MODEL_DIR" in failed.value.message


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
