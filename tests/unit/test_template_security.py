"""template.yaml grants each function only what its code does, keeps its logs
and alarms under a key the services may use, and lets only the pipeline's own
functions announce pipeline events."""

from __future__ import annotations

from typing import Any

import pytest

from talkavocado.domain.pipeline import PIPELINE, Step
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE

JOBS = ["dynamodb:GetItem", "dynamodb:PutItem"]  # read, then compare-and-swap put
PUBLISH = ["events:PutEvents"]
RETRY_DELAY = ["sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"]
MISSING_IS_404 = ["s3:ListBucket"]
MANIFEST = "manifest.json"


def reads_writes(reads: list[str], writes: list[str]) -> dict[str, list[str]]:
    return {"s3:GetObject": reads, "s3:PutObject": writes}


STEP = {*JOBS, *PUBLISH, *RETRY_DELAY, *MISSING_IS_404}  # every step's runner


# What each function's code calls, and on which objects of its job ({env}/*/...).
NEEDED: dict[str, dict[str, Any]] = {
    "ApiFunction": {
        # Webhooks: registered and removed with their per-tenant count, in one transaction.
        "actions": {
            *JOBS,
            "dynamodb:Query",
            "dynamodb:BatchGetItem",  # a listing's records, by the keys an index gave
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            *PUBLISH,
            *MISSING_IS_404,
        },
        # The input's key: checked on start, and signed into its upload policy;
        # the documents a review page reads and the media its links play; plans
        # read and their edits written; the render's captions exported.
        "objects": reads_writes(
            [
                MANIFEST,
                "input/source",
                "audio/peaks.json",
                "transcripts/transcript.json",
                "plan/*",
                "renders/*",
                "captions/*",
            ],
            [MANIFEST, "input/source", "plan/*"],
        ),
    },
    "AuthorizerFunction": {"actions": set(), "objects": {}},
    "AudioExtractionFunction": {
        "actions": STEP,
        "objects": {
            **reads_writes([MANIFEST, "input/source"], [MANIFEST, "audio/*"]),
            "s3:GetObjectVersion": ["input/source"],  # the input as it was at start
        },
    },
    "TranscriptionFunction": {
        "actions": STEP,
        "objects": reads_writes([MANIFEST, "audio/*.wav"], [MANIFEST, "transcripts/*"]),
    },
    "SmartCutPlannerFunction": {
        "actions": STEP,
        "objects": reads_writes([MANIFEST, "audio/*.wav", "transcripts/*"], [MANIFEST, "plan/*"]),
    },
    "VideoRenderFunction": {
        "actions": STEP,
        "objects": {
            **reads_writes(
                [MANIFEST, "input/source", "plan/*", "transcripts/*"],
                [MANIFEST, "renders/*", "captions/*"],
            ),
            "s3:GetObjectVersion": ["input/source"],
        },
    },
    "JobFinalizerFunction": {
        "actions": STEP,
        "objects": reads_writes([MANIFEST], [MANIFEST]),
    },
    "InputStoredFunction": {
        "actions": {*JOBS, *PUBLISH, *RETRY_DELAY, *MISSING_IS_404},
        "objects": {"s3:GetObject": ["input/source"]},  # its version, pinned at the start
    },
    "DeadLetterFunction": {
        "actions": {*JOBS, *PUBLISH, *RETRY_DELAY, *MISSING_IS_404},
        "objects": reads_writes([MANIFEST], [MANIFEST]),
    },
    "NotificationsFunction": {
        "actions": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "sqs:SendMessage",
            *RETRY_DELAY,
            *MISSING_IS_404,
        },
        # What a notice signs is built from the job's record and manifest.
        "objects": {"s3:GetObject": [MANIFEST]},
    },
    "DeadlineSweepFunction": {
        # Query on the byOpen index only; the step queues' settings are its budgets.
        "actions": {
            *JOBS,
            "dynamodb:Query",
            *PUBLISH,
            *MISSING_IS_404,
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
        },
        "objects": reads_writes([MANIFEST], [MANIFEST]),
    },
}


def _declared_since(step: Step) -> dict[str, Any]:
    """A step added after this table was written: what its declared needs say."""
    needs = step.needs
    objects = reads_writes([MANIFEST, *needs.reads], [MANIFEST, *needs.writes])
    return {"actions": STEP, "objects": objects}


NEEDED |= {
    f"{step.resource_prefix}Function": _declared_since(step)
    for step in PIPELINE
    if f"{step.resource_prefix}Function" not in NEEDED
}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE, {"Env": "stage"}, "eu-west-1")


