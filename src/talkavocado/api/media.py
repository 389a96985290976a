"""What a player or a review page reads of a job: the waveform's peaks, the
transcript, and short-lived links that play its input or its render. Every
key is the one the job's manifest records, read for the caller's own tenant;
a client never names a key."""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from talkavocado.api.models import MediaLinkResponse, Peaks, TranscriptDocument
from talkavocado.api.routing import TenantQuery, answers, json_response, services_of, tenant

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated


@router.get(
    "/jobs/<jobId>/peaks",
    summary="Read the waveform of a job's audio (BBC audiowaveform's JSON, version 2)",
    responses=answers(HTTPStatus.OK, Peaks),
)
def job_peaks(jobId: str, tenant_id: TenantQuery = None) -> Response[str]:
    document = services_of(router).queries.document(tenant(router, tenant_id), jobId, "peaks")
    return json_response(HTTPStatus.OK, document.decode())


@router.get(
    "/jobs/<jobId>/transcript",
    summary="Read a job's transcript: its segments and their timed words",
    responses=answers(HTTPStatus.OK, TranscriptDocument),
)
def job_transcript(jobId: str, tenant_id: TenantQuery = None) -> Response[str]:
    document = services_of(router).queries.document(tenant(router, tenant_id), jobId, "transcript")
    return json_response(HTTPStatus.OK, document.decode())


@router.get(
    "/jobs/<jobId>/media/<artifact>",
    summary="A short-lived link that plays a job's input (source) or render (render, preview)",
    responses=answers(HTTPStatus.OK, MediaLinkResponse),
)
def job_media(
    jobId: str,
    artifact: Literal["source", "render", "preview"],
    tenant_id: TenantQuery = None,
) -> Response[str]:
    link = services_of(router).queries.media_link(tenant(router, tenant_id), jobId, artifact)
    body = MediaLinkResponse(url=link.url, expires_in=link.expires_in)
    return json_response(HTTPStatus.OK, body.model_dump_json(by_alias=True))
