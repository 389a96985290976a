"""The embedded AWS emulator (moto server on loopback) and the provisioning of
template.yaml's resources into it (or into any endpoint, e.g. LocalStack)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from talkavocado_local import fast_transactions
from talkavocado_local.template import Template

_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


_CREDENTIAL_SCOPE = re.compile(r"/[a-z0-9-]+/([a-z0-9-]+)/aws4_request")


def _service_of(environ: dict[str, Any]) -> str:
    scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return scope.group(1) if scope else ""


class _OneWriteAtATime:
    """Serialises emulator requests, except SQS's. Real DynamoDB and S3 make
    each request atomic (a conditional put checks and writes as one step);
    moto's in-memory backends do not guard against concurrent threads, so
    without this lock a race test could see two winners that AWS would never
    allow. SQS stays concurrent: its long polls wait inside the request."""

    def __init__(self, app: _WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if _service_of(environ) == "sqs":
            return list(self._app(environ, start_response))
        with self._lock:
            return list(self._app(environ, start_response))


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The emulator's access log would drown the functions' own logs."""


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = _OneWriteAtATime(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-emulator", daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> Emulator:
        """Start empty, as a new process does: moto keeps its state in this
        process, and a stack started after another in it must not inherit
        the earlier one's tables and messages (restored state comes from
        its snapshot, local/state.py)."""
        moto_api_backend.reset()
        fast_transactions.install()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _ignore_existing(call: Callable[[], Any], *codes: str) -> None:
    try:
        call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in codes:
            raise


_TABLE_ARGUMENTS = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "ProvisionedThroughput",
    "StreamSpecification",
)


def provision(template: Template, session: boto3.Session) -> None:
    """Create every resource the local runtime emulates, from the template.
    Idempotent: resources that already exist are left as they are."""
    dynamodb = session.client("dynamodb")
    for props in template.of_type("AWS::DynamoDB::Table").values():
        arguments = {k: props[k] for k in _TABLE_ARGUMENTS if k in props}
        if props.get("SSESpecification", {}).get("SSEEnabled"):
            arguments["SSESpecification"] = {"Enabled": True}
        _ignore_existing(partial(dynamodb.create_table, **arguments), "ResourceInUseException")

    events = session.client("events")
    for props in template.of_type("AWS::Events::EventBus").values():
        _ignore_existing(
            partial(events.create_event_bus, Name=props["Name"]), "ResourceAlreadyExistsException"
        )

    s3 = session.client("s3")
    for props in template.of_type("AWS::S3::Bucket").values():
        _ignore_existing(
            partial(s3.create_bucket, Bucket=props["BucketName"]),
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        )
        if "VersioningConfiguration" in props:  # a job's input is read as it was at start
            s3.put_bucket_versioning(
                Bucket=props["BucketName"], VersioningConfiguration=props["VersioningConfiguration"]
            )
        notifications = props.get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=props["BucketName"],
                NotificationConfiguration={"EventBridgeConfiguration": {}},
            )

    _provision_queues(template, session.client("sqs"))
    for logical_id, props in template.of_type("AWS::Events::Rule").items():
        bus = props.get("EventBusName", "default")  # S3's events arrive on the default bus
        events.put_rule(
            Name=logical_id,
            EventBusName=bus,
            EventPattern=json.dumps(props["EventPattern"]),
            State=props.get("State", "ENABLED"),
        )
        events.put_targets(
            Rule=logical_id,
            EventBusName=bus,
            Targets=[{"Id": t["Id"], "Arn": t["Arn"]} for t in props["Targets"]],
        )


_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")


def _provision_queues(template: Template, sqs: Any) -> None:
    """Dead-letter queues first: a redrive policy names an existing queue."""
    queues = [k for k, v in template.resources.items() if v.get("Type") == "AWS::SQS::Queue"]
    queues.sort(key=lambda k: "RedrivePolicy" in template.resources[k].get("Properties", {}))
    for logical_id in queues:
        props = template.resolve(template.resources[logical_id].get("Properties", {}))
        attributes = {k: str(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        template.runtime_refs[logical_id] = url
        template.runtime_arns[logical_id] = arn["QueueArn"]
