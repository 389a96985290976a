"""The one place that maps exceptions to HTTP responses.

Every error body is ``{"error": {"code", "message", "details"},
"correlationId"}``. No stack trace or internal message reaches a client."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from talkavocado.api.models import ErrorDetail, ErrorResponse
from talkavocado.domain.errors import (
    ConcurrentUpdate,
    ConfigurationError,
    DependencyUnavailable,
    InputNotUploaded,
    InvalidTransition,
    JobAlreadyExists,
    JobDataMissing,
    JobNotFound,
    PayloadTooLarge,
    TalkAvocadoError,
    TenantMismatch,
    UnsupportedMediaType,
    ValidationFailed,
    WebhookLimitReached,
    WebhookNotFound,
)
from talkavocado.support.observability import current_correlation_id, logger

STATUS_BY_ERROR: dict[type[TalkAvocadoError], HTTPStatus] = {
    ValidationFailed: HTTPStatus.BAD_REQUEST,
    JobNotFound: HTTPStatus.NOT_FOUND,
    WebhookNotFound: HTTPStatus.NOT_FOUND,
    WebhookLimitReached: HTTPStatus.CONFLICT,
    TenantMismatch: HTTPStatus.FORBIDDEN,
    JobAlreadyExists: HTTPStatus.CONFLICT,
    InvalidTransition: HTTPStatus.CONFLICT,
    InputNotUploaded: HTTPStatus.CONFLICT,
    ConcurrentUpdate: HTTPStatus.CONFLICT,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    JobDataMissing: HTTPStatus.GONE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    DependencyUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


# The codes of refusals made before any function runs (the local front's own:
# no such route, an unreadable request, an upload its policy does not allow),
# in the same words as the errors above.
CODE_BY_STATUS: dict[HTTPStatus, str] = {
    HTTPStatus.BAD_REQUEST: ValidationFailed.code,
    HTTPStatus.FORBIDDEN: TenantMismatch.code,
    HTTPStatus.NOT_FOUND: JobNotFound.code,
    HTTPStatus.METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
    HTTPStatus.CONFLICT: JobAlreadyExists.code,
    HTTPStatus.LENGTH_REQUIRED: "LENGTH_REQUIRED",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: PayloadTooLarge.code,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaType.code,
}


def code_of(status: HTTPStatus) -> str:
    """The error code of a refusal that only has its status."""
    return CODE_BY_STATUS.get(status, TalkAvocadoError.code)


def status_of(error: TalkAvocadoError) -> HTTPStatus:
    for error_type in type(error).__mro__:
        if error_type in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[error_type]
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_body(
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> str:
    """The one error shape; ``correlation_id``: the request's, if not the logger's."""
    return ErrorResponse(
        error=ErrorDetail(code=code, message=message, details=details or {}),
        correlation_id=correlation_id or current_correlation_id(),
    ).model_dump_json(by_alias=True)


def error_response(status: HTTPStatus, body: str) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _validation_details(error: RequestValidationError) -> dict[str, Any]:
    """Field paths and reasons only: the offending input is not echoed back,
    not even an unknown field's name (its parent is named instead)."""
    problems = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        reason = "malformed JSON" if item.get("type") == "json_invalid" else item.get("msg")
        if item.get("type") == "extra_forbidden":
            location, reason = location[:-1], "unknown fields are not allowed"
        problems.append({"field": ".".join(location) or "(body)", "reason": reason})
    return {"problems": problems}


def register(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        details = _validation_details(error)
        logger.info("request refused", extra={"status": 400, **details})
        return error_response(
            HTTPStatus.BAD_REQUEST,
            error_body("VALIDATION_FAILED", "the request is not valid", details),
        )

    @app.exception_handler(ConfigurationError)
    def _misconfigured(error: ConfigurationError) -> Response[str]:
        logger.error("the deployment is misconfigured", extra={"reason": error.message})
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            error_body(error.code, "the service is misconfigured; quote the correlationId"),
        )

    @app.exception_handler(TalkAvocadoError)
    def _domain_error(error: TalkAvocadoError) -> Response[str]:
        status = status_of(error)
        log = logger.error if status >= HTTPStatus.INTERNAL_SERVER_ERROR else logger.info
        log("request refused", extra={"status": int(status), "code": error.code})
        return error_response(status, error_body(error.code, error.message, error.details))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            error_body("INTERNAL", "internal error; quote the correlationId when reporting it"),
        )
