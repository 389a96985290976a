"""JSON Schema files generated from pydantic models (one source of truth),
shipped in ``talkavocado/schemas/``, and validation of documents against the
shipped files."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from talkavocado.errors import SchemaViolation


class _OptionalMeansAbsent(GenerateJsonSchema):
    """Optional fields are omitted when unset, never null, so the schema does
    not admit null for them."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        generated = super().default_schema(schema)
        if generated.get("default", ...) is None:
            generated.pop("default")
        return generated


def generate(
    model: type[BaseModel], name: str, version: str, always_required: list[str]
) -> dict[str, Any]:
    """``always_required``: fields defaulted on construction that every stored
    document must still state (such as its schema version)."""
    schema = model.model_json_schema(schema_generator=_OptionalMeansAbsent)
    schema["required"] = [*always_required, *schema.get("required", [])]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://talkavocado.dev/schemas/{name}/{version}.json",
        **schema,
    }


@cache
def _validator(filename: str) -> jsonschema.Draft202012Validator:
    text = resources.files("talkavocado.schemas").joinpath(filename).read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


def validate(document: dict[str, Any], filename: str, what: str) -> None:
    errors = sorted(_validator(filename).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(root)"
        raise SchemaViolation(f"{what} invalid at {where}: {first.message}", path=where)
