"""template.yaml's per-step resources are written from the pipeline's one
declaration: committed as generated, and a change to a step changes them."""

from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatch

import pytest

from talkavocado.codegen import step_resources
from talkavocado.domain.events import PipelineEvent
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.pipeline import PIPELINE, STEP_NAMES, Step
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE


def test_the_committed_template_is_what_the_declaration_writes() -> None:
    assert not step_resources.drifted(TEMPLATE)  # else: make contracts, and commit it


def test_every_step_has_exactly_one_of_each_resource() -> None:
    template = Template.load(TEMPLATE, {"Env": "test"}, "us-east-1")
    for suffix in ("Queue", "DeadLetterQueue", "Rule", "QueuePolicy", "Function"):
        for step in PIPELINE:
            assert f"{step.resource_prefix}{suffix}" in template.resources


@pytest.mark.parametrize("step", PIPELINE, ids=STEP_NAMES)
def test_a_step_may_write_what_it_declares_and_announces_only_that(step: Step) -> None:
    keys = JobKeys("test", "demo-tenant", "00000000-0000-4000-8000-000000000000")
    for key in keys.outputs_of(step):
        relative = key.removeprefix(keys.prefix)
        assert any(fnmatch(relative, pattern) for pattern in step.needs.writes), relative
    for field, name in step.announces:
        assert field in PipelineEvent.model_fields and name in step.writes


def test_a_steps_needs_change_its_function_and_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    step = PIPELINE[1]
    slower = replace(step, needs=replace(step.needs, timeout=600))
    pipeline = tuple(slower if s == step else s for s in PIPELINE)
    monkeypatch.setattr(step_resources, "PIPELINE", pipeline)
    rendered = step_resources.render(TEMPLATE.read_text())
    assert "VisibilityTimeout: 3600" in rendered and "Timeout: 600" in rendered


def test_a_template_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks the regions"):
        step_resources.render("Resources: {}\n")
