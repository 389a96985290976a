"""Scheduled functions, as EventBridge runs them: every function that
template.yaml gives a ``Schedule`` event is invoked with a Scheduled Event at
its rate (or, locally, at a rate the caller chooses), one run at a time."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from talkavocado.support.observability import logger
from talkavocado_local.background import Background
from talkavocado_local.invoke import REGION, LocalContext
from talkavocado_local.template import ACCOUNT_ID, FunctionSpec, Template

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    """``rate(5 minutes)`` -> 300. Only rate expressions: cron is not emulated."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise ValueError(f"only rate(...) schedules run locally; got {expression!r}")
    return int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")]


@dataclass(frozen=True)
class Schedule:
    function: FunctionSpec
    every_seconds: float


def schedules(template: Template, every_seconds: float | None = None) -> list[Schedule]:
    """The template's scheduled functions; ``every_seconds`` replaces their rates."""
    found = []
    for function in template.functions():
        for event in function.events.values():
            if event.get("Type") != "Schedule":
                continue
            rate = rate_seconds(template.resolve(event["Properties"])["Schedule"])
            found.append(Schedule(function, every_seconds or rate))
    return found


def scheduled_event(function: FunctionSpec) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function.logical_id}"],
        "detail": {},
    }


class ScheduleTimer(Background):
    def __init__(self, schedule: Schedule, handler: Callable[[dict[str, Any], Any], Any]) -> None:
        self.schedule = schedule
        self._handler = handler
        super().__init__(f"schedule-{schedule.function.logical_id}")

    def _run(self) -> None:
        function = self.schedule.function
        while not self._stop.wait(self.schedule.every_seconds):
            try:
                self._handler(
                    scheduled_event(function),
                    LocalContext.of(function),
                )
            except Exception:
                logger.exception(
                    "scheduled invocation failed", extra={"function": function.logical_id}
                )
