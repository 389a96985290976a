"""Timestamps: ISO-8601 UTC with milliseconds and a ``Z`` suffix, so that they
sort lexicographically in DynamoDB and compare as strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_time(timestamp: str) -> datetime:
    """A stored time stamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def to_millis(timestamp: str) -> int | None:
    """``timestamp`` as milliseconds since the epoch, if they give it back
    exactly (:func:`from_millis`); None for any other form."""
    try:
        millis = (parse_time(timestamp) - _EPOCH) // _MILLISECOND
    except (ValueError, TypeError, OverflowError):  # TypeError: no time zone
        return None
    return millis if from_millis(millis) == timestamp else None


def from_millis(millis: int) -> str:
    return iso(_EPOCH + millis * _MILLISECOND)
