"""Worker Lambda handlers invoked with real SQS events (EventBridge events in
the body), against moto with the resources of template.yaml."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado import wiring
from talkavocado.domain.errors import ConfigurationError
from talkavocado.domain.keys import JobKeys
from talkavocado.handlers import workers
from talkavocado.services.job_service import CreateJob, InputSpec
from talkavocado_local.invoke import LocalContext
from talkavocado_local.template import Template


def context() -> LambdaContext:
    """A fresh invocation's context: its remaining time counts down."""
    return cast(LambdaContext, LocalContext.for_function("AudioExtractionFunction"))


def sqs_event(*bodies: str, queue: str = "talkavocado-test-audio-extraction") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def job_created_body(tenant: str, job_id: str) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "JobCreated",
            "source": "talkavocado.pipeline",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "env": "test",
                "tenantId": tenant,
                "jobId": job_id,
                "correlationId": "c-1",
                "run": 1,
                "manifestKey": f"test/{tenant}/{job_id}/manifest.json",
            },
        }
    )


@pytest.fixture
def pending_job(aws: Template, media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A started job whose input file is in place, waiting for its first step."""
    monkeypatch.setenv("START_ON_CREATE", "false")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    wiring.reset()
    clip = media_dir / "tone.mp4"
    record = (
        wiring.job_service()
        .create_job(
            CreateJob(
                tenant_id="acme",
                correlation_id="c-1",
                input=InputSpec(clip.name, clip.stat().st_size, "video/mp4"),
            )
        )
        .record
    )
    assert record.source_key is not None
    keys = JobKeys("test", record.tenant_id, record.job_id)
    wiring.storage().upload(keys, record.source_key, clip)
    wiring.job_service().start_job(record.tenant_id, record.job_id)
    return record.tenant_id, record.job_id


def next_queue_messages(aws: Template) -> list[dict[str, Any]]:
    url = aws.runtime_refs["TranscriptionQueue"]
    messages: list[dict[str, Any]] = (
        boto3.client("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        .get("Messages", [])
    )
    return messages


def test_a_step_handler_records_its_step_and_emits_the_next_event(
    aws: Template, pending_job: tuple[str, str]
) -> None:
    tenant, job_id = pending_job
    response = workers.step(sqs_event(job_created_body(tenant, job_id)), context())
    assert response == {"batchItemFailures": []}
    job = wiring.jobs().get(tenant, job_id)
    assert job is not None and job.status == "processing"
    assert job.steps["audio-extraction"].status == "completed"
    [message] = next_queue_messages(aws)
    assert json.loads(message["Body"])["detail-type"] == "AudioExtracted"


def test_a_duplicate_delivery_does_not_run_the_step_again(
    aws: Template, pending_job: tuple[str, str]
) -> None:
    tenant, job_id = pending_job
    event = sqs_event(job_created_body(tenant, job_id))
    workers.step(event, context())
    after_first = wiring.jobs().get(tenant, job_id)
    assert after_first is not None
    keys = JobKeys("test", tenant, job_id)
    manifest_after_first = wiring.storage().get(keys, keys.manifest)

    workers.step(event, context())

    after_second = wiring.jobs().get(tenant, job_id)
    assert after_second == after_first
    assert after_second is not None and after_second.steps["audio-extraction"].attempts == 1
    assert wiring.storage().get(keys, keys.manifest) == manifest_after_first


def test_an_invalid_record_is_dropped_and_the_rest_of_its_batch_processed(
    aws: Template, pending_job: tuple[str, str]
) -> None:
    tenant, job_id = pending_job
    event = sqs_event(job_created_body(tenant, job_id), "{not an event")
    response = workers.step(event, context())
    assert response["batchItemFailures"] == []  # never valid: a retry could only dead-letter it
    record = wiring.jobs().get(tenant, job_id)
    assert record is not None and record.steps["audio-extraction"].status == "completed"


def test_step_metrics_are_emitted(
    aws: Template, pending_job: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    tenant, job_id = pending_job
    workers.step(sqs_event(job_created_body(tenant, job_id)), context())
    documents = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    [duration] = [d for d in documents if "StepDuration" in d]
    assert (duration["step"], duration["outcome"]) == ("audio-extraction", "completed")
    assert duration["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "TalkAvocado"


def test_the_one_step_handler_serves_the_step_whose_queue_delivered(
    aws: Template, pending_job: tuple[str, str]
) -> None:
    tenant, job_id = pending_job
    # A JobCreated from the transcription queue is not transcription's to take.
    body = job_created_body(tenant, job_id)
    assert workers.step(sqs_event(body, queue="talkavocado-test-transcription"), context()) == {
        "batchItemFailures": []
    }
    job = wiring.jobs().get(tenant, job_id)
    assert job is not None and job.status == "pending"
    with pytest.raises(ConfigurationError, match="no pipeline step"):
        workers.step(sqs_event(body, queue="talkavocado-test-elsewhere"), context())
    assert workers.step({"Records": []}, context()) == {"batchItemFailures": []}
