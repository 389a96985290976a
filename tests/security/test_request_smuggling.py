"""Request smuggling against the local front (`talkavocado up`), over raw
sockets: a request whose body's end is ambiguous is refused, and one
connection never carries more than one request, so no body can run as a
request of its own."""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Stack


def exchange(stack: Stack, data: bytes) -> list[int]:
    """Send ``data`` on one connection, end the sending side, and return the
    status of every answer that came back before the front closed it."""
    address = urlsplit(stack.url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=20) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return [int(code) for code in re.findall(rb"(?:^|\r\n)HTTP/1\.[01] (\d{3}) ", received)]


def smuggled(job_id: str) -> bytes:
    """A whole second request hidden in the first one's body: it would
    create a job anyone can look for."""
    body = json.dumps({"tenantId": "tenant-smuggled", "jobId": job_id}).encode()
    return (
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def head(*lines: str) -> bytes:
    return (
        "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "".join(f"{line}\r\n" for line in lines)
        + "\r\n"
    ).encode()


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"


def was_run(stack: Stack, job_id: str) -> bool:
    answer = stack.request("GET", f"/jobs/{job_id}?tenantId=tenant-smuggled")
    assert answer.status in (200, 404)
    return answer.status == 200


CREATE = json.dumps({"tenantId": "tenant-honest"}).encode()
# Each: the request (given the smuggled one) and the answer the front gives.
ATTACKS: dict[str, tuple[Callable[[bytes], bytes], int]] = {
    # CL.TE: a front reading Content-Length runs what follows "0" as a request.
    "Content-Length and chunked": (
        lambda hidden: (
            head("Content-Length: 5", "Transfer-Encoding: chunked") + b"0\r\n\r\n" + hidden
        ),
        400,
    ),
    # TE.CL: the reverse, the chunk holds the second request.
    "chunked and Content-Length": (
        lambda hidden: head("Transfer-Encoding: chunked", "Content-Length: 4") + chunked(hidden),
        400,
    ),
    "two different Content-Lengths": (
        lambda hidden: (
            head("Content-Length: 2", f"Content-Length: {2 + len(hidden)}") + b"{}" + hidden
        ),
        400,
    ),
    "two different Content-Lengths, the longer first": (
        lambda hidden: (
            head(f"Content-Length: {2 + len(hidden)}", "Content-Length: 2") + b"{}" + hidden
        ),
        400,
    ),
    "a Content-Length list": (
        lambda hidden: head(f"Content-Length: 2, {2 + len(hidden)}") + b"{}" + hidden,
        400,
    ),
    "a coding besides chunked": (
        lambda hidden: head("Transfer-Encoding: gzip, chunked") + chunked(hidden),
        501,
    ),
    "an unknown coding": (
        lambda hidden: head("Transfer-Encoding: xchunked") + chunked(hidden),
        501,
    ),
    "chunked twice": (
        lambda hidden: (
            head("Transfer-Encoding: chunked", "Transfer-Encoding: chunked") + chunked(hidden)
        ),
        501,
    ),
    "chunked in HTTP/1.0": (
        lambda hidden: (
            head("Transfer-Encoding: chunked").replace(b"HTTP/1.1", b"HTTP/1.0", 1)
            + chunked(hidden)
        ),
        400,
    ),
    "a malformed chunk size": (
        lambda hidden: head("Transfer-Encoding: chunked") + b"zz\r\n{}\r\n0\r\n\r\n" + hidden,
        400,
    ),
    # Well framed: the first request is answered, what follows it is not.
    "a chunked body, then a request": (
        lambda hidden: head("Transfer-Encoding: chunked") + chunked(CREATE) + hidden,
        201,
    ),
    "a pipelined request": (
        lambda hidden: head(f"Content-Length: {len(CREATE)}") + CREATE + hidden,
        201,
    ),
}


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
def test_a_body_never_runs_as_a_request_of_its_own(stack: Stack, attack: str) -> None:
    build, expected = ATTACKS[attack]
    job_id = str(uuid.uuid4())
    assert exchange(stack, build(smuggled(job_id))) == [expected]
    assert not was_run(stack, job_id)


def test_a_chunked_body_is_read_whole(stack: Stack) -> None:
    job_id = str(uuid.uuid4())
    body = json.dumps({"tenantId": "tenant-smuggled", "jobId": job_id}).encode()
    parts = (body[:7], body[7:])
    pieces = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in parts)
    assert exchange(stack, head("Transfer-Encoding: chunked") + pieces + b"0\r\n\r\n") == [201]
    assert was_run(stack, job_id)


def test_a_chunked_upload_is_refused_for_want_of_a_length(stack: Stack) -> None:
    request = (
        b"POST /_uploads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\n\r\n" + chunked(b"--b--\r\n")
    )
    assert exchange(stack, request) == [411]
