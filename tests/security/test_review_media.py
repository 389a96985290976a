"""What the review page reads: a job's peaks, transcript and media links are
its tenant's only; a media route takes a name from a short list, never a
path; a signed link reads only the key it was signed for, until it expires."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from talkavocado import wiring
from talkavocado.domain.keys import JobKeys
from tests.conftest import SAMPLE
from tests.e2e.conftest import Stack

OWNER, OTHER = "media-owner", "media-other"


@pytest.fixture(scope="module")
def job_id(stack: Stack) -> str:
    job_id = stack.submit(OWNER, SAMPLE)
    assert stack.wait_until_finished(OWNER, job_id, timeout=180)["status"] == "completed"
    return job_id


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def test_the_owner_reads_peaks_transcript_and_plays_its_media(stack: Stack, job_id: str) -> None:
    peaks = stack.request("GET", f"/jobs/{job_id}/peaks?tenantId={OWNER}")
    assert peaks.status == 200 and peaks.body["version"] == 2
    transcript = stack.request("GET", f"/jobs/{job_id}/transcript?tenantId={OWNER}")
    assert transcript.status == 200 and transcript.body["segments"]
    job = stack.request("GET", f"/jobs/{job_id}?tenantId={OWNER}").body
    assert job["artifacts"]["peaks"] == JobKeys("test", OWNER, job_id).peaks
    for artifact in ("source", "render", "preview"):
        link = stack.request("GET", f"/jobs/{job_id}/media/{artifact}?tenantId={OWNER}")
        assert link.status == 200, link.body
        assert link.body["expiresIn"] > 0
        status, headers, body = fetch(link.body["url"], {"Range": "bytes=0-99"})
        assert status == 206 and len(body) == 100
        assert headers["Content-Range"].startswith("bytes 0-99/")
        assert fetch(link.body["url"])[0] == 200


@pytest.mark.parametrize("path", ["peaks", "transcript", "media/source", "media/render"])
def test_another_tenant_reads_nothing_of_the_job(stack: Stack, job_id: str, path: str) -> None:
    answer = stack.request("GET", f"/jobs/{job_id}/{path}?tenantId={OTHER}")
    assert answer.status == 404
    assert answer.body["error"]["code"] == "NOT_FOUND"
    assert "url" not in answer.body


@pytest.mark.parametrize(
    "artifact",
    ["input", "manifest", "..%2Fmanifest.json", "%2e%2e", "source%2F..%2F..", "SOURCE", "audio"],
)
def test_a_media_route_takes_a_name_never_a_path(stack: Stack, job_id: str, artifact: str) -> None:
    answer = stack.request("GET", f"/jobs/{job_id}/media/{artifact}?tenantId={OWNER}")
    assert answer.status in (400, 404)
    assert "url" not in (answer.body or {})


def test_a_signed_link_reads_only_its_own_key_until_it_expires(stack: Stack, job_id: str) -> None:
    link = stack.request("GET", f"/jobs/{job_id}/media/source?tenantId={OWNER}").body["url"]
    split = urlsplit(link)
    query = {name: values[-1] for name, values in parse_qs(split.query).items()}
    keys = JobKeys("test", OWNER, job_id)

    def with_(**changed: str) -> str:
        return f"{split.scheme}://{split.netloc}{split.path}?{urlencode({**query, **changed})}"

    for forged in (
        with_(key=keys.manifest),  # another key of the same job
        with_(key=JobKeys("test", OTHER, job_id).input),  # another tenant's
        with_(expires=str(int(query["expires"]) + 3600)),  # a longer life
        with_(signature="0" * 64),
        with_(signature="é"),
    ):
        status, _, body = fetch(forged)
        assert status == 403, forged
        assert b"FORBIDDEN" in body
    signer = wiring.upload_signer()
    assert signer is not None
    assert fetch(signer.download_url(keys.input, -10))[0] == 403  # expired
    # Signed, but not a key of a job: refused before the file system is asked.
    for key in (f"{keys.prefix}../../x", "test/../etc/passwd", "/etc/passwd"):
        assert fetch(signer.download_url(key, 60))[0] == 403, key
