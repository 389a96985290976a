"""The local API front under load: every concurrent client gets an answer,
and always its own (one request per handler at a time, as on Lambda)."""

from __future__ import annotations

import json
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from tests.e2e.conftest import HttpResponse, Stack

CLIENTS = 100


def test_concurrent_creates_of_one_job_id_get_one_201_and_the_rest_409(stack: Stack) -> None:
    for _ in range(5):
        job_id = str(uuid.uuid4())
        body = {"tenantId": "tenant-race", "jobId": job_id}
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda b: stack.request("POST", "/jobs", b), [body] * CLIENTS))
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [201] + [409] * (CLIENTS - 1)
        assert all(answer.body["jobId"] == job_id for answer in answers if answer.status == 201)


def test_interleaved_reads_by_two_tenants_each_get_their_own_job(stack: Stack) -> None:
    jobs = {}
    for tenant in ("tenant-left", "tenant-right"):
        created = stack.request("POST", "/jobs", {"tenantId": tenant})
        assert created.status == 201
        jobs[tenant] = created.body["jobId"]
    tenants = ["tenant-left", "tenant-right"] * 1000

    def read(tenant: str) -> tuple[str, HttpResponse]:
        return tenant, stack.request("GET", f"/jobs/{jobs[tenant]}?tenantId={tenant}")

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(read, tenants))
    assert len(answers) == 2000
    for tenant, answer in answers:
        assert answer.status == 200, answer.body
        assert (answer.body["tenantId"], answer.body["jobId"]) == (tenant, jobs[tenant])


def test_concurrent_creates_by_many_tenants_answer_each_with_its_own_job(stack: Stack) -> None:
    tenants = [f"tenant-{index}" for index in range(CLIENTS)]

    def create(tenant: str) -> tuple[str, HttpResponse]:
        return tenant, stack.request("POST", "/jobs", {"tenantId": tenant})

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(create, tenants))
    for tenant, answer in answers:
        assert answer.status == 201 and answer.body["tenantId"] == tenant


def test_a_malformed_content_length_gets_a_400_with_a_correlation_id(stack: Stack) -> None:
    address = urlsplit(stack.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(
            b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Correlation-Id: bad-length-1\r\nContent-Length: abc\r\n\r\n{}"
        )
        received = b""
        while chunk := connection.recv(65536):  # the front closes: the body's end is unknown
            received += chunk
    answer = received.decode()
    assert answer.startswith("HTTP/1.1 400"), answer
    assert "X-Correlation-Id: bad-length-1" in answer
    assert json.loads(answer.split("\r\n\r\n", 1)[1])["correlationId"] == "bad-length-1"
