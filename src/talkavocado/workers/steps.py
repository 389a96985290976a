"""The body of each pipeline step.

The media steps are declared no-ops until their engines land: each records
itself ``skipped`` and writes no artifact (never a placeholder file). The
finalizer's body has nothing to produce; the runner completes the job.
"""

from __future__ import annotations

from talkavocado.pipeline import FINALIZER, STEP_NAMES
from talkavocado.workers.context import StepBody, StepContext, StepOutcome


def not_implemented_yet(context: StepContext) -> StepOutcome:
    return StepOutcome(status="skipped", summary=f"{context.step.name} has no engine yet")


def finalize(context: StepContext) -> StepOutcome:
    return StepOutcome(status="completed", summary="job completed")


BODIES: dict[str, StepBody] = {
    **{name: not_implemented_yet for name in STEP_NAMES},
    FINALIZER.name: finalize,
}
