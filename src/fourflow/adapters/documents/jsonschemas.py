"""JSON Schema validation against official schemas: GS1 EPCIS 2.0 and DCSA OpenAPI components.

Validators are compiled once per process (``functools.cache``); the schemas are read from the
standards directory (``standards.artefact``), never shipped with FourFlow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

import jsonschema
import yaml

from fourflow.adapters.documents.registry import ValidationIssue
from fourflow.adapters.documents.standards import artefact

MAX_ISSUES = 20

EPCIS_SCHEMA = ("epcis", "schema", "EPCIS-JSON-Schema.json")


def _pointer(path: Iterable[Any]) -> str:
    return "/" + "/".join(str(p) for p in path)


def _issues(validator: jsonschema.protocols.Validator, data: object) -> list[ValidationIssue]:
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [
        ValidationIssue("SCHEMA", "fatal", e.message[:300], _pointer(e.absolute_path))
        for e in errors[:MAX_ISSUES]
    ]


@cache
def epcis_validator() -> jsonschema.protocols.Validator:
    """The compiled validator of the inlined EPCIS 2.0 JSON Schema (draft 7)."""
    path = artefact(*EPCIS_SCHEMA)
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def validate_epcis(data: object) -> list[ValidationIssue]:
    """Check an EPCIS 2.0 JSON(-LD) document against the official JSON Schema."""
    return _issues(epcis_validator(), data)


@cache
def _openapi_components(*parts: str) -> dict[str, Any]:
    document = yaml.safe_load(artefact(*parts).read_text(encoding="utf-8"))
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


@cache
def openapi_validator(spec: tuple[str, ...], name: str) -> jsonschema.protocols.Validator:
    """The compiled validator of ``components.schemas[name]`` of an OpenAPI 3.0 YAML file.

    OpenAPI 3.0 schemas are a JSON Schema draft-4 dialect (boolean ``exclusiveMinimum``); the
    ``#/components/schemas/...`` references resolve inside a wrapper holding the components.
    ``nullable`` and ``example`` are annotations draft 4 ignores.
    """
    components = _openapi_components(*spec)
    if name not in components:
        raise KeyError(f"{'/'.join(spec)}: no components.schemas.{name}")
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": components}}
    validator: jsonschema.protocols.Validator = jsonschema.Draft4Validator(root)
    return validator


def validate_openapi(data: object, *, spec: tuple[str, ...], name: str) -> list[ValidationIssue]:
    """Check ``data`` against the OpenAPI component schema ``name`` of ``spec``."""
    return _issues(openapi_validator(spec, name), data)
