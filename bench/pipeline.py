"""End-to-end pipeline benchmark on the local runtime, with every media step
a no-op (the choreography alone). Jobs go as clients send them: a job with
a declared input, its upload to the upload target the API answered, and
the job starts by itself from the upload's Object Created event.

It prints latency and throughput at 1 and at 20 concurrent jobs, the AWS
requests per job by service, operation and table (botocore event hooks;
DynamoDB request units from the sizes of the items written and read), the
storage requests the manifest and the input make (S3 on AWS), and what a
million jobs cost at the dated list prices below, beside the same six
transitions on Step Functions Standard.

Floor, measured in the same run: the job's own AWS requests, each at the
median duration its operation took in the run (a receive at the median of a
bare GetItem, since a long poll's duration is mostly waiting). The ratio says
how much the choreography (queue hops, polling) adds on top of the bare calls.

``--quick`` (``make test``): one job alone and three at once; the tables,
no timing worth reading.
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

import boto3

from bench.quick import quick
from talkavocado import wiring
from talkavocado.adapters.dynamodb_support import item_bytes
from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.domain.pipeline import FINALIZER, PIPELINE
from talkavocado.ports import MediaTool
from talkavocado.support.observability import logger
from talkavocado.workers import steps
from talkavocado.workers.context import StepBody, StepContext, StepOutcome
from talkavocado.workers.steps import StepSettings
from talkavocado_local.run import upload_file
from talkavocado_local.runtime import LocalRuntime
from talkavocado_local.template import Template

REPO = Path(__file__).resolve().parents[1]
real_media_steps = steps.media_steps
QUICK = quick()
SEQUENTIAL_JOBS = 1 if QUICK else int(os.environ.get("BENCH_JOBS", "20"))
CONCURRENT_JOBS = 3 if QUICK else 20
ROUNDS = 1 if QUICK else 2
WARMUP = 1 if QUICK else 3
TENANT = "bench-tenant"
INPUT_BYTES = 4096  # the no-op steps never read it

# Public list prices, USD, us-east-1, as published on 2025-01-15 (DynamoDB
# on-demand after its 2024-11-01 reduction).
PRICES_DATE = "2025-01-15"
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "eventbridge_event": 1.00 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "api_gateway_rest_request": 3.50 / 1e6,
    "s3_put": 0.005 / 1e3,
    "s3_get": 0.0004 / 1e3,
    "step_functions_transition": 25.0 / 1e6,
}

Item = dict[str, Any]
Call = tuple[str, str, str]  # service, operation, table (DynamoDB only)
# The media functions: their cost is the media work's (see bench.media), not
# the orchestration's. Every other function moves jobs along.
MEDIA_FUNCTIONS = frozenset(
    {
        "AudioExtractionFunction",
        "TranscriptionFunction",
        "SmartCutPlannerFunction",
        "VideoRenderFunction",
    }
)


@dataclass(frozen=True)
class Index:
    """A global secondary index as template.yaml declares it."""

    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: frozenset[str] = frozenset()

    def entry(self, item: Item | None, table_keys: tuple[str, ...]) -> Item | None:
        """What the index holds of ``item``: nothing without its key attributes."""
        if item is None or any(name not in item for name in self.keys):
            return None
        if self.projection == "ALL":
            return item
        kept = {*self.keys, *table_keys, *self.included}
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]


def table_shapes(template: Template) -> dict[str, TableShape]:
    """Each table's keys and indexes, by the name the bench shows (template.yaml)."""
    shapes = {}
    for logical_id, props in template.of_type("AWS::DynamoDB::Table").items():
        indexes = tuple(
            Index(
                name=index["IndexName"],
                keys=tuple(key["AttributeName"] for key in index["KeySchema"]),
                projection=index["Projection"]["ProjectionType"],
                included=frozenset(index["Projection"].get("NonKeyAttributes", [])),
            )
            for index in props.get("GlobalSecondaryIndexes", [])
        )
        keys = tuple(key["AttributeName"] for key in props["KeySchema"])
        shapes[_table({"TableName": template.physical_name(logical_id)})] = TableShape(
            keys, indexes
        )
    return shapes


def kilobytes(item: Item) -> int:
    return max(1, math.ceil(item_bytes(item) / 1024))


