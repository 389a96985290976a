"""A daemon thread that runs a loop until asked to stop: what the local
runtime's queue pollers and schedule timers share."""

from __future__ import annotations

import threading
from typing import Self


class Background:
    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Start nothing new; an invocation under way goes on."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout=timeout)

    @property
    def busy(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError
