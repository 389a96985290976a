"""The job API: a Powertools REST resolver with request validation and
OpenAPI, its routes split by resource (:mod:`~talkavocado.api.jobs`,
:mod:`~talkavocado.api.webhooks`).

Routes parse, call one use case and shape the answer; the use cases are
handed in by the entry point, the error mapping is :mod:`talkavocado.api.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.api import errors, jobs, webhooks
from talkavocado.api.body import check_body
from talkavocado.api.routing import ApiServices, provide
from talkavocado.domain.errors import TalkAvocadoError
from talkavocado.support.observability import (
    CORRELATION_HEADER,
    bind_work,
    correlation_id_from,
    logger,
    metrics,
)

app = APIGatewayRestResolver(enable_validation=True)
errors.register(app)
app.include_router(jobs.router)
app.include_router(webhooks.router)


def handle(
    event: dict[str, Any], context: LambdaContext, services: Callable[[], ApiServices]
) -> dict[str, Any]:
    """Resolve one API Gateway proxy event. The correlation id is fixed before
    anything else so that every log line and every response carries it."""
    request = APIGatewayProxyEvent(event)
    correlation_id = correlation_id_from(
        request.headers.get(CORRELATION_HEADER), request.request_context.request_id
    )
    bind_work(correlation_id=correlation_id, step="api")
    started = time.perf_counter()
    try:
        check_body(request)
    except TalkAvocadoError as refused:
        response = _refused(refused)
    else:
        app.context.clear()
        provide(app, services)
        response = app.resolve(event, context)
    response.setdefault("multiValueHeaders", {})[CORRELATION_HEADER] = [correlation_id]
    _end_with_newline(response)
    status = int(response.get("statusCode") or 500)
    metrics.add_dimension(name="statusClass", value=f"{status // 100}xx")
    metrics.add_metric(name="ApiResponses", unit=MetricUnit.Count, value=1)
    logger.info(
        "request handled",
        extra={
            "method": request.http_method,
            "path": request.path,
            "status": response.get("statusCode"),
            "durationMs": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return response


def _end_with_newline(response: dict[str, Any]) -> None:
    """A JSON answer ends its line, as a terminal (curl) shows best; API
    Gateway passes the body through as it is."""
    body = response.get("body")
    text = isinstance(body, str) and not response.get("isBase64Encoded")
    if text and body and not body.endswith("\n"):
        response["body"] = body + "\n"


def _refused(error: TalkAvocadoError) -> dict[str, Any]:
    logger.info(
        "request refused", extra={"status": int(errors.status_of(error)), "code": error.code}
    )
    return {
        "statusCode": int(errors.status_of(error)),
        "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
        "body": errors.error_body(error.code, error.message),
        "isBase64Encoded": False,
    }