def index_units(
    index: Index, before: Item | None, after: Item | None, keys: tuple[str, ...]
) -> int:
    """Write units one table write costs ``index``, as DynamoDB bills them: an
    entry put where none was, or deleted; a changed index key deletes the old
    entry and puts the new one; a change of projected attributes alone
    rewrites the entry; a write that changes nothing the index holds, nothing."""
    old, new = index.entry(before, keys), index.entry(after, keys)
    if old is None and new is None:
        return 0
    if new is None:
        return kilobytes(old or {})
    if old is None:
        return kilobytes(new)
    if any(old[name] != new[name] for name in index.keys):
        return kilobytes(old) + kilobytes(new)
    return kilobytes(new) if old != new else 0


def _table(params: dict[str, Any]) -> str:
    return str(params.get("TableName", "")).removeprefix("talkavocado-test-")


_UPDATED = "(updated)"  # marks an UpdateItem's key: the item's other attributes unknown
Write = tuple[
    str, Item, Item | None, bool
]  # table, key, the item written (None: deleted), in a transaction


class RequestCounter:
    """botocore hooks on a session: every AWS request, told apart by table
    (``before-parameter-build``, which sees the call's parameters), its
    DynamoDB request units (``after-call``) from the sizes of the items read
    and written and from what each write changes in the table's indexes
    (the bench keeps the image of every item written, as the table has it),
    and its duration. ``services``: only these."""

    def __init__(
        self, shapes: dict[str, TableShape] | None = None, services: set[str] | None = None
    ) -> None:
        self.calls: Counter[Call] = Counter()
        self.units: defaultdict[Call, float] = defaultdict(float)
        self.durations: dict[Call, list[float]] = {}
        self.messages = 0  # messages SQS handed to the pollers
        self.batches = 0  # receives that handed some
        self._shapes = shapes or {}
        self._items: dict[tuple[str, str], Item] = {}  # the tables as written
        self._services = services
        self._lock = threading.Lock()

    def register(self, events: Any) -> None:
        """On a session's events (clients made after) or a client's (``meta.events``)."""
        events.register("before-parameter-build", self._before)
        events.register("after-call", self._after)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.units.clear()
            self.durations.clear()
            self.messages = 0
            self.batches = 0

    def _key(self, table: str, item: Item) -> tuple[str, str]:
        shape = self._shapes.get(table)
        names = shape.keys if shape else tuple(sorted(item))
        return table, json.dumps([item.get(name) for name in names], sort_keys=True)

    def _writes(self, operation: str, params: dict[str, Any]) -> list[Write]:
        table = _table(params)
        if operation == "PutItem":
            return [(table, params["Item"], params["Item"], False)]
        if operation == "DeleteItem":
            return [(table, params["Key"], None, False)]
        if operation == "UpdateItem":  # not made on the jobs table; counted as the key alone
            return [(table, params["Key"], {**params["Key"], _UPDATED: {"NULL": True}}, False)]
        writes: list[Write] = []
        if operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                for kind, write in entry.items():
                    item = write.get("Item") or write.get("Key", {})
                    if kind != "ConditionCheck":
                        writes.append(
                            (_table(write), item, None if kind == "Delete" else item, True)
                        )
        elif operation == "BatchWriteItem":
            for name, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        writes.append((_table({"TableName": name}), item, item, False))
                    else:
                        key = request["DeleteRequest"]["Key"]
                        writes.append((_table({"TableName": name}), key, None, False))
        return writes

    def _write_units(self, writes: list[Write], succeeded: bool) -> float:
        """Units of the writes: each item's larger size before or after, in
        KB (twice in a transaction), and, if it was made, its index entries."""
        units = 0
        for table, key, item, transactional in writes:
            stored_key = self._key(table, key)
            before = self._items.get(stored_key)
            size = max(kilobytes(item) if item else 0, kilobytes(before) if before else 1)
            units += size * (2 if transactional else 1)
            shape = self._shapes.get(table)
            if not succeeded:
                continue
            if shape is not None:
                units += sum(index_units(i, before, item, shape.keys) for i in shape.indexes)
            if item is None:
                self._items.pop(stored_key, None)
            elif _UPDATED not in item or before is None:
                self._items[stored_key] = item
        return units

    def _before(
        self,
        event_name: str,
        params: dict[str, Any],
        context: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        service, operation = event_name.split(".", 2)[1:]
        if self._services is not None and service not in self._services:
            return
        if "bench-finished" in str(params.get("QueueUrl", "")):
            return  # the bench's own listener
        call = (service, operation, _table(params))
        if operation == "TransactWriteItems":
            tables = {_table(next(iter(e.values()))) for e in params.get("TransactItems", [])}
            call = (service, operation, ",".join(sorted(tables)))
        if operation in ("BatchWriteItem", "BatchGetItem"):
            call = (
                service,
                operation,
                ",".join(_table({"TableName": t}) for t in params.get("RequestItems", {})),
            )
        writes = self._writes(operation, params) if service == "dynamodb" else []
        units = len(params.get("Entries", [])) if operation == "PutEvents" else 0  # per event
        with self._lock:
            self.calls[call] += 1
            self.units[call] += units
        if context is not None:
            consistent = bool(params.get("ConsistentRead")) or any(
                bool(read.get("ConsistentRead"))
                for read in params.get("RequestItems", {}).values()
                if isinstance(read, dict)
            )
            context["bench"] = (call, time.perf_counter(), writes, consistent)

    def _after(
        self, parsed: dict[str, Any], context: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if context is None or "bench" not in context:
            return
        call, started, writes, consistent = context["bench"]
        elapsed = (time.perf_counter() - started) * 1000
        per_4kb = 1.0 if consistent else 0.5  # eventually consistent reads cost half
        units = 0.0
        if call[:2] == ("dynamodb", "GetItem"):
            units = per_4kb * math.ceil(max(1, item_bytes(parsed.get("Item", {}))) / 4096)
        elif call[:2] == ("dynamodb", "Query"):
            read = sum(item_bytes(i) for i in parsed.get("Items", []))
            units = per_4kb * max(1, math.ceil(read / 4096))
        elif call[:2] == ("dynamodb", "BatchGetItem"):
            units = per_4kb * sum(
                math.ceil(max(1, item_bytes(i)) / 4096)
                for items in parsed.get("Responses", {}).values()
                for i in items
            )
        with self._lock:
            if writes:
                units += self._write_units(writes, succeeded="Error" not in parsed)
            self.units[call] += units
            self.durations.setdefault(call, []).append(elapsed)
            if call[:2] == ("sqs", "ReceiveMessage"):
                received = len(parsed.get("Messages", []))
                self.messages += received
                self.batches += bool(received)
                if not received:  # an idle long poll: each queue's fixed cost, not a job's
                    self.calls[call] -= 1


class StorageCounter:
    """The storage port's requests (local files here, S3 requests on AWS)."""

    AS_S3: ClassVar[dict[str, str]] = {
        "get": "GetObject",
        "fetch": "GetObject",
        "put": "PutObject",
        "upload": "PutObject",
        "exists": "HeadObject",
        "stored_version": "HeadObject",
    }

    def __init__(self) -> None:
        self.calls: Counter[Call] = Counter()
        self._lock = threading.Lock()

    def install(self) -> None:
        for method, operation in self.AS_S3.items():
            original = getattr(LocalStorage, method)
            setattr(LocalStorage, method, self._counted(original, operation))

    def _counted(self, original: Callable[..., Any], operation: str) -> Callable[..., Any]:
        def counted(storage: LocalStorage, job: Any, key: str, *args: Any, **kw: Any) -> Any:
            with self._lock:
                self.calls[("s3", operation, key.rsplit("/", 1)[-1])] += 1
            return original(storage, job, key, *args, **kw)

        return counted


class Invocations:
    """Each function's invocations and their durations (the SQS-triggered
    ones timed around the handler, as Lambda bills them; the API's from the
    duration it logs)."""

    def __init__(self) -> None:
        self.by_function: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def note(self, function: str, ms: float) -> None:
        with self._lock:
            self.by_function.setdefault(function, []).append(ms)

    def timed(self, function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(event: Any, context: Any) -> Any:
            start = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                self.note(function, (time.perf_counter() - start) * 1000)

        return run

    def clear(self) -> None:
        with self._lock:
            self.by_function.clear()


class ApiDurations(logging.Handler):
    """The durationMs the API function logs for each request."""

    def __init__(self, invocations: Invocations) -> None:
        super().__init__()
        self._invocations = invocations

    def emit(self, record: logging.LogRecord) -> None:
        line = json.loads(logger.registered_formatter.format(record))
        if line.get("message") == "request handled" and "durationMs" in line:
            self._invocations.note(line["functionName"], line["durationMs"])


def percentile(samples: list[float], q: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def create(api: str, source: Path) -> tuple[str, dict[str, Any]]:
    """A job as clients create one: its input declared, then uploaded."""
    body = {
        "tenantId": TENANT,
        "input": {"originalFilename": source.name, "bytes": INPUT_BYTES, "mimeType": "video/mp4"},
    }
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{api}/jobs",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer = json.loads(response.read())
    return str(answer["jobId"]), answer["upload"]


class Finishes:
    """Subscribes to JobCompleted and JobFailed like any consumer of the bus
    (a rule to a queue of its own), so that waiting adds no load on the table."""

    def __init__(self) -> None:
        self._sqs = boto3.client("sqs")
        self._queue = self._sqs.create_queue(QueueName="bench-finished")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._queue, AttributeNames=["QueueArn"])
        events = boto3.client("events")
        events.put_rule(
            Name="bench-finished",
            EventBusName="talkavocado-test",
            EventPattern=json.dumps({"detail-type": ["JobCompleted", "JobFailed"]}),
        )
        events.put_targets(
            Rule="bench-finished",
            EventBusName="talkavocado-test",
            Targets=[{"Id": "bench", "Arn": arn["Attributes"]["QueueArn"]}],
        )
        self._finished: dict[str, str] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            messages = self._sqs.receive_message(
                QueueUrl=self._queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in messages:
                event = json.loads(message["Body"])
                with self._changed:
                    self._finished[event["detail"]["jobId"]] = event["detail-type"]
                    self._changed.notify_all()
                self._sqs.delete_message(
                    QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"]
                )

    def wait(self, job_id: str, timeout: float = 120) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: job_id in self._finished, timeout):
                raise TimeoutError(f"job {job_id} did not finish in {timeout:.0f} s")
        if self._finished[job_id] != "JobCompleted":
            raise RuntimeError(f"job {job_id} failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_job(api: str, finishes: Finishes, source: Path) -> float:
    """Create, upload, and wait for JobCompleted: the client's whole wait."""
    start = time.perf_counter()
    job_id, upload = create(api, source)
    if upload_file(upload, source) != 204:
        raise RuntimeError(f"the upload of job {job_id} was refused")
    finishes.wait(job_id)
    return time.perf_counter() - start


def concurrent_round(
    api: str, finishes: Finishes, source: Path, jobs: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            latency = run_job(api, finishes, source)
        except BaseException as failed:
            with lock:
                failures.append(failed)
            return
        with lock:
            latencies.append(latency)

    start = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return latencies, time.perf_counter() - start


def bare_get_ms(client: Any, samples: int) -> float:
    key = {"tenantId": {"S": TENANT}, "jobSort": {"S": "JOB#none"}}
    durations = []
    for _ in range(samples):
        start = time.perf_counter()
        client.get_item(TableName="talkavocado-test-jobs", Key=key, ConsistentRead=True)
        durations.append((time.perf_counter() - start) * 1000)
    return statistics.median(durations)


def floor_ms(
    per_job: dict[Call, float], durations: dict[Call, list[float]], get_ms: float
) -> float:
    """The job's own AWS requests, each at its operation's median duration."""
    total = 0.0
    for call, count in per_job.items():
        if call[0] == "s3":
            continue  # local files here
        if call[:2] == ("sqs", "ReceiveMessage") or call not in durations:
            total += count * get_ms
        else:
            total += count * statistics.median(durations[call])
    return total


@dataclass(frozen=True)
class Measured:
    """What a phase's jobs asked of AWS, per job."""

    jobs: int
    per_job: dict[Call, float]
    units: dict[Call, float]
    messages: float  # messages the rules delivered (a SendMessage each)
    batches: float  # receives that handed messages
    invocations: dict[str, list[float]]  # every invocation's duration, ms, by function

    @property
    def aws_requests(self) -> float:
        return sum(n for (s, _, _), n in self.per_job.items() if s != "s3") + self.messages


def measured(
    jobs: int,
    counters: tuple[RequestCounter, RequestCounter],
    stored: StorageCounter,
    invocations: Invocations,
) -> Measured:
    counter, pollers = counters
    calls = counter.calls + pollers.calls + stored.calls
    return Measured(
        jobs=jobs,
        per_job={k: n / jobs for k, n in calls.items() if n},
        units={
            k: (counter.units.get(k, 0) + pollers.units.get(k, 0)) / jobs
            for k in {*counter.units, *pollers.units}
        },
        messages=pollers.messages / jobs,
        batches=pollers.batches / jobs,
        invocations={k: list(v) for k, v in invocations.by_function.items()},
    )


def lambda_per_million(
    invocations: dict[str, list[float]], memory: dict[str, int], jobs: int
) -> dict[str, float]:
    """USD per million jobs by function: each invocation's request and its
    duration (rounded up to the millisecond) at its own function's memory."""
    return {
        function: sum(
            PRICE["lambda_request"]
            + math.ceil(ms) / 1000 * memory[function] / 1024 * PRICE["lambda_gb_second_arm"]
            for ms in samples
        )
        / jobs
        * 1e6
        for function, samples in sorted(invocations.items())
    }


def costs_per_million(
    run: Measured, api_requests: float, memory: dict[str, int]
) -> dict[str, float]:
    """USD per million jobs, by service, from the per-job counts; Lambda split
    into the functions that move jobs along and the media steps' functions."""
    by_function = lambda_per_million(run.invocations, memory, run.jobs)

    def dynamodb(reads: bool) -> float:
        return sum(
            n
            for (service, operation, _), n in run.units.items()
            if service == "dynamodb"
            and (operation in ("GetItem", "Query", "BatchGetItem")) == reads
        )

    def count(service: str, operation: str | None = None) -> float:
        return sum(
            n for (s, o, _), n in run.per_job.items() if s == service and operation in (None, o)
        )

    return {
        "API Gateway": api_requests * PRICE["api_gateway_rest_request"] * 1e6,
        "EventBridge": run.units.get(("eventbridge", "PutEvents", ""), 0)
        * PRICE["eventbridge_event"]
        * 1e6,
        # The rules' deliveries (one SendMessage per message) and the pollers' requests.
        "SQS": (run.messages + count("sqs")) * PRICE["sqs_request"] * 1e6,
        "DynamoDB": (
            dynamodb(reads=True) * PRICE["dynamodb_read_unit"]
            + dynamodb(reads=False) * PRICE["dynamodb_write_unit"]
        )
        * 1e6,
        "Lambda, orchestration functions": sum(
            usd for f, usd in by_function.items() if f not in MEDIA_FUNCTIONS
        ),
        "Lambda, media functions": sum(
            usd for f, usd in by_function.items() if f in MEDIA_FUNCTIONS
        ),
        "S3": (
            count("s3", "PutObject") * PRICE["s3_put"]
            + (count("s3", "GetObject") + count("s3", "HeadObject")) * PRICE["s3_get"]
        )
        * 1e6,
    }


ORCHESTRATION = ("API Gateway", "EventBridge", "SQS", "DynamoDB", "Lambda, orchestration functions")


def _no_op(context: StepContext) -> StepOutcome:
    return StepOutcome("skipped", "no-op (benchmark)")


def no_op_steps(
    settings: StepSettings,
    media: MediaTool,
    engine: Callable[[], Any],
    spotter: Callable[[], Any] | None = None,
) -> dict[str, StepBody]:
    """The choreography alone: every media step replaced by a no-op."""
    bodies = real_media_steps(settings, media, engine, spotter)
    return {name: body if name == FINALIZER.name else _no_op for name, body in bodies.items()}


def print_requests(alone: Measured, together: Measured) -> None:
    print(
        "\nAWS requests per job, one job at a time and "
        f"{CONCURRENT_JOBS} at once (DynamoDB: request units from item sizes and index changes)"
    )
    print(
        f"  {'service':<12}{'operation':<20}{'table / object':<16}"
        f"{'requests':>9}{'units':>8}{'requests':>10}{'units':>8}"
    )
    rows = sorted(set(alone.per_job) | set(together.per_job))
    for call in rows:
        service, operation, table = call
        if service == "s3":
            continue
        cells = ""
        for run in (alone, together):
            unit = run.units.get(call, 0)
            shown = f"{unit:>8.1f}" if service == "dynamodb" else f"{'':>8}"
            cells += f"{run.per_job.get(call, 0):>9.1f}{shown} "
        print(f"  {service:<12}{operation:<20}{table:<16}{cells}")
    print(
        f"  {'sqs':<12}{'SendMessage (rules)':<36}"
        f"{alone.messages:>9.1f}{'':>9}{together.messages:>9.1f}"
    )
    print(f"  {'total':<48}{alone.aws_requests:>9.1f}{'':>9}{together.aws_requests:>9.1f}")
    for run, label in ((alone, "alone"), (together, f"{CONCURRENT_JOBS} at once")):
        received = sum(
            n for (s, o, _), n in run.per_job.items() if (s, o) == ("sqs", "ReceiveMessage")
        )
        print(
            f"  {label}: {run.messages:.1f} messages a job in {received:.1f} receives "
            f"({run.messages / max(received, 1e-9):.2f} a receive)"
        )
    print("storage requests per job (local files here; S3 requests on AWS)")
    for (service, operation, name), count in sorted(alone.per_job.items()):
        if service == "s3":
            print(f"  {service:<12}{operation:<20}{name:<16}{count:>9.1f}")
    print(f"  {'s3':<12}{'PostObject (client)':<20}{'source':<16}{1.0:>9.1f}")


def main() -> int:
    steps.media_steps = no_op_steps
    storage = Path(tempfile.mkdtemp(prefix="talkavocado-bench-"))
    source = storage / "noop.mp4"
    source.write_bytes(bytes(INPUT_BYTES))
    os.environ.update({"TALKAVOCADO_ENV": "test", "MEDIA_STORAGE_PATH": str(storage)})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("STORAGE_BACKEND", None)
    runtime = LocalRuntime(REPO / "template.yaml", api_port=0, emulator_port=0).start()
    devnull = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the run
    cast(logging.StreamHandler, logger.registered_handler).setStream(devnull)  # type: ignore[type-arg]
    invocations = Invocations()
    logger._logger.addHandler(ApiDurations(invocations))
    for poller in runtime.pollers:
        function = poller.source.function.logical_id
        poller._handler = invocations.timed(function, poller._handler)
    assert runtime.api is not None and runtime.template is not None
    api, template = runtime.api.url, runtime.template
    counter = RequestCounter(table_shapes(template))  # the functions' own requests
    counter.register(wiring.session().events)
    pollers = RequestCounter(services={"sqs"})  # the event source mappings'
    for client in {id(p._sqs): p._sqs for p in runtime.pollers}.values():  # one, shared
        pollers.register(client.meta.events)
    stored = StorageCounter()
    stored.install()
    table = boto3.client("dynamodb")
    finishes = Finishes()

    def clear() -> None:
        for each in (counter, pollers, invocations):
            each.clear()
        stored.calls.clear()

    try:
        for _ in range(WARMUP):  # handlers built, caches filled
            run_job(api, finishes, source)
        clear()
        sequential = [run_job(api, finishes, source) for _ in range(SEQUENTIAL_JOBS)]
        time.sleep(0.2)  # the last deletes of the pollers
        alone = measured(SEQUENTIAL_JOBS, (counter, pollers), stored, invocations)
        durations = {k: list(v) for k, v in {**pollers.durations, **counter.durations}.items()}
        get_ms = bare_get_ms(table, 20 if QUICK else 200)
        clear()
        rounds = [concurrent_round(api, finishes, source, CONCURRENT_JOBS) for _ in range(ROUNDS)]
        time.sleep(0.2)
        together = measured(ROUNDS * CONCURRENT_JOBS, (counter, pollers), stored, invocations)
    finally:
        finishes.stop()
        runtime.stop()

    memory = {f.logical_id: f.memory_mb for f in template.functions()}
    report(alone, together, durations, get_ms, sequential, rounds, memory)
    return 0


def report(
    alone: Measured,
    together: Measured,
    durations: dict[Call, list[float]],
    get_ms: float,
    sequential: list[float],
    rounds: list[tuple[list[float], float]],
    memory: dict[str, int],
) -> None:
    floor = floor_ms(alone.per_job, durations, get_ms)
    print(
        f"Pipeline, no-op steps, local runtime ({SEQUENTIAL_JOBS} jobs one at a time, "
        f"{ROUNDS} rounds of {CONCURRENT_JOBS} at once){' - quick mode' if QUICK else ''}"
    )
    own = sum(n for (s, _, _), n in alone.per_job.items() if s != "s3")
    print(
        f"floor: the job's own {own:.0f} AWS requests at their operations' median "
        f"durations = {floor:.0f} ms (a bare GetItem: {get_ms:.2f} ms)"
    )
    print(
        f"{'concurrency':<12}{'p50 ms':>9}{'p95 ms':>9}{'jobs/s':>9}"
        f"{'p50/floor':>11}{'p95/floor':>11}"
    )
    seq_ms = [s * 1000 for s in sequential]
    print(
        f"{1:<12}{percentile(seq_ms, 50):>9.0f}{percentile(seq_ms, 95):>9.0f}"
        f"{len(sequential) / sum(sequential):>9.2f}{percentile(seq_ms, 50) / floor:>11.2f}"
        f"{percentile(seq_ms, 95) / floor:>11.2f}"
    )
    con_ms = [s * 1000 for latencies, _ in rounds for s in latencies]
    throughput = len(con_ms) / sum(wall for _, wall in rounds)
    print(
        f"{CONCURRENT_JOBS:<12}{percentile(con_ms, 50):>9.0f}{percentile(con_ms, 95):>9.0f}"
        f"{throughput:>9.2f}{percentile(con_ms, 50) / floor:>11.2f}"
        f"{percentile(con_ms, 95) / floor:>11.2f}"
    )
    print_requests(alone, together)
    api_requests = 1.0  # the create; the upload goes to the storage, the rest by events
    print(
        f"\nLambda per job (arm64, each function at its own memory in template.yaml; "
        f"{', '.join(sorted(f.removesuffix('Function') for f in MEDIA_FUNCTIONS))}: media work)"
    )
    print(f"  {'function':<28}{'MB':>7}{'invocations':>13}{'p50 ms':>9}{'USD/M jobs':>12}")
    for function, usd in lambda_per_million(alone.invocations, memory, alone.jobs).items():
        samples = alone.invocations[function]
        print(
            f"  {function:<28}{memory[function]:>7}{len(samples) / alone.jobs:>13.1f}"
            f"{statistics.median(samples):>9.1f}{usd:>12.2f}"
        )
    print(f"\nUSD per million jobs, list prices of {PRICES_DATE} (us-east-1; free tiers ignored)")
    for name, price in PRICE.items():
        print(f"  price {name:<28}{price * 1e6:>10.4f} per million")
    print(f"  {'':<48}{'alone':>10}{f'{CONCURRENT_JOBS} at once':>12}")
    costs = [costs_per_million(run, api_requests, memory) for run in (alone, together)]
    for service in costs[0]:
        print(f"  {service:<48}{costs[0][service]:>10.2f}{costs[1][service]:>12.2f}")
    orchestration = [sum(c[s] for s in ORCHESTRATION) for c in costs]
    media = [c["Lambda, media functions"] for c in costs]
    lines = {
        "orchestration (API Gateway, EventBridge, SQS, DynamoDB, the orchestration functions)": [
            orchestration[0],
            orchestration[1],
        ],
        "media work, no-op steps (the media functions' requests and bookkeeping)": media,
        "all-in (orchestration + media work)": [
            o + m for o, m in zip(orchestration, media, strict=True)
        ],
        "all-in with S3 (manifest, input)": [
            o + m + c["S3"] for o, m, c in zip(orchestration, media, costs, strict=True)
        ],
    }
    for label, (first, second) in lines.items():
        print(f"  {label}\n  {'':<48}{first:>10.2f}{second:>12.2f}")
    transitions = len(PIPELINE) + 1  # one per task state, plus MarkProcessing
    sfn = transitions * PRICE["step_functions_transition"] * 1e6
    print(
        f"Step Functions Standard: {transitions} state transitions per job = {sfn:.2f} USD "
        f"per million jobs, before its Lambda, DynamoDB and API costs "
        f"({sfn / orchestration[0]:.1f}x this orchestration)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
