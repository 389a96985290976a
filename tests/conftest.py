"""Fixtures shared by every test layer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talkavocado import wiring
from talkavocado.observability import logger

REPO_ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = REPO_ROOT / "events"
TEMPLATE = REPO_ROOT / "template.yaml"


def sample_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


class LogCapture(logging.Handler):
    """Collects the JSON lines the Powertools logger emits."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(logger.registered_formatter.format(record)))


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    capture = LogCapture()
    logger._logger.addHandler(capture)
    try:
        yield capture.lines
    finally:
        logger._logger.removeHandler(capture)


@pytest.fixture
def storage_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "storage"
    monkeypatch.setenv("MEDIA_STORAGE_PATH", str(root))
    return root


@pytest.fixture(autouse=True)
def _fresh_wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test builds its services from its own environment."""
    monkeypatch.setenv("TALKAVOCADO_ENV", "test")
    wiring.reset()
    yield
    wiring.reset()
