"""A webhook receiver cannot hold the notifier: each delivery has one
deadline for all of it (connecting, the answer's headers and its body), and
the notices of a batch are sent together, so a receiver trickling its answer
delays no other tenant's notification by more than that deadline."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from talkavocado.adapters.webhook_http import HttpWebhookSender
from talkavocado.config import MAX_WEBHOOK_DEADLINE_SECONDS
from talkavocado_local.notify import LoopbackReceiver
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE
from tests.e2e.conftest import Stack, running_stack

DEADLINE = 1.0
# How long a slow receiver keeps answering: far past the deadline.
TRICKLE_SECONDS = 20.0
# Room for the machine's noise around the deadline (never a tight bound).
SLACK = 4.0


class SlowReceiver:
    """Takes each POST, then answers at ``pace``: the status line at once,
    then one header line (``headers``) or one body byte (``body``) every
    ``pace`` seconds for TRICKLE_SECONDS; or ``silent``: never a byte."""

    def __init__(self, how: str, pace: float = 0.2) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"
        self.connections = 0
        self.stopped = threading.Event()
        self._how, self._pace = how, pace
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(TRICKLE_SECONDS + 5)
            try:
                connection.recv(65536)  # the request (small enough for one read)
                if self._how == "silent":
                    self.stopped.wait(TRICKLE_SECONDS)
                    return
                head = b"HTTP/1.1 200 OK\r\n"
                if self._how == "body":
                    head += f"Content-Length: {10**6}\r\n\r\n".encode()
                connection.sendall(head)
                ends = time.monotonic() + TRICKLE_SECONDS
                while time.monotonic() < ends and not self.stopped.is_set():
                    connection.sendall(b"X-Slow: 1\r\n" if self._how == "headers" else b"x")
                    time.sleep(self._pace)
                if self._how == "headers":
                    connection.sendall(b"Content-Length: 0\r\n\r\n")
            except OSError:
                return  # the sender hung up: what it should do

    def close(self) -> None:
        self.stopped.set()
        self._server.close()


@pytest.fixture
def slow() -> Iterator[Callable[[str], SlowReceiver]]:
    made: list[SlowReceiver] = []

    def make(how: str) -> SlowReceiver:
        made.append(SlowReceiver(how))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.mark.parametrize("how", ["headers", "body", "silent"])
def test_a_delivery_ends_at_its_deadline_however_the_receiver_trickles(
    slow: Callable[[str], SlowReceiver], how: str
) -> None:
    receiver = slow(how)
    sender = HttpWebhookSender(allow_loopback=True, deadline=DEADLINE)
    started = time.monotonic()
    result = sender.post(receiver.url, b"{}", {"Content-Type": "application/json"})
    took = time.monotonic() - started
    assert result.status is None and result.error is not None
    assert "within 1 s" in result.error
    assert took < DEADLINE + SLACK < TRICKLE_SECONDS


def test_a_refused_connection_is_still_answered_at_once() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    result = HttpWebhookSender(allow_loopback=True, deadline=DEADLINE).post(
        f"http://127.0.0.1:{port}/hook", b"{}", {}
    )
    assert result.status is None and "ConnectionRefused" in str(result.error)


def test_the_notifiers_function_outlasts_the_longest_deadline_allowed() -> None:
    template = Template.load(TEMPLATE, {"Env": "test"}, "us-east-1")
    [function] = [f for f in template.functions() if f.logical_id == "NotificationsFunction"]
    # The POSTs of a batch run together: one deadline, plus the reads and writes.
    assert function.timeout >= MAX_WEBHOOK_DEADLINE_SECONDS + 15


@pytest.fixture(scope="module")
def deadline_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory,
        WEBHOOK_DEADLINE_SECONDS=str(DEADLINE),
        WEBHOOK_RETRY_BASE_SECONDS="0.5",
        WEBHOOK_RETRY_SECONDS="3",
    ) as stack:
        yield stack


def cancel_a_job(stack: Stack, tenant: str) -> float:
    """Cancel a new job of ``tenant``; when the cancel was answered."""
    job_id = stack.request("POST", "/jobs", {"tenantId": tenant}).body["jobId"]
    assert stack.request("POST", f"/jobs/{job_id}/cancel?tenantId={tenant}").status == 200
    return time.monotonic()


def register(stack: Stack, tenant: str, url: str) -> dict[str, Any]:
    answer = stack.request("POST", "/webhooks", {"tenantId": tenant, "url": url})
    assert answer.status == 201, answer.body
    body: dict[str, Any] = answer.body
    return body


def test_a_trickling_receiver_never_delays_another_tenants_notification(
    deadline_stack: Stack, slow: Callable[[str], SlowReceiver], tmp_path: Path
) -> None:
    slow_tenant, other_tenant = (f"tenant-{uuid.uuid4().hex[:8]}" for _ in range(2))
    trickler = slow("headers")
    register(deadline_stack, slow_tenant, trickler.url)
    prompt = LoopbackReceiver()
    try:
        register(deadline_stack, other_tenant, prompt.url)
        slow_began = cancel_a_job(deadline_stack, slow_tenant)
        deadline = time.monotonic() + 30
        while trickler.connections == 0:  # the notifier is held by the slow receiver now
            assert time.monotonic() < deadline, "the slow receiver was never called"
            time.sleep(0.05)
        cancelled = cancel_a_job(deadline_stack, other_tenant)
        while not prompt.received:
            assert time.monotonic() < deadline, "the other tenant was never notified"
            time.sleep(0.05)
        arrived = time.monotonic()
    finally:
        prompt.close()
    # It came while the slow receiver was still trickling, within the deadline
    # (and the way through the bus and the queue) of its job's cancel.
    assert arrived - slow_began < TRICKLE_SECONDS
    assert arrived - cancelled < DEADLINE + SLACK