def statements(template: Template, function: str) -> list[dict[str, Any]]:
    properties = template.resolve(template.resources[function]["Properties"])
    found = []
    for policy in properties.get("Policies", []):
        assert set(policy) == {"Statement"}, f"{function}: a policy template ({set(policy)})"
        found.extend(policy["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_function_is_listed() -> None:
    functions = Template.load(TEMPLATE, {"Env": "stage"}, "eu-west-1").functions()
    assert {function.logical_id for function in functions} == set(NEEDED)


@pytest.mark.parametrize("function", NEEDED)
def test_a_function_holds_exactly_the_actions_its_code_uses(
    template: Template, function: str
) -> None:
    granted: set[str] = set()
    objects: dict[str, list[str]] = {}
    prefix = "arn:aws:s3:::talkavocado-stage-media-123456789012/stage/*/"
    for statement in statements(template, function):
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        assert not any("*" in action for action in actions), actions
        resources = as_list(statement["Resource"])
        assert "*" not in resources
        s3_objects = [r for r in resources if r.startswith(prefix)]
        for action in actions:
            if s3_objects:
                objects.setdefault(action, []).extend(r[len(prefix) :] for r in s3_objects)
            else:
                granted.add(action)
    assert granted == NEEDED[function]["actions"]
    assert objects == NEEDED[function]["objects"]


@pytest.mark.parametrize("function", NEEDED)
def test_the_jobs_table_is_never_scanned_or_deleted_from(template: Template, function: str) -> None:
    jobs_table = template.arn("JobsTable")
    for statement in statements(template, function):
        if any(r.startswith(jobs_table) for r in as_list(statement["Resource"])):
            assert not {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} & set(
                as_list(statement["Action"])
            )


def test_listing_is_limited_to_the_stack_env(template: Template) -> None:
    for function in NEEDED:
        for statement in statements(template, function):
            if "s3:ListBucket" in as_list(statement["Action"]):
                assert statement["Condition"] == {"StringLike": {"s3:prefix": "stage/*"}}


def test_the_alarm_topic_uses_a_key_whose_policy_lets_cloudwatch_publish(
    template: Template,
) -> None:
    topic = template.resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "OperationsKey"}
    key = template.resources["OperationsKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    grants = {
        str(statement["Principal"].get("Service")): set(as_list(statement["Action"]))
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
    }
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= grants["cloudwatch.amazonaws.com"]


def test_every_function_logs_to_its_own_encrypted_group_with_a_retention(
    template: Template,
) -> None:
    groups = [r for r in template.resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    for function in NEEDED:
        properties = template.resources[function]["Properties"]
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert template.resources[group]["Properties"]["RetentionInDays"] == {
            "Ref": "LogRetentionDays"
        }
        assert "KmsKeyId" in template.resources[group]["Properties"]
    assert len(groups) == len(NEEDED) + 1  # and the API's access log


def test_the_api_writes_json_access_logs_with_the_correlation_id(template: Template) -> None:
    api = template.resources["JobsApi"]["Properties"]
    setting = api["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    fields = setting["Format"]
    assert '"correlationId":"$context.authorizer.correlationId"' in fields
    assert '"requestId":"$context.requestId"' in fields


def test_only_the_stacks_functions_may_put_pipeline_events(template: Template) -> None:
    policy = template.resources["PipelineEventsOnlyFromThePipeline"]
    assert policy["Type"] == "AWS::Events::EventBusPolicy"
    statement = policy["Properties"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "events:PutEvents",
    )
    condition = statement["Condition"]
    assert condition["ForAnyValue:StringEquals"] == {"events:source": "talkavocado.pipeline"}
    allowed = {arn["Fn::GetAtt"][0] for arn in condition["ArnNotEquals"]["aws:PrincipalArn"]}
    publishers = {f"{step.resource_prefix}FunctionRole" for step in PIPELINE}
    lifecycle = {
        "ApiFunctionRole",
        "DeadLetterFunctionRole",
        "InputStoredFunctionRole",
        "DeadlineSweepFunctionRole",
    }
    assert allowed == publishers | lifecycle


def test_only_the_deadline_sweep_reads_across_tenants_and_only_through_its_index(
    template: Template,
) -> None:
    open_index = template.arn("JobsTable") + "/index/byOpen"
    for function in NEEDED:
        for statement in statements(template, function):
            if open_index in as_list(statement["Resource"]):
                assert function == "DeadlineSweepFunction"
                assert as_list(statement["Action"]) == ["dynamodb:Query"]
