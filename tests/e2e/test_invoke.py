"""`talkavocado invoke` runs any function of template.yaml on its sample event
against the running local stack, as `sam local invoke -e` would with Docker;
`talkavocado env-vars` writes what `sam local --env-vars` takes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkavocado.codegen.sample_events import file_name
from talkavocado.domain.pipeline import PIPELINE
from talkavocado.local.cli import main
from talkavocado.local.template import Template
from tests.conftest import TEMPLATE
from tests.e2e.conftest import Stack

EVENTS = TEMPLATE.parent / "events"
FUNCTION_OF = {
    **{file_name(step): f"{step.resource_prefix}Function" for step in PIPELINE},
    "api_authorizer_request.json": "AuthorizerFunction",
    "sqs_dead_letter.json": "DeadLetterFunction",
    "sqs_input_stored.json": "InputStoredFunction",
    "scheduled_deadline_sweep.json": "DeadlineSweepFunction",
    "sqs_notifications.json": "NotificationsFunction",
}


def function_of(sample: str) -> str:
    return FUNCTION_OF.get(sample, "ApiFunction" if sample.startswith("api_") else "?")


def invoke(function: str, event: Path, capsys: pytest.CaptureFixture[str]) -> object:
    capsys.readouterr()
    assert main(["invoke", function, "--event", str(event)]) == 0
    return json.loads(capsys.readouterr().out)  # the response alone: logs go to stderr


@pytest.mark.parametrize("sample", sorted(p.name for p in EVENTS.glob("*.json")))
def test_every_sample_event_runs_through_its_function(
    stack: Stack, sample: str, capsys: pytest.CaptureFixture[str]
) -> None:
    function = function_of(sample)
    response = invoke(function, EVENTS / sample, capsys)
    assert isinstance(response, dict)
    if function == "ApiFunction":
        assert 200 <= response["statusCode"] < 500
        assert "error" in json.loads(response["body"]) or response["statusCode"] < 300
    elif function == "AuthorizerFunction":
        assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    elif function == "DeadlineSweepFunction":
        assert response["finished"] is True
    else:
        assert response == {"batchItemFailures": []}  # jobs it names do not exist: dropped


def test_an_invoked_create_is_visible_through_the_stacks_api(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = json.loads((EVENTS / "api_create_job.json").read_text())
    event["body"] = json.dumps({"tenantId": "tenant-invoked"})
    path = tmp_path / "create.json"
    path.write_text(json.dumps(event))
    response = invoke("ApiFunction", path, capsys)
    assert isinstance(response, dict) and response["statusCode"] == 201
    job_id = json.loads(response["body"])["jobId"]
    assert stack.request("GET", f"/jobs/{job_id}?tenantId=tenant-invoked").status == 200


def test_an_unknown_function_is_a_clear_error(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "NoSuchFunction", "--event", str(EVENTS / "api_get_job.json")]) == 2
    assert "no function 'NoSuchFunction'" in capsys.readouterr().err


def test_env_vars_point_every_function_at_the_local_stack(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "env.json"
    assert main(["env-vars", "--output", str(output)]) == 0
    document = json.loads(output.read_text())
    assert set(document) >= {"ApiFunction", "VideoRenderFunction", "DeadLetterFunction"}
    for environment in document.values():
        assert environment["AWS_ENDPOINT_URL"] == stack.runtime.endpoint
        assert environment["JOBS_TABLE"] == "talkavocado-test-jobs"
        assert environment["STORAGE_BACKEND"] == "s3"


def test_every_function_has_a_sample_event() -> None:
    template = Template.load(TEMPLATE, {"Env": "dev"}, "us-east-1")
    sampled = {function_of(path.name) for path in EVENTS.glob("*.json")}
    assert sampled == {function.logical_id for function in template.functions()}
