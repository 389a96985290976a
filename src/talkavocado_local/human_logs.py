"""``talkavocado up --log-format human``: the functions' structured log lines
as a person reads them on a terminal, one short line each:

    12:00:01 INFO  transcription demo-tenant/5c33b614 step finished  outcome=completed

The JSON lines stay the default where the output is not a terminal (a file,
a pipe, a log collector)."""

from __future__ import annotations

import json
from typing import Any, TextIO

# Keys every line carries, shown in the line's own columns or not at all.
_SHOWN = {"level", "timestamp", "step", "tenantId", "jobId", "message"}
_LEFT_OUT = {
    "location",
    "service",
    "coldStart",
    "functionName",
    "functionMemorySize",
    "functionArn",
    "functionRequestId",
    "correlationId",
    "xrayTraceId",
    "samplingRate",
}


class HumanStream:
    """A text stream that writes each JSON log line it is given as a human
    line (anything else as it is) to ``sink``. It goes where the logger's
    handler writes, so the structured formatter, which the local runtime
    keeps per invocation (local/isolation.py), stays as it is."""

    def __init__(self, sink: TextIO) -> None:
        self._sink = sink
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._sink.write(_human(line) + "\n")
        return len(text)

    def flush(self) -> None:
        self._sink.flush()


def _human(line: str) -> str:
    try:
        fields = json.loads(line)
    except ValueError:
        return line
    return human_line(fields) if isinstance(fields, dict) else line


def human_line(fields: dict[str, Any]) -> str:
    timestamp = str(fields.get("timestamp", ""))
    clock = timestamp[11:19] if len(timestamp) >= 19 else timestamp
    level = str(fields.get("level", ""))
    step = str(fields.get("step") or "-")
    tenant, job = fields.get("tenantId") or "-", fields.get("jobId") or "-"
    who = "-" if (tenant, job) == ("-", "-") else f"{tenant}/{str(job)[:8]}"
    extras = " ".join(
        f"{key}={_short(value)}"
        for key, value in fields.items()
        if key not in _SHOWN and key not in _LEFT_OUT
    )
    line = f"{clock} {level:<7} {step:<17} {who:<24} {fields.get('message', '')}"
    return f"{line}  {extras}" if extras else line


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
