"""The OpenAPI's names are the models' own: no two models of one name in different modules.

When two Pydantic models share a class name (two ``RevocationIn`` once, of consents and of
mandates), FastAPI names both components after their module paths
(``fourflow__entrypoints__api__consent_routes__RevocationIn``): the web app's generated client
(web/src/api/schema.d.ts) and anyone reading the document get those names.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fourflow.entrypoints.api.app import openapi_document


def test_no_component_is_named_after_its_module() -> None:
    schemas: dict[str, Any] = openapi_document()["components"]["schemas"]
    qualified = sorted(name for name in schemas if "__" in name)
    assert not qualified, f"models sharing a class name (rename one of each): {qualified}"


def test_component_titles_and_operation_ids_are_unique() -> None:
    document = openapi_document()
    titles = Counter(str(s.get("title")) for s in document["components"]["schemas"].values())
    assert [t for t, n in titles.items() if n > 1] == []
    ids = Counter(
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    )
    assert ids and [i for i, n in ids.items() if n > 1] == []
