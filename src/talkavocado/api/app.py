"""The job API: Powertools REST resolver with request validation and OpenAPI.

Routes parse, call one use case and shape the answer; the logic lives in
:mod:`talkavocado.services.job_service`, the error mapping in :mod:`talkavocado.api.errors`.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.api import errors
from talkavocado.api.body import check_body
from talkavocado.api.identity import tenant_of
from talkavocado.api.models import (
    CreateJobRequest,
    CreateJobResponse,
    DeliveryListResponse,
    ErrorResponse,
    HistoryResponse,
    JobListResponse,
    JobResponse,
    JobSummary,
    RegisteredWebhook,
    RegisterWebhookRequest,
    TenantId,
    Timestamp,
    WebhookListResponse,
    WebhookView,
)
from talkavocado.domain.errors import TalkAvocadoError
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.manifest import JobStatus
from talkavocado.services.job_queries import Listing
from talkavocado.services.job_service import CreateJob, InputSpec
from talkavocado.support.observability import (
    CORRELATION_HEADER,
    bind_work,
    correlation_id_from,
    current_correlation_id,
    logger,
    metrics,
)
from talkavocado.wiring import job_queries, job_service, settings, webhook_service

app = APIGatewayRestResolver(enable_validation=True)
errors.register(app)

_ERRORS: dict[int, Any] = {
    status: {
        "description": status.phrase,
        "content": {"application/json": {"model": ErrorResponse}},
    }
    for status in (
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.FORBIDDEN,
        HTTPStatus.NOT_FOUND,
        HTTPStatus.CONFLICT,
        HTTPStatus.GONE,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    )
}


def _answers(status: HTTPStatus, model: type[Any]) -> dict[int, Any]:
    """The OpenAPI responses of a route: its success, and the shared errors."""
    content = {"application/json": {"model": model}}
    return {status: {"description": status.phrase, "content": content}, **_ERRORS}


TenantQuery = Annotated[TenantId | None, Query(alias="tenantId")]


def _pointer(status: HTTPStatus, record: JobRecord) -> Response[str]:
    body = CreateJobResponse.of(record).model_dump_json(by_alias=True, exclude_none=True)
    return _json(status, body)


def _json(status: HTTPStatus, body: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers or {},
    )


@app.post(
    "/jobs",
    summary="Create a job",
    responses=_answers(HTTPStatus.CREATED, CreateJobResponse),
)
def create_job(request: CreateJobRequest) -> Response[str]:
    source = request.input
    created = job_service().create_job(
        CreateJob(
            tenant_id=_tenant(request.tenant_id),
            job_id=request.job_id,
            correlation_id=current_correlation_id(),
            input=InputSpec(source.original_filename, source.bytes, source.mime_type)
            if source
            else None,
        )
    )
    record = created.record
    location = f"/jobs/{record.job_id}?tenantId={record.tenant_id}"
    body = CreateJobResponse.of(record, created.upload).model_dump_json(
        by_alias=True, exclude_none=True
    )
    return _json(HTTPStatus.CREATED, body, {"Location": location})


@app.post(
    "/jobs/<job_id>/start",
    summary="Start a job once its input is uploaded",
    responses=_answers(HTTPStatus.ACCEPTED, CreateJobResponse),
)
def start_job(job_id: str, tenant_id: TenantQuery = None) -> Response[str]:
    return _pointer(HTTPStatus.ACCEPTED, job_service().start_job(_tenant(tenant_id), job_id))


@app.post(
    "/jobs/<job_id>/cancel",
    summary="Stop a pending or processing job",
    responses=_answers(HTTPStatus.OK, CreateJobResponse),
)
def cancel_job(job_id: str, tenant_id: TenantQuery = None) -> Response[str]:
    return _pointer(HTTPStatus.OK, job_service().cancel_job(_tenant(tenant_id), job_id))


@app.post(
    "/jobs/<job_id>/retry",
    summary="Run a failed job again from the step that failed (from=start: from its first)",
    responses=_answers(HTTPStatus.ACCEPTED, CreateJobResponse),
)
def retry_job(
    job_id: str,
    tenant_id: TenantQuery = None,
    start: Annotated[Literal["start"] | None, Query(alias="from")] = None,
) -> Response[str]:
    retried = job_service().retry_job(_tenant(tenant_id), job_id, from_start=start == "start")
    return _pointer(HTTPStatus.ACCEPTED, retried)


@app.get(
    "/jobs/<job_id>",
    summary="Read a job's status and artifacts",
    responses=_answers(HTTPStatus.OK, JobResponse),
)
def get_job(job_id: str, tenant_id: TenantQuery = None) -> Response[str]:
    view = job_queries().get_job(_tenant(tenant_id), job_id)
    return _json(HTTPStatus.OK, JobResponse.of(view).model_dump_json(by_alias=True))


@app.get(
    "/jobs",
    summary="List a tenant's jobs, newest first",
    responses=_answers(HTTPStatus.OK, JobListResponse),
)
def list_jobs(
    tenant_id: TenantQuery = None,
    status: Annotated[JobStatus | None, Query()] = None,
    created_after: Annotated[Timestamp | None, Query(alias="createdAfter")] = None,
    created_before: Annotated[Timestamp | None, Query(alias="createdBefore")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=4096)] = None,
) -> Response[str]:
    tenant_id = _tenant(tenant_id)
    listing = Listing(status, created_after, created_before, limit, next_token)
    records, token = job_queries().list_jobs(tenant_id, listing)
    body = JobListResponse(
        tenant_id=tenant_id,
        jobs=[JobSummary.model_validate(r.model_dump()) for r in records],
        next_token=token,
    )
    return _json(HTTPStatus.OK, body.model_dump_json(by_alias=True))


@app.get(
    "/jobs/<job_id>/history",
    summary="Read every transition of a job, oldest first",
    responses=_answers(HTTPStatus.OK, HistoryResponse),
)
def job_history(
    job_id: str,
    tenant_id: TenantQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=4096)] = None,
) -> Response[str]:
    tenant_id = _tenant(tenant_id)
    entries, token = job_queries().job_history(tenant_id, job_id, limit, next_token)
    body = HistoryResponse(tenant_id=tenant_id, job_id=job_id, history=entries, next_token=token)
    return _json(HTTPStatus.OK, body.model_dump_json(by_alias=True, exclude_none=True))


@app.post(
    "/webhooks",
    summary="Register a webhook for the tenant's job outcomes",
    responses=_answers(HTTPStatus.CREATED, RegisteredWebhook),
)
def register_webhook(request: RegisterWebhookRequest) -> Response[str]:
    webhook = webhook_service().register(
        _tenant(request.tenant_id), request.url, list(request.event_types)
    )
    body = RegisteredWebhook.model_validate(webhook.model_dump()).model_dump_json(by_alias=True)
    return _json(HTTPStatus.CREATED, body)


@app.get(
    "/webhooks",
    summary="List the tenant's webhooks",
    responses=_answers(HTTPStatus.OK, WebhookListResponse),
)
def list_webhooks(tenant_id: TenantQuery = None) -> Response[str]:
    tenant_id = _tenant(tenant_id)
    found = [
        WebhookView.model_validate(w.model_dump()) for w in webhook_service().of_tenant(tenant_id)
    ]
    body = WebhookListResponse(tenant_id=tenant_id, webhooks=found)
    return _json(HTTPStatus.OK, body.model_dump_json(by_alias=True))


@app.delete(
    "/webhooks/<webhook_id>",
    summary="Remove a webhook",
    responses={HTTPStatus.NO_CONTENT: {"description": "Removed"}, **_ERRORS},
)
def remove_webhook(webhook_id: str, tenant_id: TenantQuery = None) -> Response[str]:
    webhook_service().remove(_tenant(tenant_id), webhook_id)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.get(
    "/webhooks/<webhook_id>/deliveries",
    summary="Read a webhook's delivery attempts, newest first",
    responses=_answers(HTTPStatus.OK, DeliveryListResponse),
)
def webhook_deliveries(
    webhook_id: str,
    tenant_id: TenantQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=4096)] = None,
) -> Response[str]:
    tenant_id = _tenant(tenant_id)
    found, token = webhook_service().deliveries(tenant_id, webhook_id, limit, next_token)
    body = DeliveryListResponse(
        tenant_id=tenant_id, webhook_id=webhook_id, deliveries=found, next_token=token
    )
    return _json(HTTPStatus.OK, body.model_dump_json(by_alias=True, exclude_none=True))


def _tenant(requested: str | None) -> str:
    request_context = app.current_event.raw_event.get("requestContext") or {}
    return tenant_of(request_context, requested, settings().tenant_claim)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
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
