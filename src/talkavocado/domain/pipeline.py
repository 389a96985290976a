"""The pipeline order, declared once. template.yaml's queues, rules and
functions must agree with it (tests/unit/test_pipeline_template.py checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from talkavocado.domain.keys import ENVS


@dataclass(frozen=True)
class Step:
    name: str
    consumes: str
    emits: str
    completes_job: bool = False  # MarkCompleted: recording the step completes the job

    @property
    def resource_prefix(self) -> str:
        """``audio-extraction`` -> ``AudioExtraction``: the stem of the step's
        logical ids in template.yaml (``...Function``, ``...Queue``,
        ``...DeadLetterQueue``, ``...Rule``)."""
        return "".join(part.capitalize() for part in self.name.split("-"))

    handler: ClassVar[str] = "talkavocado.handlers.workers.step"  # one for every step


PIPELINE: tuple[Step, ...] = (
    Step("audio-extraction", consumes="JobCreated", emits="AudioExtracted"),
    Step("transcription", consumes="AudioExtracted", emits="TranscriptReady"),
    Step("smart-cut-planner", consumes="TranscriptReady", emits="CutPlanReady"),
    Step("video-render", consumes="CutPlanReady", emits="RenderCompleted"),
    # The finalizer completes the job and announces it.
    Step("job-finalizer", consumes="RenderCompleted", emits="JobCompleted", completes_job=True),
)
FINALIZER = PIPELINE[-1]
STEP_NAMES: tuple[str, ...] = tuple(step.name for step in PIPELINE)
DEAD_LETTER_HANDLER = "DeadLetterFunction"


def step_named(name: str) -> Step:
    for step in PIPELINE:
        if step.name == name:
            return step
    raise KeyError(name)


def queue_name(env: str, step: Step, suffix: str = "") -> str:
    """``talkavocado-{env}-{step}``, plus ``suffix`` for its dead-letter queue."""
    return f"talkavocado-{env}-{step.name}{suffix}"


def step_of_queue(queue_arn: str, suffix: str = "") -> Step | None:
    """The step whose queue (or, with ``suffix``, dead-letter queue) the ARN
    names exactly: which step a delivered batch is for."""
    name = queue_arn.rsplit(":", 1)[-1]
    return next(
        (step for step in PIPELINE for env in ENVS if name == queue_name(env, step, suffix)),
        None,
    )


def consumer_of(detail_type: str) -> Step | None:
    for step in PIPELINE:
        if step.consumes == detail_type:
            return step
    return None


def next_step(step: Step) -> Step | None:
    index = PIPELINE.index(step)
    return PIPELINE[index + 1] if index + 1 < len(PIPELINE) else None
