"""Serves the API routes declared in template.yaml over HTTP, turning each
request into an API Gateway (REST, proxy) event for the function's real
handler, as API Gateway does on AWS.

The HTTP itself is werkzeug's server: one request per connection (it answers
``Connection: close`` and drops whatever the client sent after the body), and
chunked bodies decoded. A request whose body's end is ambiguous (two
different Content-Lengths, Content-Length with Transfer-Encoding, a transfer
coding other than chunked) is refused before anything reads it, so no body
can ever be taken for a request of its own."""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from talkavocado.api import errors
from talkavocado.support.observability import CORRELATION_HEADER, correlation_id_from, logger
from talkavocado_local import gateway_auth
from talkavocado_local.invoke import LocalContext
from talkavocado_local.template import FunctionSpec, GatewayResponse, Route
from talkavocado_local.uploads import UPLOAD_PATH

# API Gateway refuses bodies over 10 MB before any function sees them.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
STAGE = "Prod"

# A connection whose client sends nothing for this long is closed.
IDLE_SECONDS = 60

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def proxy_event(
    route: Route,
    method: str,
    raw_path: str,
    path_parameters: dict[str, str],
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": route.path,
        "path": split.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{STAGE}{split.path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text if body else None,
        "isBase64Encoded": is_base64,
    }


def _match(
    routes: list[Route], method: str, path: str
) -> tuple[Route | None, dict[str, str], bool]:
    """The route for ``method`` and ``path``, its decoded path parameters, and
    whether the path exists for another method (405 rather than 404)."""
    path_exists = False
    for route in routes:
        found = route.pattern.match(path)
        if found:
            path_exists = True
            if route.method in (method, "ANY"):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}, True
    return None, {}, path_exists


_DIGITS = re.compile(r"[0-9]{1,20}")


class Refusal(Exception):
    """A request the front answers itself, before any function sees it."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def framing(headers: Message, version: str) -> int | None:
    """The body's length (``None``: chunked, read to its last chunk), or a
    ``Refusal`` where the body's end is ambiguous (RFC 9112, 6.3): a server
    that guessed one way while a proxy before it guessed the other would run
    the rest of the body as a request of its own."""
    lengths = [value.strip() for value in headers.get_all("Content-Length") or []]
    codings = [value.strip().lower() for value in headers.get_all("Transfer-Encoding") or []]
    if codings:
        if lengths:
            raise Refusal(HTTPStatus.BAD_REQUEST, "both Content-Length and Transfer-Encoding")
        if version != "HTTP/1.1":
            raise Refusal(HTTPStatus.BAD_REQUEST, "Transfer-Encoding needs HTTP/1.1")
        if codings != ["chunked"]:
            raise Refusal(HTTPStatus.NOT_IMPLEMENTED, "the only transfer coding served is chunked")
        return None
    if not lengths:
        return 0
    if any(not _DIGITS.fullmatch(value) for value in lengths):
        raise Refusal(HTTPStatus.BAD_REQUEST, "malformed Content-Length")
    if len({int(value) for value in lengths}) > 1:
        raise Refusal(HTTPStatus.BAD_REQUEST, "conflicting Content-Length headers")
    return int(lengths[0])


def read_body(stream: Any, length: int | None) -> bytes:
    """The body, at most ``MAX_REQUEST_BYTES`` of it: all ``length`` bytes, or
    every chunk up to the last one."""
    if length is not None and length > MAX_REQUEST_BYTES:
        raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
    wanted = MAX_REQUEST_BYTES + 1 if length is None else length
    parts, got = [], 0
    try:
        while got < wanted and (part := stream.read(min(1024 * 1024, wanted - got))):
            parts.append(part)
            got += len(part)
    except OSError:  # a malformed chunk
        raise Refusal(HTTPStatus.BAD_REQUEST, "malformed chunked body") from None
    if length is None and got > MAX_REQUEST_BYTES:
        raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
    if length is not None and got < length:
        raise Refusal(HTTPStatus.BAD_REQUEST, "the body ended early")
    return b"".join(parts)


_REQUEST = "talkavocado.request"


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, with the request itself in the environ: the upload
    route streams its body from it, and the framing check reads every
    occurrence of a header (the environ keeps one)."""

    timeout = IDLE_SECONDS

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        environ[_REQUEST] = self
        return environ

    def log(self, type: str, message: str, *args: Any) -> None:
        """Access logs are left to the functions' structured logs."""


