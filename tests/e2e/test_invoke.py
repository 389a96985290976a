"""`talkavocado invoke` runs any function of template.yaml on its sample event
against the running local stack, as `sam local invoke -e` would with Docker;
`talkavocado env-vars` writes what `sam local --env-vars` takes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talkavocado.codegen.sample_events import file_name
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import PIPELINE
from talkavocado_local.cli import main
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE
from tests.e2e.conftest import Stack, running_stack

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
    return invoke_noting(function, event, capsys)[0]


def invoke_noting(
    function: str, event: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str]:
    """The response, and what was said on stderr."""
    capsys.readouterr()
    assert main(["invoke", function, "--event", str(event)]) == 0
    printed = capsys.readouterr()
    return json.loads(printed.out), printed.err  # the response alone: logs go to stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack as `make up` runs it: env dev, the env the samples name."""
    with running_stack(tmp_path_factory, TALKAVOCADO_ENV="dev") as running:
        yield running


@pytest.fixture(autouse=True)
def _dev_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKAVOCADO_ENV", "dev")


def job_of(sample: str) -> tuple[str, str]:
    """The tenant and job a queue sample names."""
    [record] = json.loads((EVENTS / sample).read_text())["Records"]
    detail = json.loads(record["body"])["detail"]
    key = detail["object"]["key"] if "object" in detail else detail["manifestKey"]
    keys = JobKeys.owning(key)
    return keys.tenant_id, keys.job_id


STEP_OF = {file_name(step): step.name for step in PIPELINE}
# Samples whose job `invoke` makes: each has a test of its own, below.
SEEDED = {*STEP_OF, "sqs_input_stored.json", "sqs_dead_letter.json"}


@pytest.mark.parametrize(
    "sample", sorted(p.name for p in EVENTS.glob("*.json") if p.name not in SEEDED)
)
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
        assert response == {"batchItemFailures": []}


@pytest.mark.parametrize("sample", sorted(STEP_OF))
def test_a_step_sample_seeds_its_job_and_the_step_does_its_work(
    stack: Stack,
    sample: str,
    capsys: pytest.CaptureFixture[str],
    log_lines: list[dict[str, Any]],
) -> None:
    tenant, job_id = job_of(sample)
    path = f"/jobs/{job_id}?tenantId={tenant}"
    assert stack.request("GET", path).status == 404  # nothing yet: the invoke makes it
    response, notes = invoke_noting(function_of(sample), EVENTS / sample, capsys)
    assert response == {"batchItemFailures": []}
    assert f"seeded job {job_id} of tenant {tenant}" in notes
    job = stack.request("GET", path).body
    steps = [step.name for step in PIPELINE]
    done = steps[: steps.index(STEP_OF[sample]) + 1]
    assert [job["steps"][name]["status"] for name in done] == ["completed"] * len(done), job
    assert job["steps"][STEP_OF[sample]]["attempts"] == 1

    _, notes = invoke_noting(function_of(sample), EVENTS / sample, capsys)
    assert "seeded" not in notes  # again: a duplicate delivery, which changes nothing
    again = stack.request("GET", path).body
    assert again["steps"][STEP_OF[sample]] == job["steps"][STEP_OF[sample]]

    # Invoked or run by the stack's workers, each function has its template's memory.
    memory = {
        f.logical_id: f.memory_mb for f in Template.load(TEMPLATE, {}, "us-east-1").functions()
    }
    sizes = {
        (line["functionName"], line["functionMemorySize"])
        for line in log_lines
        if "functionName" in line  # not the seeding's own lines
    }
    assert (function_of(sample), memory[function_of(sample)]) in sizes
    assert all(size == memory[name] for name, size in sizes if name in memory), sizes


def test_the_input_stored_sample_starts_the_job_it_names(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = "sqs_input_stored.json"
    tenant, job_id = job_of(sample)
    assert invoke(function_of(sample), EVENTS / sample, capsys) == {"batchItemFailures": []}
    started = stack.wait_for_job(tenant, job_id, lambda job: job["status"] != "pending")
    assert started["status"] in ("processing", "completed"), started


def test_the_dead_letter_sample_fails_the_step_it_names(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = "sqs_dead_letter.json"
    tenant, job_id = job_of(sample)
    assert invoke(function_of(sample), EVENTS / sample, capsys) == {"batchItemFailures": []}
    job = stack.request("GET", f"/jobs/{job_id}?tenantId={tenant}").body
    assert job["status"] == "failed", job
    assert job["error"]["step"] == "transcription"


def test_the_create_sample_creates_a_new_job_each_time(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    created = []
    for _ in range(2):
        response = invoke("ApiFunction", EVENTS / "api_create_job.json", capsys)
        assert isinstance(response, dict) and response["statusCode"] == 201, response
        created.append(json.loads(response["body"])["jobId"])
    assert created[0] != created[1]


def test_the_front_invokes_the_api_with_its_template_memory_size(
    stack: Stack, log_lines: list[dict[str, Any]]
) -> None:
    template = Template.load(TEMPLATE, {"Env": "dev"}, "us-east-1")
    [api] = [function for function in template.functions() if function.logical_id == "ApiFunction"]
    stack.request("GET", "/jobs?tenantId=demo-tenant")
    # Only the API's lines: a step of an earlier test may still be logging.
    sizes = {
        line["functionMemorySize"]
        for line in log_lines
        if line.get("functionName") == "ApiFunction"
    }
    assert sizes == {api.memory_mb}


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
        assert environment["JOBS_TABLE"] == "talkavocado-dev-jobs"
        assert environment["STORAGE_BACKEND"] == "s3"


def test_every_function_has_a_sample_event() -> None:
    template = Template.load(TEMPLATE, {"Env": "dev"}, "us-east-1")
    sampled = {function_of(path.name) for path in EVENTS.glob("*.json")}
    assert sampled == {function.logical_id for function in template.functions()}
