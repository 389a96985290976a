"""Reads template.yaml, the single source of truth for infrastructure, and
resolves the intrinsic functions the local runtime needs (Ref, Sub, GetAtt,
Join) against its parameters and the emulator's account and region."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
_SHORT_TAGS = [
    *("Ref", "Sub", "GetAtt", "Join", "If", "Equals", "Not", "And", "Or", "Select"),
    *("Split", "FindInMap", "Condition", "ImportValue", "GetAZs", "Base64"),
]
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long form."""


def _construct(tag: str) -> Any:
    long_name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {long_name: value}

    return construct


for _tag in _SHORT_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    # The Lambda authorizer API Gateway runs first (its function's logical id).
    authorizer: str | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    body: str


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, str]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


class Template:
    def __init__(self, document: dict[str, Any], parameters: dict[str, str], region: str) -> None:
        self.document = document
        self.region = region
        self.resources: dict[str, dict[str, Any]] = document.get("Resources", {})
        declared = document.get("Parameters", {})
        self.parameters = {
            name: str(parameters.get(name, spec.get("Default", "")))
            for name, spec in declared.items()
        }
        # Values only known once a resource exists, e.g. a queue's URL (its Ref)
        # and ARN (its GetAtt Arn), which depend on the emulator's account.
        self.runtime_refs: dict[str, str] = {}
        self.runtime_arns: dict[str, str] = {}

    @classmethod
    def load(cls, path: Path, parameters: dict[str, str], region: str) -> Template:
        document = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
        return cls(document, parameters, region)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: self.resolve(resource.get("Properties", {}))
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        properties = resource.get("Properties", {})
        name_property = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Events::EventBus": "Name",
            "AWS::Events::Rule": "Name",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Logs::LogGroup": "LogGroupName",
        }.get(resource["Type"])
        if name_property and name_property in properties:
            return str(self.resolve(properties[name_property]))
        return logical_id

    def arn(self, logical_id: str) -> str:
        if logical_id in self.runtime_arns:
            return self.runtime_arns[logical_id]
        service = {
            "AWS::DynamoDB::Table": ("dynamodb", "table/"),
            "AWS::Events::EventBus": ("events", "event-bus/"),
            "AWS::Events::Rule": ("events", "rule/"),
            "AWS::SQS::Queue": ("sqs", ""),
            "AWS::Serverless::Function": ("lambda", "function:"),
            "AWS::S3::Bucket": ("s3", ""),
            "AWS::Logs::LogGroup": ("logs", "log-group:"),
        }[self.resources[logical_id]["Type"]]
        name = self.physical_name(logical_id)
        if service[0] == "s3":  # bucket ARNs name no region or account
            return f"arn:aws:s3:::{name}"
        return f"arn:aws:{service[0]}:{self.region}:{ACCOUNT_ID}:{service[1]}{name}"

    def ref(self, name: str) -> str:
        if name == "AWS::Region":
            return self.region
        if name == "AWS::AccountId":
            return ACCOUNT_ID
        if name in self.parameters:
            return self.parameters[name]
        if name in self.runtime_refs:
            return self.runtime_refs[name]
        return self.physical_name(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument
                if attribute in ("Arn", "QueueArn"):
                    return self.arn(logical_id)
                if attribute == "QueueName" or attribute == "Name":
                    return self.physical_name(logical_id)
                raise NotImplementedError(f"GetAtt {logical_id}.{attribute}")
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = self.resolve(variables)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self.resolve({"Fn::GetAtt": name.split(".", 1)}))
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)

    def functions(self) -> list[FunctionSpec]:
        function_globals = self.document.get("Globals", {}).get("Function", {})
        global_env = function_globals.get("Environment", {}).get("Variables", {})
        specs = []
        for logical_id, props in self.of_type("AWS::Serverless::Function").items():
            env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
            specs.append(
                FunctionSpec(
                    logical_id=logical_id,
                    handler=props["Handler"],
                    timeout=int(props.get("Timeout", function_globals.get("Timeout", 3))),
                    memory_mb=int(props.get("MemorySize", function_globals.get("MemorySize", 128))),
                    environment={k: str(v) for k, v in self.resolve(env).items()},
                    events=props.get("Events", {}),
                )
            )
        return specs

    def routes(self) -> list[Route]:
        return [
            Route(
                method=event["Properties"]["Method"].upper(),
                path=event["Properties"]["Path"],
                function=function.logical_id,
                authorizer=self._authorizer_of(event["Properties"]),
            )
            for function in self.functions()
            for event in function.events.values()
            if event.get("Type") == "Api"
        ]

    def _authorizer_of(self, route: dict[str, Any]) -> str | None:
        """The function of the route's Lambda authorizer: the event's own
        ``Auth.Authorizer`` or its API's ``DefaultAuthorizer`` (NONE: none)."""
        # Resolved, a Ref to the API is its logical id (its stage has no other name).
        api = self.resources.get(str(route.get("RestApiId", "")), {})
        auth = api.get("Properties", {}).get("Auth", {})  # unresolved: GetAtt names the function
        name = route.get("Auth", {}).get("Authorizer") or auth.get("DefaultAuthorizer")
        if not name or name == "NONE":
            return None
        function_arn = auth.get("Authorizers", {})[name].get("FunctionArn", {})
        if "Fn::GetAtt" not in function_arn:
            raise NotImplementedError(f"authorizer {name} is not a function of this template")
        return str(function_arn["Fn::GetAtt"][0])

    def gateway_responses(self) -> dict[str, GatewayResponse]:
        """The APIs' customised refusals (UNAUTHORIZED, ACCESS_DENIED, ...)."""
        responses = {}
        for api in self.of_type("AWS::Serverless::Api").values():
            for kind, spec in api.get("GatewayResponses", {}).items():
                templates = spec.get("ResponseTemplates", {})
                responses[kind] = GatewayResponse(
                    int(spec["StatusCode"]), templates.get("application/json", "")
                )
        return responses
