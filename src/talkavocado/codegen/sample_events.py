"""events/sqs_{step}.json: a sample SQS delivery of the event each step
consumes (for ``talkavocado invoke`` and ``sam local invoke -e``), written
from the pipeline declaration by ``make contracts``; a sample carries the
keys that the steps before its own announce."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, get_origin

from talkavocado.domain.events import EVENT_TYPES, PipelineEvent
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import PIPELINE, Step

# Each sample names a job of its own, so that each can be invoked on its own
# (`talkavocado invoke` makes the job where it does not exist: local/seed.py).
SAMPLE_NAMESPACE = uuid.UUID("8d3f0c52-6a1e-4b7d-9c2f-5e4a3b2c1d0e")
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:talkavocado-dev-{step}"


def file_name(step: Step) -> str:
    return f"sqs_{step.name.replace('-', '_')}.json"


def sample_job(name: str) -> JobKeys:
    """The job of the sample ``name`` (a step's, or another queue's)."""
    return JobKeys("dev", "demo-tenant", str(uuid.uuid5(SAMPLE_NAMESPACE, name)))


def _detail(step: Step) -> dict[str, Any]:
    """The event ``step`` consumes, carrying what the steps before it
    announce (their declared ``announces``)."""
    keys = sample_job(step.name)
    announced: dict[str, list[str]] = {}
    for done in PIPELINE[: PIPELINE.index(step)]:
        written = dict(zip(done.writes, keys.outputs_of(done), strict=True))
        for field, name in done.announces:
            announced.setdefault(field, []).append(written[name])
    fields: dict[str, Any] = {
        field: found
        if get_origin(PipelineEvent.model_fields[field].annotation) is list
        else found[-1]
        for field, found in announced.items()
    }
    event = EVENT_TYPES[step.consumes](
        env=keys.env,
        tenant_id=keys.tenant_id,
        job_id=keys.job_id,
        correlation_id="sample-correlation-1",
        manifest_key=keys.manifest,
        source_key=keys.input,
        **fields,
    )
    detail: dict[str, Any] = json.loads(event.detail_json())
    return detail


def sample(step: Step) -> dict[str, Any]:
    envelope = {
        "version": "0",
        "id": "0d6f2a8e-5c1b-4e0a-9f3e-2b7c1d4e5f60",
        "detail-type": step.consumes,
        "source": "talkavocado.pipeline",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": _detail(step),
    }
    record = {
        "messageId": "c80e8021-a70a-42c7-a470-796e1186f753",
        "receiptHandle": "AQEBexample",
        "body": json.dumps(envelope),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767225600000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767225600001",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN.format(step=step.name),
        "awsRegion": "us-east-1",
    }
    return {"Records": [record]}


def generated() -> dict[str, str]:
    return {file_name(step): json.dumps(sample(step), indent=2) + "\n" for step in PIPELINE}


def write(root: Path) -> list[str]:
    for name, text in generated().items():
        (root / name).write_text(text)
    return list(generated())


def drifted(root: Path) -> list[str]:
    return [
        name
        for name, text in generated().items()
        if not (root / name).is_file() or (root / name).read_text() != text
    ]
