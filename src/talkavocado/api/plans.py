"""The plan routes: read a job's plan, replace it, approve it, and export it
as an editor's timeline (or the render's captions).

Path parameters keep template.yaml's names (``jobId``, ``format``)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from talkavocado.api.models import EditPlanRequest, PlanAccepted, PlanResponse
from talkavocado.api.routing import (
    ERRORS,
    TenantQuery,
    answers,
    json_response,
    services_of,
    tenant,
)

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated

ExportFormat = Literal["fcpxml", "xml", "edl", "otio", "srt", "vtt"]

EXPORT_ANSWERS: dict[int, Any] = {
    HTTPStatus.OK: {
        "description": "The file, named in Content-Disposition",
        "content": {
            media_type: {"schema": {"type": "string"}}
            for media_type in (
                "application/xml",
                "text/plain",
                "application/json",
                "application/x-subrip",
                "text/vtt",
            )
        },
    },
    **ERRORS,
}


def _accepted(record: Any) -> Response[str]:
    body = PlanAccepted.of(record).model_dump_json(by_alias=True)
    return json_response(HTTPStatus.ACCEPTED, body)


@router.get(
    "/jobs/<jobId>/plan",
    summary="Read the job's plan, frame-snapped as the render cuts it",
    responses=answers(HTTPStatus.OK, PlanResponse),
)
def get_plan(jobId: str, tenant_id: TenantQuery = None) -> Response[str]:
    view = services_of(router).plans.current_plan(tenant(router, tenant_id), jobId)
    return json_response(HTTPStatus.OK, PlanResponse.of(view).model_dump_json(by_alias=True))


@router.put(
    "/jobs/<jobId>/plan",
    summary="Replace the job's plan and render it (a finished job: as a new run)",
    responses=answers(HTTPStatus.ACCEPTED, PlanAccepted),
)
def replace_plan(
    jobId: str, request: EditPlanRequest, tenant_id: TenantQuery = None
) -> Response[str]:
    record = services_of(router).plans.replace_plan(
        tenant(router, tenant_id), jobId, request.to_segments()
    )
    return _accepted(record)


@router.post(
    "/jobs/<jobId>/plan/approve",
    summary="Render the plan awaiting review as it stands",
    responses=answers(HTTPStatus.ACCEPTED, PlanAccepted),
)
def approve_plan(jobId: str, tenant_id: TenantQuery = None) -> Response[str]:
    return _accepted(services_of(router).plans.approve(tenant(router, tenant_id), jobId))


@router.get(
    "/jobs/<jobId>/exports/<format>",
    summary="The plan as an editor's timeline (fcpxml, xml, edl, otio) or the cut's captions",
    responses=EXPORT_ANSWERS,
)
def export_plan(jobId: str, format: ExportFormat, tenant_id: TenantQuery = None) -> Response[str]:
    export = services_of(router).plans.export(tenant(router, tenant_id), jobId, format)
    return Response(
        status_code=HTTPStatus.OK,
        content_type=export.media_type,
        body=export.body.decode(),
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
