"""`talkavocado openapi`: the API's OpenAPI document, generated from the routes."""

from __future__ import annotations

import json

import pytest

from talkavocado_local.cli import main


def test_the_openapi_document_lists_the_routes_and_the_bearer_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["openapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"/jobs", "/jobs/{jobId}", "/jobs/{jobId}/start", "/jobs/{jobId}/retry"} <= set(
        document["paths"]
    )
    scheme = document["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert {} in document["security"]  # a deployment without an issuer needs no token
    answers = {
        status
        for operations in document["paths"].values()
        for operation in operations.values()
        for status in operation["responses"]
    }
    assert "422" not in answers and {"400", "403", "404"} <= answers
