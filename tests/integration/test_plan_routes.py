"""The plan routes through the API handler (moto): settings on create, a
plan read as the render cuts it, replaced, approved and exported, tenants
isolated on every route."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import opentimelineio as otio
import pytest

from talkavocado import wiring
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import AudioSection, PlanSection, VideoSection
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.media.planner import CutPlan, PlannerParameters, PlanSegment
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import mutate_job
from talkavocado_local.template import Template
from tests.conftest import sample_event
from tests.integration.test_api_handler import JOB, create_event, invoke

NOW = "2026-01-01T00:00:00.000Z"
FPS = 30000 / 1001
KEYS = JobKeys("test", "demo-tenant", JOB)
BOUNDS = [0.0, 2.76, 5.57, 8.76, 11.9, 26.37]
SEGMENTS = [
    {"start": a, "end": b, "action": "keep" if i % 2 == 0 else "cut", "reason": "r"}
    for i, (a, b) in enumerate(itertools.pairwise(BOUNDS))
]


def route(sample: str, tenant_id: str = "demo-tenant", body: Any = None, **path: str) -> Any:
    event = copy.deepcopy(sample_event(sample))
    for name, value in path.items():
        event["pathParameters"][name] = value
    event["path"] = event["resource"].format(**event["pathParameters"])
    event["queryStringParameters"] = {"tenantId": tenant_id}
    event["multiValueQueryStringParameters"] = {"tenantId": [tenant_id]}
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def create(settings: Any) -> tuple[int, dict[str, Any]]:
    source = {"originalFilename": "sample_talk.mp4", "bytes": 637153, "mimeType": "video/mp4"}
    body = {"tenantId": "demo-tenant", "jobId": JOB, "input": source, "settings": settings}
    status, answer, _ = invoke(create_event(body))
    return status, answer


def planned() -> None:
    """The job's first three steps done, as the pipeline leaves them."""
    plan = CutPlan(
        source_duration=26.37,
        parameters=PlannerParameters(),
        segments=[PlanSegment.model_validate(s) for s in SEGMENTS],
        total_cuts=2,
        kept_duration=0,
        cut_duration=0,
    )
    storage = wiring.storage()
    storage.put(KEYS, KEYS.cut_plan, plan.to_json())
    audio = AudioSection(
        key=KEYS.audio,
        codec="mp3",
        duration_sec=26.37,
        bitrate_kbps=128,
        sample_rate=44100,
        extracted_at=NOW,
    )

    def record(manifest: Any) -> None:
        manifest.audio = audio
        manifest.video = VideoSection(frame_rate=FPS, width=640, height=360)
        manifest.plan = PlanSection(
            key=KEYS.cut_plan,
            schema_version="1.0.0",
            algorithm=plan.algorithm,
            total_cuts=2,
            planned_at=NOW,
            version=1,
        )

    ManifestStore(storage).update(KEYS, record)

    def steps(job: Any) -> None:
        job.mark_started(NOW, None, "call")
        for step in STEP_NAMES[:3]:
            job.start_step(step, NOW)
            job.finish_step(step, "completed", NOW)

    mutate_job(wiring.jobs(), "demo-tenant", JOB, steps)


