"""End-to-end pipeline benchmark on the local runtime: latency and throughput
of jobs at 1 and at 20 concurrent jobs, AWS requests per job by service
(counted with botocore event hooks), and what a million jobs would cost at
public list prices beside the same pipeline on Step Functions Standard.

Floor, measured in the same run: the job's own AWS requests made back to
back against the same emulator (requests per job x the median latency of one
request). The ratio says how much the choreography (queues, polling,
retries' bookkeeping) adds on top of the bare calls.
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
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import boto3

from talkavocado import wiring
from talkavocado.config import Settings
from talkavocado.domain.pipeline import FINALIZER, PIPELINE
from talkavocado.local.runtime import LocalRuntime
from talkavocado.local.template import Template
from talkavocado.support.observability import logger
from talkavocado.workers import steps
from talkavocado.workers.context import StepBody, StepContext, StepOutcome

REPO = Path(__file__).resolve().parents[1]
real_media_steps = steps.media_steps
SEQUENTIAL_JOBS = int(os.environ.get("BENCH_JOBS", "20"))
CONCURRENT_JOBS = 20
ROUNDS = 2
TENANT = "bench-tenant"

# Public list prices, USD, us-east-1.
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "eventbridge_event": 1.00 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "api_gateway_rest_request": 3.50 / 1e6,
    "step_functions_transition": 25.0 / 1e6,
}
DYNAMODB_READS = {"GetItem", "Query", "Scan", "BatchGetItem"}


Call = tuple[str, str, str]  # service, operation, table (DynamoDB only)


class RequestCounter:
    """botocore ``before-parameter-build`` hook: once per AWS request, with
    the request's parameters (so DynamoDB calls are told apart by table)."""

    def __init__(self) -> None:
        self.calls: Counter[Call] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event_name: str, params: dict[str, Any] | None = None, **rest: Any) -> None:
        _, service, operation = event_name.split(".", 2)  # before-parameter-build.sqs.X
        table = str((params or {}).get("TableName", "")).removeprefix("talkavocado-test-")
        with self._lock:
            self.calls[(service, operation, table)] += 1


class Durations(logging.Handler):
    """Collects the durationMs that every invocation logs."""

    def __init__(self) -> None:
        super().__init__()
        self.by_function: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        line = json.loads(logger.registered_formatter.format(record))
        if "durationMs" in line and line.get("message") in ("request handled", "step finished"):
            self.by_function.setdefault(line["functionName"], []).append(line["durationMs"])


