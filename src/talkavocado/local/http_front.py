"""Serves the API routes declared in template.yaml over HTTP, turning each
request into an API Gateway (REST, proxy) event for the function's real
handler, as API Gateway does on AWS."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from talkavocado.adapters.upload_policy import DOWNLOAD_PATH
from talkavocado.api import errors
from talkavocado.local import gateway_auth
from talkavocado.local.invoke import LocalContext
from talkavocado.local.template import GatewayResponse, Route
from talkavocado.local.uploads import UPLOAD_PATH
from talkavocado.support.observability import CORRELATION_HEADER, correlation_id_from

# API Gateway refuses bodies over 10 MB before any function sees them.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
STAGE = "Prod"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


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


class _Server(ThreadingHTTPServer):
    # The listen backlog: the default of 5 resets clients arriving together.
    request_queue_size = 1024
    daemon_threads = True


class ApiServer:
    def __init__(
        self,
        routes: list[Route],
        handlers: dict[str, Handler],
        host: str,
        port: int,
        uploads: Callable[[BaseHTTPRequestHandler], tuple[HTTPStatus, str]] | None = None,
        gateway_responses: dict[str, GatewayResponse] | None = None,
        downloads: Callable[[BaseHTTPRequestHandler], tuple[HTTPStatus, str] | None] | None = None,
    ) -> None:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_request(self) -> None:
                server.dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_request  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Access logs are left to the functions' structured logs."""

        self._host = host
        self._uploads = uploads
        self._downloads = downloads
        self._routes = routes
        self._handlers = handlers
        self._gateway_responses = {**gateway_auth.DEFAULT_RESPONSES, **(gateway_responses or {})}
        self._httpd = _Server((host, port), RequestHandler)
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

    def dispatch(self, request: BaseHTTPRequestHandler) -> None:
        method = request.command.upper()
        path = urlsplit(request.path).path
        if self._uploads is not None and method == "POST" and path == UPLOAD_PATH:
            status, message = self._uploads(request)
            if status >= HTTPStatus.BAD_REQUEST:
                _reply_error(request, status, message)
            else:
                _reply(request, {"statusCode": int(status), "body": ""})
            return
        if self._downloads is not None and method == "GET" and path == DOWNLOAD_PATH:
            refused = self._downloads(request)
            if refused is not None:
                _reply_error(request, *refused)
            return
        route, parameters, path_exists = _match(self._routes, method, path)
        length_header = (request.headers.get("Content-Length") or "0").strip()
        if not length_header.isdigit():
            request.close_connection = True  # where the body ends is unknown
            _reply_error(request, HTTPStatus.BAD_REQUEST, "malformed Content-Length")
            return
        length = int(length_header)
        if length > MAX_REQUEST_BYTES:
            request.close_connection = True
            _reply_error(request, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
            return
        body = request.rfile.read(length) if length else b""
        if route is None:
            status = HTTPStatus.METHOD_NOT_ALLOWED if path_exists else HTTPStatus.NOT_FOUND
            _reply_error(request, status, f"no route for {method} {path}")
            return
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
                self._handlers[route.authorizer], route.authorizer, event
            )
            if decision.refusal is not None:
                refusal = self._gateway_responses[decision.refusal]
                result = _json_result(refusal.status, refusal.body)
                result["headers"][CORRELATION_HEADER] = event["requestContext"]["requestId"]
                _reply(request, result)
                return
            event["requestContext"]["authorizer"] = decision.context
        result = self._handlers[route.function](event, LocalContext.for_function(route.function))
        _reply(request, result)


def _reply(request: BaseHTTPRequestHandler, result: dict[str, Any]) -> None:
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    request.send_response(int(result.get("statusCode", 200)))
    headers = {k: [v] for k, v in (result.get("headers") or {}).items()}
    headers.update(result.get("multiValueHeaders") or {})
    for name, values in headers.items():
        if name.lower() in ("content-length", "connection"):
            continue
        for value in values:
            request.send_header(name, str(value))
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


def _json_result(status: int, body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def _reply_error(request: BaseHTTPRequestHandler, status: HTTPStatus, message: str) -> None:
    """The front's own refusals, in the API's error shape and with a correlation id."""
    correlation_id = correlation_id_from(request.headers.get(CORRELATION_HEADER), None)
    body = errors.error_body(errors.code_of(status), message, correlation_id=correlation_id)
    result = _json_result(int(status), body)
    result["headers"][CORRELATION_HEADER] = correlation_id
    _reply(request, result)
