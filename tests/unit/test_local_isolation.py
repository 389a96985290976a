"""The local runtime gives each invocation its own Powertools state, so
handlers decorated as on AWS never mix log keys or metrics when several run
at once in one process."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from talkavocado.support.observability import bind_job, bind_work, logger, metrics
from talkavocado_local.invoke import LocalContext
from talkavocado_local.isolation import in_own_context

INVOCATIONS = 24


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> None:
    bind_work(correlation_id=f"c-{event['n']}", step="s")
    event["ready"].wait()  # every invocation has bound its keys before any logs
    bind_job(tenant_id=f"t-{event['n']}", job_id=f"j-{event['n']}")
    metrics.add_metric(name=f"M{event['n']}", unit=MetricUnit.Count, value=1)
    logger.info("working")


def test_concurrent_invocations_keep_their_own_log_keys_and_metrics(
    log_lines: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    invoke = in_own_context(handler)
    ready = threading.Barrier(INVOCATIONS)

    class Gate:
        def wait(self) -> None:
            ready.wait(timeout=10)

    with ThreadPoolExecutor(INVOCATIONS) as pool:
        calls = [
            pool.submit(invoke, {"n": n, "ready": Gate()}, LocalContext.for_function(f"F{n}"))
            for n in range(INVOCATIONS)
        ]
        for call in calls:
            call.result()

    assert len(log_lines) == INVOCATIONS
    for line in log_lines:
        n = line["correlationId"].removeprefix("c-")
        assert (line["tenantId"], line["jobId"], line["functionName"]) == (
            f"t-{n}",
            f"j-{n}",
            f"F{n}",
        )
    documents = [json.loads(out) for out in capsys.readouterr().out.splitlines() if '"_aws"' in out]
    emitted = [
        [metric["Name"] for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        for doc in documents
    ]
    assert sorted(emitted) == sorted([[f"M{n}"] for n in range(INVOCATIONS)])


def test_keys_bound_in_one_invocation_are_gone_in_the_next(
    log_lines: list[dict[str, Any]],
) -> None:
    @logger.inject_lambda_context(clear_state=True)
    def tell(event: dict[str, Any], context: Any) -> None:
        if event["bind"]:
            bind_job(tenant_id="t-1", job_id="j-1")
        logger.info("told")

    invoke = in_own_context(tell)
    invoke({"bind": True}, LocalContext.for_function("F"))
    invoke({"bind": False}, LocalContext.for_function("F"))
    assert [line.get("tenantId") for line in log_lines] == ["t-1", None]
