"""Timestamps: ISO-8601 UTC with milliseconds and a ``Z`` suffix, so that they
sort lexicographically in DynamoDB and compare as strings."""

from __future__ import annotations

from datetime import UTC, datetime

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_time(timestamp: str) -> datetime:
    """A stored time stamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
