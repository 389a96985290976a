"""Handlers run locally as Lambda runs them: one invocation at a time per
function, with a context whose remaining time counts down."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from talkavocado.local.invoke import LocalContext, one_at_a_time
from talkavocado.local.runtime import _endpoint_defaults


def test_a_function_serves_one_invocation_at_a_time() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return int(event["n"])

    invoke = one_at_a_time(handler)
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda n: invoke({"n": n}, None), range(60)))
    assert answers == list(range(60))  # each caller gets its own answer
    assert most == 1


def test_the_remaining_time_counts_down_from_the_timeout() -> None:
    context = LocalContext.for_function("F", timeout_s=2)
    first = context.get_remaining_time_in_millis()
    assert 1900 <= first <= 2000
    time.sleep(0.05)
    assert context.get_remaining_time_in_millis() <= first - 40
    assert LocalContext("F", timeout_ms=0).get_remaining_time_in_millis() == 0


def test_a_local_endpoint_without_region_or_credentials_gets_stand_ins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    filled = _endpoint_defaults(boto3.Session())
    assert filled["AWS_REGION"] == "us-east-1" and filled["AWS_ACCESS_KEY_ID"]
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "mine")
    kept = _endpoint_defaults(boto3.Session())  # what the caller set wins
    assert kept == {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"}
