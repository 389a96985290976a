"""template.yaml is the single source of truth for infrastructure; the code
must agree with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from talkavocado.adapters.dynamodb_jobs import BY_CREATED_AT_INDEX, BY_OPEN_INDEX, BY_STATUS_INDEX
from talkavocado.config import Settings
from talkavocado.domain.keys import ENVS
from talkavocado_local.invoke import load_handler
from talkavocado_local.template import Route, Template
from tests.conftest import TEMPLATE


@pytest.fixture
def template() -> Template:
    return Template.load(TEMPLATE, {"Env": "stage"}, "eu-west-1")


def test_env_parameter_allows_exactly_the_known_envs(template: Template) -> None:
    assert template.document["Parameters"]["Env"]["AllowedValues"] == list(ENVS)


def test_names_resolve_with_the_env(template: Template) -> None:
    tables = template.of_type("AWS::DynamoDB::Table")
    [bus] = template.of_type("AWS::Events::EventBus").values()
    assert tables["JobsTable"]["TableName"] == "talkavocado-stage-jobs"
    assert bus["Name"] == "talkavocado-stage"


def test_function_environment_matches_the_code_defaults(
    template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    [api] = [f for f in template.functions() if f.logical_id == "ApiFunction"]
    monkeypatch.setenv("TALKAVOCADO_ENV", "stage")
    for name in ("JOBS_TABLE", "EVENT_BUS_NAME", "START_ON_CREATE"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings.from_env()
    assert api.environment["JOBS_TABLE"] == defaults.jobs_table
    assert api.environment["EVENT_BUS_NAME"] == defaults.event_bus


def test_table_indexes_are_the_ones_the_repository_queries(template: Template) -> None:
    table = template.of_type("AWS::DynamoDB::Table")["JobsTable"]
    assert {k["AttributeName"] for k in table["KeySchema"]} == {"tenantId", "jobSort"}
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {BY_STATUS_INDEX, BY_CREATED_AT_INDEX, BY_OPEN_INDEX}
    sweep = indexes[BY_OPEN_INDEX]
    assert [k["AttributeName"] for k in sweep["KeySchema"]] == ["openShard", "updatedAt"]
    assert sweep["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_every_api_route_is_declared_behind_the_token_authorizer(template: Template) -> None:
    authorizer = "AuthorizerFunction"
    assert set(template.routes()) == {
        Route("POST", "/jobs", "ApiFunction", authorizer),
        Route("GET", "/jobs", "ApiFunction", authorizer),
        Route("GET", "/jobs/{jobId}", "ApiFunction", authorizer),
        Route("POST", "/jobs/{jobId}/start", "ApiFunction", authorizer),
        Route("POST", "/jobs/{jobId}/retry", "ApiFunction", authorizer),
        Route("POST", "/jobs/{jobId}/cancel", "ApiFunction", authorizer),
        Route("GET", "/jobs/{jobId}/history", "ApiFunction", authorizer),
        Route("POST", "/webhooks", "ApiFunction", authorizer),
        Route("GET", "/webhooks", "ApiFunction", authorizer),
        Route("DELETE", "/webhooks/{webhookId}", "ApiFunction", authorizer),
        Route("GET", "/webhooks/{webhookId}/deliveries", "ApiFunction", authorizer),
    }


def test_gateway_refusals_answer_in_the_api_error_shape(template: Template) -> None:
    responses = template.gateway_responses()
    statuses = {kind: response.status for kind, response in responses.items()}
    assert statuses == {"UNAUTHORIZED": 401, "ACCESS_DENIED": 403, "AUTHORIZER_FAILURE": 503}
    for response in responses.values():
        assert set(json.loads(response.body)["error"]) == {"code", "message", "details"}


def test_every_function_handler_imports(template: Template) -> None:
    for function in template.functions():
        assert callable(load_handler(function.handler))


def test_route_patterns_capture_path_parameters() -> None:
    match = Route("GET", "/jobs/{jobId}", "F").pattern.match("/jobs/abc")
    assert match is not None and match.groupdict() == {"jobId": "abc"}
    assert Route("GET", "/jobs/{jobId}", "F").pattern.match("/jobs/a/b") is None


def _evaluate(condition: Any, parameters: dict[str, str]) -> Any:
    """The intrinsics the template's rules use: Ref, Fn::Equals, Fn::Not."""
    if not isinstance(condition, dict):
        return condition
    ((name, argument),) = condition.items()
    if name == "Ref":
        return parameters[argument]
    if name == "Fn::Equals":
        left, right = (_evaluate(item, parameters) for item in argument)
        return left == right
    if name == "Fn::Not":
        return not _evaluate(argument[0], parameters)
    if name == "Fn::And":
        return all(_evaluate(item, parameters) for item in argument)
    raise NotImplementedError(name)


def _refused_by_rules(template: Template, **overrides: str) -> list[str]:
    parameters = {**template.parameters, **overrides}
    return [
        assertion["AssertDescription"]
        for rule in template.document["Rules"].values()
        if _evaluate(rule.get("RuleCondition", True), parameters)
        for assertion in rule["Assertions"]
        if not _evaluate(assertion["Assert"], parameters)
    ]


def test_prod_cannot_be_deployed_without_a_token_issuer_and_audience(template: Template) -> None:
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
    assert _refused_by_rules(template, Env="prod")
    assert _refused_by_rules(template, Env="prod", JwtIssuer=issuer)
    assert _refused_by_rules(template, Env="dev", JwtIssuer=issuer)
    assert not _refused_by_rules(template, Env="prod", JwtIssuer=issuer, JwtAudience="client")
    assert not _refused_by_rules(template, Env="dev", JwtIssuer=issuer, JwtAudience="client")


def test_no_stage_is_deployed_open_unless_it_says_so_and_never_prod(template: Template) -> None:
    assert template.parameters["AllowUnauthenticated"] == "false"
    for env in ("dev", "stage", "test", "prod"):
        assert _refused_by_rules(template, Env=env)  # no issuer, not explicitly open
    for env in ("dev", "stage", "test"):
        assert not _refused_by_rules(template, Env=env, AllowUnauthenticated="true")
    assert _refused_by_rules(template, Env="prod", AllowUnauthenticated="true")
    issuer = {"JwtIssuer": "https://issuer.example", "JwtAudience": "client"}
    assert _refused_by_rules(template, Env="prod", AllowUnauthenticated="true", **issuer)


def test_the_outputs_say_when_a_stage_is_open(template: Template) -> None:
    condition, open_text, secured = template.document["Outputs"]["ApiAccess"]["Value"]["Fn::If"]
    assert template.document["Conditions"][condition] == {"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}
    assert open_text.startswith("OPEN")
    assert "bearer tokens" in secured["Fn::Sub"]
    authorizer = template.document["Resources"]["AuthorizerFunction"]["Properties"]
    assert authorizer["Environment"]["Variables"]["ALLOW_UNAUTHENTICATED"] == {
        "Ref": "AllowUnauthenticated"
    }
