"""template.yaml's per-step resources are written from the pipeline's one
declaration: committed as generated, and a change to a step changes them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from talkavocado.codegen import step_resources
from talkavocado.domain.pipeline import PIPELINE, STEP_NAMES
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE


def test_the_committed_template_is_what_the_declaration_writes() -> None:
    assert not step_resources.drifted(TEMPLATE)  # else: make contracts, and commit it


def test_every_step_has_exactly_one_of_each_resource() -> None:
    template = Template.load(TEMPLATE, {"Env": "test"}, "us-east-1")
    for suffix in ("Queue", "DeadLetterQueue", "Rule", "QueuePolicy", "Function"):
        for step in PIPELINE:
            assert f"{step.resource_prefix}{suffix}" in template.resources
    assert set(step_resources.NEEDS) <= set(STEP_NAMES)


def test_a_steps_needs_change_its_function_and_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    name = STEP_NAMES[1]
    slower = replace(step_resources.NEEDS[name], timeout=600)
    monkeypatch.setitem(step_resources.NEEDS, name, slower)
    rendered = step_resources.render(TEMPLATE.read_text())
    assert "VisibilityTimeout: 3600" in rendered and "Timeout: 600" in rendered


def test_a_template_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks the regions"):
        step_resources.render("Resources: {}\n")
