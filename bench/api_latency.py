"""createJob / getJob latency, in-process against the embedded emulator, and
the token authorizer's cost against a local OpenID Connect issuer.

Each figure is printed beside its floor: the same AWS calls and file I/O made
directly with boto3 (for the authorizer: the bare signature and claims check
of the same token), measured in the same run and interleaved with the
subject, so that the ratio (not the absolute time) is what is compared.
Targets: p95 ratio <= 1.5 for create and get; the authorizer's p95 at most a
tenth of the create floor's, i.e. it adds under 10% to the request it guards.

``--quick`` (``make test``): a few requests each, the table, no target judged.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

import boto3
import jwt
from aws_lambda_powertools.utilities.typing import LambdaContext

from bench.quick import quick
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado_local.invoke import LocalContext
from talkavocado_local.runtime import LocalRuntime

QUICK = quick()
ITERATIONS = 10 if QUICK else int(os.environ.get("BENCH_ITERATIONS", "300"))
WARMUP = 2 if QUICK else 20
TARGET_P95_RATIO = 1.5
AUTHORIZER_SHARE_OF_CREATE = 0.10
REPO = Path(__file__).resolve().parents[1]


def percentile(samples: list[float], q: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def api_event(
    method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "requestContext": {"stage": "bench", "requestId": str(uuid.uuid4())},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


class Floor:
    """The bare work a create and a get must do: the same AWS calls with the
    same item and document sizes, and the same file write and read."""

    def __init__(self, storage: Path) -> None:
        self.table = boto3.resource("dynamodb").Table("talkavocado-test-jobs")
        self.events = boto3.client("events")
        self.storage = storage

    @staticmethod
    def _record(tenant: str, job_id: str) -> JobRecord:
        return JobRecord.for_job(JobKeys("test", tenant, job_id), correlation_id=str(uuid.uuid4()))

    def _path(self, tenant: str, job_id: str) -> Path:
        return self.storage / "floor" / tenant / job_id / "manifest.json"

    def create(self, tenant: str, job_id: str) -> None:
        record = self._record(tenant, job_id)
        document = json.dumps(
            {
                **record.model_dump(by_alias=True),
                "schemaVersion": "1.0.0",
                "renders": [],
                "logs": [],
                "subtitles": [],
            },
            indent=2,
            sort_keys=True,
        )
        path = self._path(tenant, job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as handle:  # the same durable write as the manifest store
            handle.write(document)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
        self.table.put_item(
            Item=record.to_item(), ConditionExpression="attribute_not_exists(jobSort)"
        )
        self.events.put_events(
            Entries=[
                {
                    # Routed like the real one: the rule delivers it to a queue.
                    "Source": "talkavocado.pipeline",
                    "DetailType": "JobCreated",
                    "Detail": json.dumps(
                        {"tenantId": tenant, "jobId": job_id, "manifestKey": record.manifest_key}
                    ),
                    "EventBusName": "talkavocado-test",
                }
            ]
        )

    def get(self, tenant: str, job_id: str) -> None:
        self.table.get_item(
            Key={"tenantId": tenant, "jobSort": f"JOB#{job_id}"}, ConsistentRead=True
        )
        self._path(tenant, job_id).read_bytes()


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


class TokenCheck:
    """The authorizer with a valid token (keys cached, as on a warm Lambda),
    and its floor: PyJWT's decode of the same token with the same key."""

    def __init__(self) -> None:
        from tests.issuer import AUDIENCE, Issuer

        self.issuer = Issuer()
        os.environ.update({"JWT_ISSUER": self.issuer.url, "JWT_AUDIENCE": AUDIENCE})
        self.token = self.issuer.token("bench-tenant")
        self.key = self.issuer.keys[0].private.public_key()
        self.audience = AUDIENCE
        event = json.loads((REPO / "events" / "api_authorizer_request.json").read_text())
        event["headers"]["Authorization"] = f"Bearer {self.token}"
        self.event = event

    def authorize(self, handler: Callable[..., Any], context: LambdaContext) -> None:
        handler(self.event, context)

    def floor(self) -> None:
        jwt.decode(self.token, self.key, algorithms=["RS256"], audience=self.audience)


def main() -> int:
    storage = Path(tempfile.mkdtemp(prefix="talkavocado-bench-"))
    os.environ.update({"TALKAVOCADO_ENV": "test", "MEDIA_STORAGE_PATH": str(storage)})
    tokens = TokenCheck()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    # API only: the pipeline's workers would compete for the same two cores.
    runtime = LocalRuntime(REPO / "template.yaml", api_port=0, emulator_port=0, workers=False)
    runtime.start()
    from talkavocado.handlers.api import lambda_handler
    from talkavocado.handlers.authorizer import lambda_handler as authorizer
    from talkavocado.support.observability import logger

    devnull = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the run
    cast(logging.StreamHandler, logger.registered_handler).setStream(devnull)  # type: ignore[type-arg]
    context = cast(LambdaContext, LocalContext.for_function("ApiFunction"))
    floor = Floor(storage)
    tenant = "bench-tenant"
    samples: dict[str, list[float]] = {
        name: [] for name in ("create", "get", "authorize") for name in (name, f"{name} floor")
    }
    try:
        for i in range(WARMUP + ITERATIONS):
            job_id, floor_job = str(uuid.uuid4()), str(uuid.uuid4())
            create = api_event("POST", "/jobs", {"tenantId": tenant, "jobId": job_id})
            get = api_event("GET", f"/jobs/{job_id}", query={"tenantId": tenant})
            results = {
                "create": timed(partial(lambda_handler, create, context)),
                "create floor": timed(partial(floor.create, tenant, floor_job)),
                "get": timed(partial(lambda_handler, get, context)),
                "get floor": timed(partial(floor.get, tenant, floor_job)),
                "authorize": timed(partial(tokens.authorize, authorizer, context)),
                "authorize floor": timed(tokens.floor),
            }
            if i >= WARMUP:
                for name, value in results.items():
                    samples[name].append(value)
    finally:
        runtime.stop()
        tokens.issuer.stop()

    print(
        f"API latency, in-process against the embedded emulator ({ITERATIONS} requests each)"
        + (" - quick mode, targets not judged" if QUICK else "")
    )
    print(
        f"{'operation':<10}{'p50 ms':>9}{'p95 ms':>9}{'floor p50':>11}{'floor p95':>11}"
        f"{'p50 ratio':>11}{'p95 ratio':>11}  target"
    )
    verdict = 0
    create_floor_p95 = percentile(samples["create floor"], 95)
    for name in ("create", "get", "authorize"):
        subject, base = samples[name], samples[f"{name} floor"]
        p50, p95 = percentile(subject, 50), percentile(subject, 95)
        f50, f95 = percentile(base, 50), percentile(base, 95)
        if name == "authorize":
            share = p95 / create_floor_p95
            ok = share <= AUTHORIZER_SHARE_OF_CREATE
            target = f"p95 {share:.3f} of create floor <= {AUTHORIZER_SHARE_OF_CREATE}"
        else:
            ok = p95 / f95 <= TARGET_P95_RATIO
            target = f"p95 ratio <= {TARGET_P95_RATIO}"
        verdict |= 0 if ok else 1
        print(
            f"{name:<10}{p50:>9.2f}{p95:>9.2f}{f50:>11.2f}{f95:>11.2f}{p50 / f50:>11.2f}"
            f"{p95 / f95:>11.2f}  {target}: {'met' if ok else 'MISSED'}"
        )
    return 0 if QUICK else verdict


if __name__ == "__main__":
    raise SystemExit(main())
