"""Optimistic concurrency: re-run a read-modify-write that lost a race."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from talkavocado.errors import ConcurrentUpdate

T = TypeVar("T")


def retry_on_conflict(attempt: Callable[[], T], what: str, attempts: int = 10) -> T:
    """Call ``attempt`` until it does not raise ``ConcurrentUpdate``, sleeping
    a random, growing pause between tries so racing writers spread out."""
    for tries in range(attempts):
        try:
            return attempt()
        except ConcurrentUpdate:
            time.sleep(random.uniform(0, 0.005 * 2**tries))
    raise ConcurrentUpdate(f"{what} kept changing; gave up after {attempts} attempts")


def backoff_seconds(attempt: int, base: float, cap: float) -> int:
    """Exponential backoff with jitter for the ``attempt``-th retry (1-based):
    a random delay between half and all of ``base * 2**(attempt-1)``, capped.
    Whole seconds, as SQS visibility timeouts are."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return max(1, round(random.uniform(ceiling / 2, ceiling)))
