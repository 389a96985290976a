"""The pipeline order is declared once (talkavocado.domain.pipeline.PIPELINE);
template.yaml's rules, queues and functions must agree with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from talkavocado.domain.pipeline import DEAD_LETTER_HANDLER, PIPELINE, Step
from talkavocado.workers.batch import parse_event
from talkavocado.workers.dead_letter import step_of_dead_letter_queue
from talkavocado_local.template import Template
from tests.conftest import EVENTS_DIR, TEMPLATE

MAX_RECEIVE_COUNT_BOUND = 10


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE, {"Env": "dev"}, "us-east-1")


def resource(template: Template, logical_id: str, kind: str) -> dict[str, Any]:
    assert logical_id in template.resources, f"template.yaml has no {logical_id}"
    assert template.resources[logical_id]["Type"] == kind
    props: dict[str, Any] = template.resolve(template.resources[logical_id]["Properties"])
    return props


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_each_step_has_a_rule_for_the_event_it_consumes(template: Template, step: Step) -> None:
    rule = resource(template, f"{step.resource_prefix}Rule", "AWS::Events::Rule")
    assert rule["EventBusName"] == "talkavocado-dev"
    assert rule["EventPattern"] == {
        "source": ["talkavocado.pipeline"],
        "detail-type": [step.consumes],
    }
    assert [t["Arn"] for t in rule["Targets"]] == [template.arn(f"{step.resource_prefix}Queue")]
    assert "InputTransformer" not in rule["Targets"][0]


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_each_step_queue_has_a_bounded_redrive_to_its_dead_letter_queue(
    template: Template, step: Step
) -> None:
    queue = resource(template, f"{step.resource_prefix}Queue", "AWS::SQS::Queue")
    dlq = resource(template, f"{step.resource_prefix}DeadLetterQueue", "AWS::SQS::Queue")
    assert queue["QueueName"] == f"talkavocado-dev-{step.name}"
    assert dlq["QueueName"] == f"talkavocado-dev-{step.name}-dlq"
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == template.arn(f"{step.resource_prefix}DeadLetterQueue")
    assert 1 <= redrive["maxReceiveCount"] <= MAX_RECEIVE_COUNT_BOUND


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_each_queue_lets_only_its_rule_send(template: Template, step: Step) -> None:
    policy = resource(template, f"{step.resource_prefix}QueuePolicy", "AWS::SQS::QueuePolicy")
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == template.arn(
        f"{step.resource_prefix}Rule"
    )


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_each_step_function_consumes_its_queue_with_partial_batch_failures(
    template: Template, step: Step
) -> None:
    function = resource(template, f"{step.resource_prefix}Function", "AWS::Serverless::Function")
    assert function["Handler"] == step.handler
    [source] = function["Events"].values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == template.arn(f"{step.resource_prefix}Queue")
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_visibility_timeout_is_at_least_six_times_the_function_timeout(
    template: Template, step: Step
) -> None:
    queue = resource(template, f"{step.resource_prefix}Queue", "AWS::SQS::Queue")
    [function] = [
        f for f in template.functions() if f.logical_id == f"{step.resource_prefix}Function"
    ]
    assert queue["VisibilityTimeout"] >= 6 * function.timeout


def test_the_dead_letter_handler_consumes_every_dead_letter_queue(template: Template) -> None:
    function = resource(template, DEAD_LETTER_HANDLER, "AWS::Serverless::Function")
    queues = {e["Properties"]["Queue"] for e in function["Events"].values() if e["Type"] == "SQS"}
    assert queues == {template.arn(f"{s.resource_prefix}DeadLetterQueue") for s in PIPELINE}
    for event in function["Events"].values():
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


# The job lifecycle outside the steps: start on upload.
LIFECYCLE = {"InputStored", "Notifications"}


def test_no_queue_rule_or_worker_exists_outside_the_pipeline_and_its_lifecycle(
    template: Template,
) -> None:
    declared = {s.resource_prefix for s in PIPELINE} | LIFECYCLE
    for kind, suffixes in {
        "AWS::Events::Rule": ("Rule",),
        "AWS::SQS::Queue": ("DeadLetterQueue", "Queue"),
        "AWS::SQS::QueuePolicy": ("QueuePolicy",),
    }.items():
        for logical_id in template.of_type(kind):
            stem = next(logical_id.removesuffix(x) for x in suffixes if logical_id.endswith(x))
            assert stem in declared, f"{logical_id} is not a step of the pipeline"
    functions = {f.logical_id for f in template.functions()}
    others = {"ApiFunction", "AuthorizerFunction", DEAD_LETTER_HANDLER, "DeadlineSweepFunction"}
    assert functions == {f"{p}Function" for p in declared} | others


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_each_step_has_a_sample_sqs_event_of_what_it_consumes(step: Step) -> None:
    event = json.loads((EVENTS_DIR / f"sqs_{step.name.replace('-', '_')}.json").read_text())
    [record] = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(f":talkavocado-dev-{step.name}")
    assert parse_event(record["body"]).detail_type == step.consumes


def test_the_dead_letter_sample_comes_from_a_dead_letter_queue() -> None:
    [record] = json.loads((EVENTS_DIR / "sqs_dead_letter.json").read_text())["Records"]
    assert step_of_dead_letter_queue(record["eventSourceARN"]) == "transcription"
    parse_event(record["body"])


def test_an_input_stored_starts_its_job_through_the_default_bus(template: Template) -> None:
    rule = template.of_type("AWS::Events::Rule")["InputStoredRule"]
    assert "EventBusName" not in rule  # S3 sends its events to the default bus
    pattern = rule["EventPattern"]
    assert (pattern["source"], pattern["detail-type"]) == (["aws.s3"], ["Object Created"])
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "dev/*/*/input/source"}]
    assert [t["Arn"] for t in rule["Targets"]] == [template.arn("InputStoredQueue")]
    bucket = template.of_type("AWS::S3::Bucket")["MediaBucket"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }
