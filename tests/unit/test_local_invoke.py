"""Handlers run locally as Lambda runs them: one invocation at a time per
function, with a context whose remaining time counts down."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from talkavocado.domain.errors import ValidationFailed
from talkavocado_local.functions import StackAddress
from talkavocado_local.invoke import LocalContext, one_at_a_time
from talkavocado_local.runtime import _endpoint_defaults
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE


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


def test_two_stacks_each_remove_their_own_address_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    first = StackAddress("http://127.0.0.1:5050", "us-east-1", "dev")
    second = StackAddress("http://127.0.0.1:5051", "us-east-1", "dev")
    first_file = first.save(tmp_path)
    os.utime(first_file, (1, 1))  # started before the second
    second.save(tmp_path)
    assert StackAddress.find(tmp_path) == second  # the last one started
    second.release(tmp_path)  # the second stops: the first is still found
    assert StackAddress.find(tmp_path) == first
    second.save(tmp_path)
    first.release(tmp_path)  # the first stops: the second is still found
    assert StackAddress.find(tmp_path) == second
    assert oct(first_file.with_name(second.file_name).stat().st_mode & 0o777) == "0o600"
    second.release(tmp_path)
    with pytest.raises(ValidationFailed, match="no local stack is running"):
        StackAddress.find(tmp_path)


def test_the_address_of_a_stack_that_was_killed_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid names no process now
    StackAddress("http://127.0.0.1:5050", "us-east-1", "dev", pid=gone.pid).save(tmp_path)
    with pytest.raises(ValidationFailed, match="no local stack is running"):
        StackAddress.find(tmp_path)


def test_a_context_has_its_functions_template_memory_size_and_timeout() -> None:
    template = Template.load(TEMPLATE, {"Env": "dev"}, "us-east-1")
    document = template.document
    default = document["Globals"]["Function"]["MemorySize"]
    functions = template.functions()
    for function in functions:
        declared = document["Resources"][function.logical_id]["Properties"]
        context = LocalContext.of(function)
        assert context.memory_limit_in_mb == declared.get("MemorySize", default)
        assert context.timeout_ms == function.timeout * 1000
    assert {LocalContext.of(f).memory_limit_in_mb for f in functions} >= {256, 2048, 10240}