def percentile(samples: list[float], q: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def create(api: str) -> str:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{api}/jobs",
        data=json.dumps({"tenantId": TENANT}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        job_id: str = json.loads(response.read())["jobId"]
        return job_id


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
                raise TimeoutError(job_id)
        if self._finished[job_id] != "JobCompleted":
            raise RuntimeError(f"job {job_id} failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_job(api: str, finishes: Finishes) -> float:
    start = time.perf_counter()
    finishes.wait(create(api))
    return time.perf_counter() - start


def concurrent_round(api: str, finishes: Finishes, jobs: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        latency = run_job(api, finishes)
        with lock:
            latencies.append(latency)

    start = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - start


def single_request_ms(table: Any) -> float:
    key = {"tenantId": {"S": TENANT}, "jobSort": {"S": "JOB#none"}}
    samples = []
    for _ in range(200):
        start = time.perf_counter()
        table.get_item(TableName="talkavocado-test-jobs", Key=key, ConsistentRead=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def cost_per_million(
    per_job: dict[Call, float], template: Template, durations: dict[str, list[float]]
) -> dict[str, float]:
    """USD per million jobs, by service."""
    memory = {f.logical_id: f.memory_mb for f in template.functions()}
    lambda_cost = 0.0
    for function, samples in durations.items():
        billed_seconds = math.ceil(statistics.mean(samples)) / 1000
        invocations = 1  # every function runs once per job
        lambda_cost += invocations * (
            PRICE["lambda_request"]
            + billed_seconds * memory[function] / 1024 * PRICE["lambda_gb_second_arm"]
        )
    events = per_job.get(("eventbridge", "PutEvents", ""), 0)
    dynamodb_reads = dynamodb_units(per_job, reads=True)
    dynamodb_writes = dynamodb_units(per_job, reads=False)
    # Every event a rule routes to a queue: EventBridge's SendMessage, then the
    # event source mapping's ReceiveMessage and DeleteMessage.
    sqs_requests = 3 * len(PIPELINE) + sum(n for (s, _, _), n in per_job.items() if s == "sqs")
    return {
        "API Gateway": PRICE["api_gateway_rest_request"] * 1e6,
        "Lambda": lambda_cost * 1e6,
        "DynamoDB": (
            dynamodb_reads * PRICE["dynamodb_read_unit"]
            + dynamodb_writes * PRICE["dynamodb_write_unit"]
        )
        * 1e6,
        "EventBridge": events * PRICE["eventbridge_event"] * 1e6,
        "SQS": sqs_requests * PRICE["sqs_request"] * 1e6,
    }


def dynamodb_units(per_job: dict[Call, float], *, reads: bool, table: str | None = None) -> float:
    """Request units, taking every item as under 1 KB (the job record is about that)."""
    return sum(
        n
        for (service, operation, name), n in per_job.items()
        if service == "dynamodb"
        and (operation in DYNAMODB_READS) == reads
        and table in (None, name)
    )


def _no_op(context: StepContext) -> StepOutcome:
    return StepOutcome("skipped", "no-op (benchmark)")


def no_op_steps(
    settings: Settings, engine: Callable[[], Any], spotter: Callable[[], Any] | None = None
) -> dict[str, StepBody]:
    """The choreography alone: every media step replaced by a no-op."""
    bodies = real_media_steps(settings, engine, spotter)
    return {name: body if name == FINALIZER.name else _no_op for name, body in bodies.items()}


def main() -> int:
    steps.media_steps = no_op_steps
    storage = Path(tempfile.mkdtemp(prefix="talkavocado-bench-"))
    os.environ.update({"TALKAVOCADO_ENV": "test", "MEDIA_STORAGE_PATH": str(storage)})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    runtime = LocalRuntime(REPO / "template.yaml", api_port=0, emulator_port=0).start()
    devnull = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the run
    cast(logging.StreamHandler, logger.registered_handler).setStream(devnull)  # type: ignore[type-arg]
    durations = Durations()
    logger._logger.addHandler(durations)
    counter = RequestCounter()
    wiring.session().events.register("before-parameter-build", counter)
    assert runtime.api is not None and runtime.template is not None
    api, template = runtime.api.url, runtime.template
    table = boto3.client("dynamodb")
    finishes = Finishes()
    try:
        for _ in range(3):  # warm-up: handlers built, caches filled
            run_job(api, finishes)
        counter.calls.clear()
        durations.by_function.clear()
        sequential = [run_job(api, finishes) for _ in range(SEQUENTIAL_JOBS)]
        per_job = {k: n / SEQUENTIAL_JOBS for k, n in counter.calls.items()}
        by_function = {k: list(v) for k, v in durations.by_function.items()}
        rounds = [concurrent_round(api, finishes, CONCURRENT_JOBS) for _ in range(ROUNDS)]
        one_request = single_request_ms(table)
    finally:
        finishes.stop()
        runtime.stop()

    requests_per_job = sum(per_job.values())
    floor_ms = requests_per_job * one_request
    print(
        f"Pipeline, no-op steps, local runtime ({SEQUENTIAL_JOBS} jobs one at a time, "
        f"{ROUNDS} rounds of {CONCURRENT_JOBS} at once)"
    )
    print(
        f"floor: {requests_per_job:.0f} AWS requests per job x {one_request:.2f} ms"
        f" = {floor_ms:.0f} ms"
    )
    print(
        f"{'concurrency':<12}{'p50 ms':>9}{'p95 ms':>9}{'jobs/s':>9}"
        f"{'p50/floor':>11}{'p95/floor':>11}"
    )
    seq_ms = [s * 1000 for s in sequential]
    print(
        f"{1:<12}{percentile(seq_ms, 50):>9.0f}{percentile(seq_ms, 95):>9.0f}"
        f"{SEQUENTIAL_JOBS / sum(sequential):>9.2f}{percentile(seq_ms, 50) / floor_ms:>11.2f}"
        f"{percentile(seq_ms, 95) / floor_ms:>11.2f}"
    )
    con_ms = [s * 1000 for latencies, _ in rounds for s in latencies]
    throughput = CONCURRENT_JOBS * ROUNDS / sum(wall for _, wall in rounds)
    print(
        f"{CONCURRENT_JOBS:<12}{percentile(con_ms, 50):>9.0f}{percentile(con_ms, 95):>9.0f}"
        f"{throughput:>9.2f}{percentile(con_ms, 50) / floor_ms:>11.2f}"
        f"{percentile(con_ms, 95) / floor_ms:>11.2f}"
    )

    print("\nAWS requests per job")
    for (service, operation, table), count in sorted(per_job.items()):
        print(f"  {service:<12}{operation:<14}{table:<14}{count:>6.1f}")
    costs = cost_per_million(per_job, template, by_function)
    print("\nUSD per million jobs at list prices (us-east-1; no-op steps, free tiers ignored)")
    for service, usd in costs.items():
        print(f"  {service:<14}{usd:>10.2f}")
    print(f"  {'total':<14}{sum(costs.values()):>10.2f}")
    idempotency = 1e6 * (
        dynamodb_units(per_job, reads=True, table="idempotency") * PRICE["dynamodb_read_unit"]
        + dynamodb_units(per_job, reads=False, table="idempotency") * PRICE["dynamodb_write_unit"]
    )
    choreography = costs["EventBridge"] + costs["SQS"] + idempotency
    transitions = len(PIPELINE) + 1  # one per task state, plus MarkProcessing
    sfn = transitions * PRICE["step_functions_transition"] * 1e6
    print(
        f"\nOrchestration alone (EventBridge + SQS + idempotency table): "
        f"{choreography:.2f} USD per million jobs;"
    )
    print(
        f"Step Functions Standard: {transitions} state transitions per job = {sfn:.2f} USD "
        f"per million jobs ({sfn / choreography:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
