"""The pipeline, declared once: each step's name, the event it consumes and
the one it emits, the keys it writes (and the event fields that carry them)
and what its function needs. Everything else about a step is derived from its
``Step``: the retry's reuse of earlier artifacts (``JobKeys.outputs_of``),
the pipeline events (``domain/events.py``), and, through ``make contracts``,
the event schemas, the sample SQS events in ``events/`` and template.yaml's
per-step resources (tests/unit/test_pipeline_template.py checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from talkavocado.domain.keys import ENVS

# The stored input, under a job's prefix (JobKeys.input).
INPUT = "input/source"


@dataclass(frozen=True)
class Needs:
    """What a step's function needs: its timeout, its memory, the objects it
    reads and writes (key patterns under a job's prefix, beside its
    manifest, which every step reads and writes) and how many messages it
    takes at once. The default: a minute, 512 MB, the manifest only, one job
    at a time (media steps take one job at a time)."""

    timeout: int = 60  # seconds
    memory: int = 512  # MB
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    batch_size: int = 1


@dataclass(frozen=True)
class Step:
    name: str
    consumes: str
    emits: str
    completes_job: bool = False  # MarkCompleted: recording the step completes the job
    # The keys the step always writes, which a later run may reuse: names of
    # JobKeys' key properties, or paths under the job's prefix. Each is in
    # one of ``needs.writes``' patterns.
    writes: tuple[str, ...] = ()
    # The event fields that carry what the step wrote, for the steps after
    # it: (field of PipelineEvent, one of ``writes``). A list field collects
    # every key named for it.
    announces: tuple[tuple[str, str], ...] = ()
    needs: Needs = Needs()

    @property
    def resource_prefix(self) -> str:
        """``audio-extraction`` -> ``AudioExtraction``: the stem of the step's
        logical ids in template.yaml (``...Function``, ``...Queue``,
        ``...DeadLetterQueue``, ``...Rule``)."""
        return "".join(part.capitalize() for part in self.name.split("-"))

    handler: ClassVar[str] = "talkavocado.handlers.workers.step"  # one for every step


PIPELINE: tuple[Step, ...] = (
    Step(
        "audio-extraction",
        consumes="JobCreated",
        emits="AudioExtracted",
        writes=("audio", "audio_pcm", "peaks"),
        announces=(("audio_key", "audio"),),
        needs=Needs(120, 1024, reads=(INPUT,), writes=("audio/*",)),
    ),
    Step(
        "transcription",
        consumes="AudioExtracted",
        emits="TranscriptReady",
        writes=("transcript_json", "captions_srt"),
        announces=(("transcript_key", "transcript_json"), ("captions_key", "captions_srt")),
        needs=Needs(900, 2048, reads=("audio/*.wav",), writes=("transcripts/*",)),
    ),
    Step(
        "smart-cut-planner",
        consumes="TranscriptReady",
        emits="CutPlanReady",
        writes=("cut_plan",),
        announces=(("plan_key", "cut_plan"),),
        needs=Needs(120, 1024, reads=("audio/*.wav", "transcripts/*"), writes=("plan/*",)),
    ),
    Step(
        "video-render",
        consumes="CutPlanReady",
        emits="RenderCompleted",
        # And the preview, of a video (not of sound alone).
        writes=("base_cuts_render", "cut_captions_srt", "cut_captions_vtt", "cut_transcript"),
        announces=(("render_keys", "base_cuts_render"),),
        # 10 GB: Lambda's 6 vCPU, which x264 keeps busy; the work is CPU-bound, so
        # a render costs about the same GB-seconds as on 3 GB, in a third of the time.
        needs=Needs(
            900,
            10240,
            reads=(INPUT, "plan/*", "transcripts/*"),
            writes=("renders/*", "captions/*"),
        ),
    ),
    # The finalizer completes the job and announces it.
    Step(
        "job-finalizer",
        consumes="RenderCompleted",
        emits="JobCompleted",
        completes_job=True,
        needs=Needs(30, 512, batch_size=10),
    ),
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
