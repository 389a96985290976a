"""The committed contracts never drift from the code: the schemas and the
OpenAPI document match what the code generates, the resolver serves exactly
template.yaml's routes, and real events validate against their schemas."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from talkavocado.api.app import app
from talkavocado.codegen import sample_events
from talkavocado.codegen.contracts import SCHEMAS, drifted
from talkavocado.domain.errors import ErrorType
from talkavocado.domain.events import EVENT_TYPES, event_for
from talkavocado.domain.jobs import JobError, JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE

KEYS = JobKeys("dev", "demo-tenant", "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69")


def test_every_committed_contract_is_what_the_code_generates() -> None:
    assert drifted() == []  # else: make contracts, and commit the result
    assert sample_events.drifted(TEMPLATE.parent / "events") == []


def _openapi_form(path: str) -> str:
    """The resolver's ``/jobs/<jobId>`` as the template writes it: ``/jobs/{jobId}``."""
    return re.sub(r"<([^>]+)>", r"{\1}", path)


def test_the_api_serves_exactly_the_routes_the_template_declares() -> None:
    template = Template.load(TEMPLATE, {"Env": "dev"}, "us-east-1")
    declared = {(route.method, route.path) for route in template.routes()}
    served = {
        (route.method, _openapi_form(route.path))
        for route in [*app._static_routes, *app._dynamic_routes]
    }
    assert served == declared
    documented = json.loads((SCHEMAS / "openapi.json").read_text())["paths"]
    assert {
        (method.upper(), path) for path, ops in documented.items() for method in ops
    } == declared


@pytest.mark.parametrize("detail_type", EVENT_TYPES)
def test_a_real_event_validates_against_its_committed_schema(detail_type: str) -> None:
    job = JobRecord.for_job(KEYS, correlation_id="c", status="processing")
    manifest = Manifest.for_job(KEYS, source_video_key=KEYS.input)
    error = JobError(type=ErrorType.TIMEOUT, message="slow", step="video-render")
    event = event_for(detail_type, job, manifest, error if detail_type == "JobFailed" else None)
    schema = json.loads((SCHEMAS / "events" / f"{detail_type}.schema.json").read_text())
    jsonschema.validate(json.loads(event.detail_json()), schema)
    forged = {**json.loads(event.detail_json()), "tenantId": "Not A Tenant"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(forged, schema)
