"""What API Gateway does with a route's Lambda authorizer (REQUEST type)
before the route's function runs: invoke it with the request, then let the
request through with the policy's context, or refuse it with the API's
gateway response."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talkavocado_local.invoke import REGION, LocalContext
from talkavocado_local.template import ACCOUNT_ID, GatewayResponse

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
log = logging.getLogger(__name__)

# API Gateway's answers where the template does not customise them.
DEFAULT_RESPONSES = {
    "UNAUTHORIZED": GatewayResponse(401, '{"message": "Unauthorized"}'),
    "ACCESS_DENIED": GatewayResponse(
        403, '{"message": "User is not authorized to access this resource"}'
    ),
    "AUTHORIZER_FAILURE": GatewayResponse(500, '{"message": null}'),
    "AUTHORIZER_CONFIGURATION_ERROR": GatewayResponse(500, '{"message": null}'),
}


@dataclass(frozen=True)
class Decision:
    """``refusal`` names the gateway response; otherwise ``context`` becomes
    the request's ``requestContext.authorizer``."""

    context: dict[str, Any]
    refusal: str | None = None


def authorize(
    handler: Handler,
    function: str,
    proxy_event: dict[str, Any],
    context: LocalContext | None = None,
) -> Decision:
    request = proxy_event["requestContext"]
    method_arn = (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{request['apiId']}/{request['stage']}"
        f"/{proxy_event['httpMethod']}{proxy_event['path']}"
    )
    event = {
        "type": "REQUEST",
        "methodArn": method_arn,
        **{
            key: proxy_event[key]
            for key in (
                *("resource", "path", "httpMethod", "headers", "multiValueHeaders"),
                *("queryStringParameters", "multiValueQueryStringParameters"),
                *("pathParameters", "stageVariables", "requestContext"),
            )
        },
    }
    try:
        result = handler(event, context or LocalContext.for_function(function))
    except Exception as error:
        if str(error) == "Unauthorized":
            return Decision({}, "UNAUTHORIZED")
        log.warning("authorizer %s failed: %s", function, error)
        return Decision({}, "AUTHORIZER_FAILURE")
    try:
        statements = result["policyDocument"]["Statement"]
        principal = result["principalId"]
    except (KeyError, TypeError):
        log.warning("authorizer %s returned no policy", function)
        return Decision({}, "AUTHORIZER_CONFIGURATION_ERROR")
    effects = {
        statement.get("Effect")
        for statement in statements
        if any(
            fnmatch.fnmatchcase(method_arn, resource)
            for resource in _as_list(statement.get("Resource"))
        )
    }
    if "Deny" in effects or "Allow" not in effects:
        return Decision({}, "ACCESS_DENIED")
    return Decision({**(result.get("context") or {}), "principalId": principal})


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])
