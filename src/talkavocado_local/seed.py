"""``talkavocado invoke`` of a queue sample on a job that does not exist yet:
the job the sample names is made first, with a real input, and brought to
where the sample's event finds it, so that the invoked worker does its real
work instead of dropping the event.

- a step's sample (``events/sqs_{step}.json``): the job is created and
  started, and every step before the sample's runs for real; what they
  publish goes nowhere (the invoked step is the one to go on);
- the dead-letter sample: the same, and the step whose queue it came from is
  left running, as a step whose message ran out of deliveries is;
- the input-stored sample: the job is created and its input stored, not
  started (the Object Created event starts it).

A job that exists is left as it is: invoking the same sample again is a
duplicate delivery, which changes nothing, as on AWS.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talkavocado import wiring
from talkavocado.domain.errors import TalkAvocadoError, ValidationFailed
from talkavocado.domain.events import EVENT_TYPES, PipelineEvent
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import PIPELINE, Step, step_named
from talkavocado.services.job_service import CreateJob, InputSpec, JobService
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import mutate_job
from talkavocado.support.clock import now_iso
from talkavocado.workers.dead_letter import step_of_dead_letter_queue
from talkavocado.workers.input_stored import OBJECT_CREATED
from talkavocado.workers.runner import StepRunner

# Time a seeding step may take, as the step's own remaining time.
_SEED_SECONDS = 900.0


@dataclass(frozen=True)
class Seeded:
    keys: JobKeys
    state: str  # what was done, for a person to read

    def describe(self) -> str:
        return f"seeded job {self.keys.job_id} of tenant {self.keys.tenant_id}: {self.state}"


class _Keep:
    """A publisher that keeps what it is given instead of publishing it."""

    def __init__(self) -> None:
        self.published: list[PipelineEvent] = []

    def publish(self, event: PipelineEvent) -> None:
        self.published.append(event)


def seed(event: Any, source: Path) -> Seeded | None:
    """Make the job a queue sample names, from ``source``, where it does not
    exist; ``None`` where there is nothing to make (not a queue sample, or
    the job exists)."""
    plan = _plan(event)
    if plan is None:
        return None
    keys, up_to, running = plan
    if wiring.jobs().get(keys.tenant_id, keys.job_id) is not None:
        return None
    if keys.env != wiring.settings().env:
        raise ValidationFailed(
            f"the event's job is of env {keys.env!r}; the running stack is "
            f"{wiring.settings().env!r} (TALKAVOCADO_ENV)"
        )
    if not source.is_file() or source.stat().st_size == 0:
        raise ValidationFailed(f"{source}: no input to seed the job with (--input FILE)")
    keep = _Keep()
    service = JobService(
        wiring.job_settings(wiring.settings()), wiring.jobs(), wiring.storage(), keep
    )
    spec = InputSpec(source.name, source.stat().st_size, "video/mp4")
    command = CreateJob(keys.tenant_id, f"seed-{uuid.uuid4()}", keys.job_id, spec)
    if up_to is None:  # the input-stored sample: stored, not started
        service.create_job(command)
        wiring.storage().upload(keys, keys.input, source)
        return Seeded(keys, "created with its input stored, not started")
    wiring.storage().upload(keys, keys.input, source)
    service.create_job(command)
    service.start_job(keys.tenant_id, keys.job_id)
    for step in PIPELINE[: PIPELINE.index(up_to)]:
        _run(step, keep)
    done = PIPELINE.index(up_to)
    if running:
        mutate_job(
            wiring.jobs(),
            keys.tenant_id,
            keys.job_id,
            lambda job: job.start_step(up_to.name, now_iso()),
        )
        return Seeded(keys, f"{done} steps run, {up_to.name} left running")
    return Seeded(keys, f"started, {done} steps before {up_to.name} run")


def _run(step: Step, keep: _Keep) -> None:
    """One step for real, on the event the step before it published."""
    [consumed] = [event for event in keep.published if event.detail_type == step.consumes]
    runner = StepRunner(
        step,
        wiring.step_body(step.name),
        wiring.jobs(),
        ManifestStore(wiring.storage()),
        wiring.storage(),
        keep,
    )
    runner.process(consumed, lambda: _SEED_SECONDS)
    job = wiring.jobs().get(consumed.tenant_id, consumed.job_id)
    if job is None or job.steps[step.name].status != "completed":
        status = job.status if job is not None else "gone"
        raise ValidationFailed(f"seeding stopped: {step.name} did not complete (job {status})")


def _plan(event: Any) -> tuple[JobKeys, Step | None, bool] | None:
    """The job a queue sample names, the step it must be brought to (None:
    created only), and whether that step must be left running."""
    try:
        [record] = event["Records"]
        body = json.loads(record["body"])
        detail, detail_type = body["detail"], body["detail-type"]
        if (body.get("source"), detail_type) == OBJECT_CREATED:
            return JobKeys.owning(detail["object"]["key"]), None, False
        keys = JobKeys.owning(detail["manifestKey"])
    except (KeyError, TypeError, ValueError, TalkAvocadoError):
        return None
    if detail_type not in EVENT_TYPES:
        return None
    dead = step_of_dead_letter_queue(str(record.get("eventSourceARN", "")))
    if dead is not None:
        return keys, step_named(dead), True
    consumer = [step for step in PIPELINE if step.consumes == detail_type]
    return (keys, consumer[0], False) if consumer else None
