"""The native format's fast schema check (jsonschema-rs) never passes what jsonschema refuses.

``native.schema_errors`` asks the compiled validator whether a document is valid and only asks
the interpreted one (which names the problems) when it is not. A document the fast one passes
must therefore be one the interpreted one passes too: checked here on every document kind of
the demo's trades and on mutations of each field (removed, emptied, made a number, a list, an
object, given a trailing newline, an unknown key added).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from fourflow.adapters.documents import native
from fourflow.adapters.documents.jsonsafe import load_json
from fourflow.domain.scenarios import Scenario
from fourflow.services.demo import MEMBERS, trade_bundle

M = {m.key: m for m in MEMBERS}


def _bundle() -> dict[str, Any]:
    raw = trade_bundle(
        prefix="FS", seller=M["tier1"], buyer=M["core"], carrier=M["logistics"],
        lines=[("SKU-1", "100", "EA", "12.50"), ("SKU-2", "3", "KG", "0.75")],
        received_factor="1", day0=dt.date(2026, 1, 5), terms_days=90,
        scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    data = load_json(raw, "bundle.json")
    assert isinstance(data, dict)
    return data


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*path, index))


def _mutations(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    replacements: list[Any] = ["", "x\n", Decimal("12.5"), 7, True, None, [], {}, ["a"], {"a": 1}]
    for path in list(_paths(doc))[1:]:
        parent_path, last = path[:-1], path[-1]
        for replacement in [*replacements, "DROP"]:
            changed = copy.deepcopy(doc)
            parent = changed
            for step in parent_path:
                parent = parent[step]
            if replacement == "DROP":
                del parent[last]
            elif isinstance(parent[last], str) and replacement == "x\n":
                parent[last] = parent[last] + "\n"
            else:
                parent[last] = replacement
            yield changed
    extra = copy.deepcopy(doc)
    extra["unexpected"] = "field"
    yield extra


def _cases() -> Iterator[tuple[str, Any]]:
    bundle = _bundle()
    yield "bundle", bundle
    for doc in bundle["documents"]:
        yield "document", doc
        for changed in _mutations(doc):
            yield "document", changed


def test_the_fast_check_passes_only_what_the_full_one_passes() -> None:
    checked = refused = 0
    for root, data in _cases():
        full = list(native._validator(root).iter_errors(data))
        fast = native._fast_validator(root).is_valid(data)
        if fast:
            assert not full, (root, json.dumps(data, default=str)[:400], full[0].message)
        refused += bool(full)
        assert [e.message for e in native.schema_errors(root, data)] == sorted_messages(full)
        checked += 1
    assert checked > 500 and refused > 300  # the mutations do reach the schema's rules


def sorted_messages(errors: list[Any]) -> list[str]:
    return [e.message for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])]


def test_a_number_where_a_string_is_wanted_is_refused_with_its_place() -> None:
    doc = _bundle()["documents"][0]
    doc["lines"][0]["quantity"] = Decimal("100")
    errors = native.schema_errors("document", doc)
    assert errors and list(errors[0].absolute_path) == ["lines", 0, "quantity"]


@pytest.mark.parametrize("root", ["bundle", "document"])
def test_both_validators_compile_the_same_branch(root: str) -> None:
    assert native._fast_validator(root).is_valid({}) is False
    assert list(native._validator(root).iter_errors({}))
