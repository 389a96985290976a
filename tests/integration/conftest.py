"""Integration fixtures: moto in-process, resources created from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from talkavocado_local.emulator import provision
from talkavocado_local.template import Template
from tests.conftest import TEMPLATE


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, storage_root: Path) -> Iterator[Template]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        template = Template.load(TEMPLATE, {"Env": "test"}, "us-east-1")
        provision(template, boto3.Session())
        for function in template.functions():
            for name, value in function.environment.items():
                monkeypatch.setenv(name, value)
        # As in the local runtime: media under MEDIA_STORAGE_PATH, where tests look.
        monkeypatch.setenv("STORAGE_BACKEND", "local")
        yield template
