"""Review and plan edits end to end through the local stack, on the bundled
sample: a job that asks for a review waits after planning; flipping a cut to
keep renders exactly the edited plan's kept time; an edit of the finished
job renders it again as run 2. One job serves every assertion (the media
steps are the slow part)."""

from __future__ import annotations

import urllib.request
from typing import Any

from talkavocado.adapters import ffmpeg
from tests.conftest import SAMPLE
from tests.e2e.conftest import Stack
from tests.e2e.test_pipeline import new_tenant


def kept(plan: dict[str, Any]) -> float:
    return float(sum(s["end"] - s["start"] for s in plan["segments"] if s["action"] == "keep"))


def rendered_duration(stack: Stack, job: dict[str, Any], fps: float) -> float:
    render = stack.storage / job["artifacts"]["renders"][0]
    return ffmpeg.stream_duration(render, "v", fps, 60)


def test_a_review_job_waits_and_renders_its_edited_plan_then_a_second_run(stack: Stack) -> None:
    tenant = new_tenant()
    settings = {"review": True, "marginSeconds": 0.2}
    job_id = stack.submit(tenant, SAMPLE, settings=settings)
    query = f"?tenantId={tenant}"
    job = stack.wait_for_job(
        tenant, job_id, lambda j: j["status"] in ("awaiting-review", "failed"), timeout=120
    )
    assert job["status"] == "awaiting-review", job["error"]
    assert job["settings"]["marginSeconds"] == 0.2 and job["planVersion"] == 1
    assert job["steps"]["video-render"]["status"] == "pending"
    assert not job["artifacts"]["renders"]

    plan = stack.request("GET", f"/jobs/{job_id}/plan{query}").body
    fps = plan["frameRate"]
    assert fps == ffmpeg.probe(SAMPLE, 30).fps
    cuts = [i for i, s in enumerate(plan["segments"]) if s["action"] == "cut"]
    assert cuts, plan
    edit = plan["segments"]
    edit[cuts[0]]["action"] = "keep"  # the first cut kept after all
    answer = stack.request("PUT", f"/jobs/{job_id}/plan{query}", {"segments": edit})
    assert answer.status == 202, answer.body
    assert answer.body["planVersion"] == 2

    job = stack.wait_until_finished(tenant, job_id, timeout=120)
    assert (job["status"], job["run"]) == ("completed", 1), job["error"]
    edited = stack.request("GET", f"/jobs/{job_id}/plan{query}").body
    assert (edited["version"], edited["edited"]) == (2, True)
    assert abs(rendered_duration(stack, job, fps) - kept(edited)) <= 1 / fps + 1e-6

    # After completion: every cut kept but the last one, rendered as run 2.
    second = [{**s, "action": "keep"} for s in edited["segments"]]
    last_cut = max(i for i, s in enumerate(edited["segments"]) if s["action"] == "cut")
    second[last_cut]["action"] = "cut"
    answer = stack.request("PUT", f"/jobs/{job_id}/plan{query}", {"segments": second})
    assert answer.status == 202, answer.body
    assert (answer.body["run"], answer.body["planVersion"]) == (2, 3)
    job = stack.wait_for_job(
        tenant, job_id, lambda j: j["run"] == 2 and j["status"] in ("completed", "failed")
    )
    assert job["status"] == "completed", job["error"]
    assert job["steps"]["transcription"]["run"] == 1  # reused, not run again
    assert job["steps"]["video-render"]["run"] == 2
    final = stack.request("GET", f"/jobs/{job_id}/plan{query}").body
    assert abs(rendered_duration(stack, job, fps) - kept(final)) <= 1 / fps + 1e-6
    history = stack.request("GET", f"/jobs/{job_id}/history{query}&limit=100").body["history"]
    kinds = [entry["kind"] for entry in history]
    assert "awaiting-review" in kinds and "plan-approved" in kinds
    [rerun] = [entry for entry in history if entry["kind"] == "rerendered"]
    assert (rerun["run"], rerun["resumeAt"], rerun["planVersion"]) == (2, "video-render", 3)

    url = f"{stack.url}/jobs/{job_id}/exports/fcpxml{query}"
    with urllib.request.urlopen(url, timeout=30) as export:
        assert b"<fcpxml" in export.read()
        assert export.headers["Content-Disposition"].endswith('_cut.fcpxml"')
    # The captions of the cut are served as exports too, on the render's timeline.
    for fmt, opening in (("srt", b"1\n"), ("vtt", b"WEBVTT")):
        with urllib.request.urlopen(f"{stack.url}/jobs/{job_id}/exports/{fmt}{query}") as cues:
            assert cues.read().lstrip(b"\xef\xbb\xbf").startswith(opening)
