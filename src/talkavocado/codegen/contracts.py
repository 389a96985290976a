"""The contracts committed beside the code, each generated from its one
source: the manifest and cut-plan schemas, a JSON Schema for each pipeline
event's detail, and the API's OpenAPI document. ``talkavocado contracts``
rewrites them into ``talkavocado/schemas/``; ``--check`` reports any that
drifted from the code (``make test`` runs it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def openapi_document() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from talkavocado.api.app import app

    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title="TalkAvocado job API",
            version="1.0.0",
            # A token is needed where the deployment names an issuer (JwtIssuer).
            security_schemes={"bearerToken": HTTPBearer(bearerFormat="JWT")},
            security=[{}, {"bearerToken": []}],
        )
    )
    # Powertools documents its own 422; this API answers invalid input with 400.
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    return document


def generated() -> dict[str, dict[str, Any]]:
    """Each contract file (relative to ``schemas/``) and its content."""
    from talkavocado.domain.events import DETAIL_VERSION, EVENT_TYPES
    from talkavocado.domain.manifest import generate_schema
    from talkavocado.media.planner import generate_plan_schema
    from talkavocado.support import schema_files

    contracts = {
        "manifest.schema.json": generate_schema(),
        "cut_plan.schema.json": generate_plan_schema(),
        "openapi.json": openapi_document(),
    }
    for name, model in EVENT_TYPES.items():
        contracts[f"events/{name}.schema.json"] = schema_files.generate(
            model, f"events/{name}", str(DETAIL_VERSION), ["detailVersion"]
        )
    return contracts


def text_of(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def write(root: Path = SCHEMAS) -> list[str]:
    written = []
    for name, document in generated().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text_of(document))
        written.append(name)
    return written


def drifted(root: Path = SCHEMAS) -> list[str]:
    """The committed files that differ from what the code generates."""
    return [
        name
        for name, document in generated().items()
        if not (root / name).is_file() or (root / name).read_text() != text_of(document)
    ]