class _Server(ThreadedWSGIServer):
    # The listen backlog: the default resets clients arriving together.
    request_queue_size = 1024


class ApiServer:
    def __init__(
        self,
        routes: list[Route],
        handlers: dict[str, Handler],
        host: str,
        port: int,
        uploads: Callable[[BaseHTTPRequestHandler], tuple[HTTPStatus, str]] | None = None,
        gateway_responses: dict[str, GatewayResponse] | None = None,
        functions: dict[str, FunctionSpec] | None = None,
    ) -> None:
        self._host = host
        self._functions = functions or {}
        self._uploads = uploads
        self._routes = routes
        self._handlers = handlers
        self._gateway_responses = {**gateway_auth.DEFAULT_RESPONSES, **(gateway_responses or {})}
        self._httpd = _Server(host, port, self._serve, _RequestHandler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="api-front", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._httpd.server_port}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI application: one request, one answer."""
        request: BaseHTTPRequestHandler = environ[_REQUEST]
        try:
            result = self.dispatch(request, environ["wsgi.input"])
        except Refusal as refused:
            result = _error_result(request, refused.status, refused.message)
        except Exception:
            logger.exception("the local API front failed to answer")
            result = _error_result(request, HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
        status = int(result.get("statusCode", 200))
        payload, headers = _response(result)
        start_response(f"{status} {_phrase(status)}", headers)
        return [] if request.command == "HEAD" else [payload]

    def dispatch(self, request: BaseHTTPRequestHandler, body_stream: Any) -> dict[str, Any]:
        length = framing(request.headers, request.request_version)
        method = request.command.upper()
        path = urlsplit(request.path).path
        if self._uploads is not None and method == "POST" and path == UPLOAD_PATH:
            status, message = self._uploads(request)
            if status >= HTTPStatus.BAD_REQUEST:
                raise Refusal(status, message)
            return {"statusCode": int(status), "body": ""}
        route, parameters, path_exists = _match(self._routes, method, path)
        body = read_body(body_stream, length)
        if route is None:
            status = HTTPStatus.METHOD_NOT_ALLOWED if path_exists else HTTPStatus.NOT_FOUND
            raise Refusal(status, f"no route for {method} {path}")
        event = proxy_event(
            route,
            method,
            request.path,
            parameters,
            list(request.headers.items()),
            body,
            request.client_address[0],
        )
        if route.authorizer is not None:
            decision = gateway_auth.authorize(
                self._handlers[route.authorizer],
                route.authorizer,
                event,
                self._context(route.authorizer),
            )
            if decision.refusal is not None:
                refusal = self._gateway_responses[decision.refusal]
                result = _json_result(refusal.status, refusal.body)
                result["headers"][CORRELATION_HEADER] = event["requestContext"]["requestId"]
                return result
            event["requestContext"]["authorizer"] = decision.context
        return self._handlers[route.function](event, self._context(route.function))

    def _context(self, function: str) -> LocalContext:
        spec = self._functions.get(function)
        return LocalContext.of(spec) if spec else LocalContext.for_function(function)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# Headers that frame the answer: the front sets them, never the function.
_FRAMING = ("content-length", "connection", "transfer-encoding")


def _response(result: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]]]:
    """A proxy integration's result as the body and headers sent."""
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = {k: [v] for k, v in (result.get("headers") or {}).items()}
    headers.update(result.get("multiValueHeaders") or {})
    sent = [
        (name, str(value))
        for name, values in headers.items()
        if name.lower() not in _FRAMING
        for value in values
    ]
    return payload, [*sent, ("Content-Length", str(len(payload)))]


def _json_result(status: int, body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def _error_result(
    request: BaseHTTPRequestHandler, status: HTTPStatus, message: str
) -> dict[str, Any]:
    """The front's own refusals, in the API's error shape and with a correlation id."""
    correlation_id = correlation_id_from(request.headers.get(CORRELATION_HEADER), None)
    body = errors.error_body(errors.code_of(status), message, correlation_id=correlation_id) + "\n"
    result = _json_result(int(status), body)
    result["headers"][CORRELATION_HEADER] = correlation_id
    return result