@pytest.fixture(autouse=True)
def fresh(aws: Template) -> None:
    wiring.reset()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"marginSeconds": -0.1}, "settings.marginSeconds"),
        ({"marginSeconds": 3}, "settings.marginSeconds"),
        ({"minPauseSeconds": 0}, "settings.minPauseSeconds"),
        ({"fillers": ["um", "<b>"]}, "settings.fillers.1"),
        ({"fillers": "um"}, "settings.fillers"),
        ({"review": "yes"}, "settings.review"),
        ({"margin": 0.2}, "settings"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(settings: Any, field: str) -> None:
    status, body = create(settings)
    assert status == 400, body
    assert [p["field"] for p in body["error"]["details"]["problems"]] == [field]


def test_settings_are_kept_and_answered_and_a_review_job_waits_after_planning() -> None:
    settings = {"marginSeconds": 0.2, "minPauseSeconds": 1, "fillers": [], "review": True}
    assert create(settings)[0] == 201
    planned()
    status, job, _ = invoke(route("api_get_job.json"))
    assert status == 200
    assert job["settings"] == settings
    assert (job["status"], job["planVersion"], job["reviewSince"]) == ("awaiting-review", 1, NOW)


def test_the_plan_is_read_snapped_replaced_approved_and_exported() -> None:
    assert create({"review": True})[0] == 201
    status, body, _ = invoke(route("api_get_plan.json"))
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")  # no plan yet
    assert invoke(route("api_export_plan.json", format="edl"))[0] == 404
    planned()

    status, plan, _ = invoke(route("api_get_plan.json"))
    assert status == 200, plan
    assert (plan["version"], plan["edited"], plan["frameRate"]) == (1, False, FPS)
    for segment in plan["segments"]:  # on the frame grid, as the render cuts
        assert segment["startFrame"] == round(segment["start"] * FPS)
        assert abs(segment["end"] * FPS - segment["endFrame"]) < 1e-4

    gap = copy.deepcopy(plan["segments"])
    gap[2]["start"] += 0.5
    status, refused, _ = invoke(route("api_replace_plan.json", body={"segments": gap}))
    assert status == 400 and refused["error"]["details"]["field"] == "segments[2].start"

    edit = [{k: s[k] for k in ("start", "end", "action")} for s in plan["segments"]]
    edit[1]["action"] = "keep"  # the first cut kept
    status, accepted, _ = invoke(route("api_replace_plan.json", body={"segments": edit}))
    assert status == 202, accepted
    assert (accepted["status"], accepted["run"], accepted["planVersion"]) == ("processing", 1, 2)
    # Rendering now: neither an edit nor an approval may change it.
    assert invoke(route("api_replace_plan.json", body={"segments": edit}))[0] == 409
    assert invoke(route("api_approve_plan.json"))[0] == 202  # asked again: harmless

    status, edited, _ = invoke(route("api_get_plan.json"))
    assert (edited["version"], edited["edited"]) == (2, True)
    assert [s["action"] for s in edited["segments"]] == ["keep", "keep", "keep", "cut", "keep"]
    manifest, _ = ManifestStore(wiring.storage()).load(KEYS)
    assert manifest.plan is not None and manifest.plan.version == 2
    assert wiring.storage().exists(KEYS, KEYS.cut_plan)  # the planner's own, kept beside

    response = wiring_response(route("api_export_plan.json", format="fcpxml"))
    assert response["statusCode"] == 200
    headers = response["multiValueHeaders"]
    assert headers["Content-Disposition"] == ['attachment; filename="sample_talk_cut.fcpxml"']
    for fmt, adapter in (("xml", "fcp_xml"), ("otio", "otio_json")):
        response = wiring_response(route("api_export_plan.json", format=fmt))
        timeline = otio.adapters.read_from_string(response["body"], adapter)
        [video] = timeline.video_tracks()
        assert len(video) == 4  # kept segments of the edited plan
        assert {c.media_reference.target_url for c in video} == {"sample_talk.mp4"}
    assert invoke(route("api_export_plan.json", format="srt"))[0] == 404  # no captions yet
    assert invoke(route("api_export_plan.json", format="mp4"))[0] == 400


def wiring_response(event: dict[str, Any]) -> dict[str, Any]:
    from talkavocado.handlers.api import lambda_handler
    from tests.integration.test_api_handler import context

    response: dict[str, Any] = lambda_handler(event, context())
    return response


@pytest.mark.parametrize(
    ("sample", "path"),
    [
        ("api_get_plan.json", {}),
        ("api_replace_plan.json", {}),
        ("api_approve_plan.json", {}),
        ("api_export_plan.json", {"format": "otio"}),
    ],
)
def test_another_tenants_job_is_404_on_every_plan_route(sample: str, path: dict[str, str]) -> None:
    assert create({"review": True})[0] == 201
    planned()
    body = {"segments": SEGMENTS} if sample == "api_replace_plan.json" else None
    status, answer, _ = invoke(route(sample, tenant_id="other-tenant", body=body, **path))
    assert (status, answer["error"]["code"]) == (404, "NOT_FOUND")
