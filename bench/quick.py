"""Quick mode, shared by every bench: ``--quick`` (or ``BENCH_QUICK=1``) runs
the smallest inputs and fewest iterations that still go through every code
path and print every table. ``make test`` runs each bench this way, so a
change that breaks a bench fails it; quick figures are not measurements."""

from __future__ import annotations

import os
import sys


def quick() -> bool:
    return "--quick" in sys.argv[1:] or os.environ.get("BENCH_QUICK") == "1"
