"""The job routes: create, start, cancel, retry, read, list and history.

Path parameters keep template.yaml's names (``jobId``): the OpenAPI document
and the deployed routes name them alike."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from talkavocado.api.models import (
    CreateJobRequest,
    CreateJobResponse,
    HistoryResponse,
    JobListResponse,
    JobResponse,
    JobSummary,
    Timestamp,
)
from talkavocado.api.routing import (
    PageLimit,
    PageToken,
    TenantQuery,
    answers,
    json_response,
    pointer,
    services_of,
    tenant,
)
from talkavocado.domain.manifest import JobStatus
from talkavocado.services.job_queries import Listing
from talkavocado.services.job_service import CreateJob, InputSpec
from talkavocado.support.observability import current_correlation_id

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated


@router.post(
    "/jobs",
    summary="Create a job",
    responses=answers(HTTPStatus.CREATED, CreateJobResponse),
)
def create_job(request: CreateJobRequest) -> Response[str]:
    source = request.input
    created = services_of(router).jobs.create_job(
        CreateJob(
            tenant_id=tenant(router, request.tenant_id),
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
    return json_response(HTTPStatus.CREATED, body, {"Location": location})


@router.post(
    "/jobs/<jobId>/start",
    summary="Start a job once its input is uploaded",
    responses=answers(HTTPStatus.ACCEPTED, CreateJobResponse),
)
def start_job(jobId: str, tenant_id: TenantQuery = None) -> Response[str]:
    return pointer(
        HTTPStatus.ACCEPTED, services_of(router).jobs.start_job(tenant(router, tenant_id), jobId)
    )


@router.post(
    "/jobs/<jobId>/cancel",
    summary="Stop a pending or processing job",
    responses=answers(HTTPStatus.OK, CreateJobResponse),
)
def cancel_job(jobId: str, tenant_id: TenantQuery = None) -> Response[str]:
    return pointer(
        HTTPStatus.OK, services_of(router).jobs.cancel_job(tenant(router, tenant_id), jobId)
    )


@router.post(
    "/jobs/<jobId>/retry",
    summary="Run a failed job again from the step that failed (from=start: from its first)",
    responses=answers(HTTPStatus.ACCEPTED, CreateJobResponse),
)
def retry_job(
    jobId: str,
    tenant_id: TenantQuery = None,
    start: Annotated[Literal["start"] | None, Query(alias="from")] = None,
) -> Response[str]:
    retried = services_of(router).jobs.retry_job(
        tenant(router, tenant_id), jobId, from_start=start == "start"
    )
    return pointer(HTTPStatus.ACCEPTED, retried)


@router.get(
    "/jobs/<jobId>",
    summary="Read a job's status and artifacts",
    responses=answers(HTTPStatus.OK, JobResponse),
)
def get_job(jobId: str, tenant_id: TenantQuery = None) -> Response[str]:
    view = services_of(router).queries.get_job(tenant(router, tenant_id), jobId)
    return json_response(HTTPStatus.OK, JobResponse.of(view).model_dump_json(by_alias=True))


@router.get(
    "/jobs",
    summary="List a tenant's jobs, newest first",
    responses=answers(HTTPStatus.OK, JobListResponse),
)
def list_jobs(
    tenant_id: TenantQuery = None,
    status: Annotated[JobStatus | None, Query()] = None,
    created_after: Annotated[Timestamp | None, Query(alias="createdAfter")] = None,
    created_before: Annotated[Timestamp | None, Query(alias="createdBefore")] = None,
    limit: PageLimit = 50,
    next_token: PageToken = None,
) -> Response[str]:
    tenant_id = tenant(router, tenant_id)
    listing = Listing(status, created_after, created_before, limit, next_token)
    records, token = services_of(router).queries.list_jobs(tenant_id, listing)
    body = JobListResponse(
        tenant_id=tenant_id,
        jobs=[JobSummary.model_validate(r.model_dump()) for r in records],
        next_token=token,
    )
    return json_response(HTTPStatus.OK, body.model_dump_json(by_alias=True))


@router.get(
    "/jobs/<jobId>/history",
    summary="Read every transition of a job, oldest first",
    responses=answers(HTTPStatus.OK, HistoryResponse),
)
def job_history(
    jobId: str,
    tenant_id: TenantQuery = None,
    limit: PageLimit = 50,
    next_token: PageToken = None,
) -> Response[str]:
    tenant_id = tenant(router, tenant_id)
    entries, token = services_of(router).queries.job_history(tenant_id, jobId, limit, next_token)
    body = HistoryResponse(tenant_id=tenant_id, job_id=jobId, history=entries, next_token=token)
    return json_response(HTTPStatus.OK, body.model_dump_json(by_alias=True, exclude_none=True))
