"""The review page of a job (``GET /review/{jobId}``) and its scripts, served
by the API itself so that it works alike on the local stack and a deployed
one. The page holds no data: it asks the job routes for it, as any client
does, with the caller's tenant and token, so it needs no authorizer of its
own. It runs under a strict Content-Security-Policy: scripts and styles from
this API only (the waveform library's one style element by a nonce of the
response), media from this API or the storage's signed links, nothing else."""

from __future__ import annotations

import secrets
from functools import cache
from http import HTTPStatus
from importlib.resources import files
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from talkavocado.api.routing import ERRORS, services_of
from talkavocado.domain.keys import parse_job_id
from talkavocado.errors import AssetNotFound

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated

NONCE_MARK = "__STYLE_NONCE__"
# What /review/assets/{name} serves: these names only, never a path.
ASSETS: dict[str, tuple[str, str]] = {
    "review.js": ("review.js", "text/javascript; charset=utf-8"),
    "review.css": ("review.css", "text/css; charset=utf-8"),
    "wavesurfer.esm.js": ("vendor/wavesurfer.esm.js", "text/javascript; charset=utf-8"),
    "regions.esm.js": ("vendor/regions.esm.js", "text/javascript; charset=utf-8"),
    "LICENSE.wavesurfer.js": ("vendor/LICENSE.wavesurfer.js", "text/plain; charset=utf-8"),
}
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@cache
def _static(name: str) -> str:
    return (files("talkavocado.api") / "static" / name).read_text(encoding="utf-8")


def content_security_policy(nonce: str, media_origin: str | None) -> str:
    media = " ".join(["'self'", "blob:", *([media_origin] if media_origin else [])])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            f"media-src {media}",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _text(content_type: str) -> dict[int, Any]:
    return {
        HTTPStatus.OK: {"description": "OK", "content": {content_type: {}}},
        HTTPStatus.BAD_REQUEST: ERRORS[HTTPStatus.BAD_REQUEST],
        HTTPStatus.NOT_FOUND: ERRORS[HTTPStatus.NOT_FOUND],
    }


@router.get(
    "/review/<jobId>",
    summary="The review page of a job (no token: the page asks for the job's data with yours)",
    responses=_text("text/html"),
    security=[{}],
)
def review_page(jobId: str) -> Response[str]:
    parse_job_id(jobId)
    nonce = secrets.token_urlsafe(16)
    media_origin = services_of(router).media_origin()
    headers = {
        **_COMMON,
        "Content-Security-Policy": content_security_policy(nonce, media_origin),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
    body = _static("review.html").replace(NONCE_MARK, nonce)
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", body, headers)


@router.get(
    "/review/assets/<name>",
    summary="A script or style sheet of the review page",
    responses=_text("text/javascript"),
    security=[{}],
)
def review_asset(name: str) -> Response[str]:
    if name not in ASSETS:
        raise AssetNotFound("no such asset", name=name[:100])
    path, content_type = ASSETS[name]
    headers = {**_COMMON, "Cache-Control": "public, max-age=300"}
    return Response(HTTPStatus.OK, content_type, _static(path), headers)
