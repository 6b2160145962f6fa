"""The served application matches its routers in another order than the OpenAPI document's
(``app._SERVED``: the business routes, the financing decisions, first): every declared path
must answer the same route (or the same 405) in either order, and the document stays the
one of ``app._ROUTED``, in its order.

A route is matched as Starlette matches: the first route whose path matches and which takes
the method; else the first whose path matches (405, its methods allowed); else 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

from starlette.routing import compile_path

from fourflow.entrypoints.api import app as api_app
from fourflow.entrypoints.api.routing import PREFIX

#: Values put into each path parameter: an id, a word another route declares ("me"), a
#: value with a dot.
SAMPLES = ("f-0123456789", "me", "a.b")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

Declared = tuple[re.Pattern[str], frozenset[str], Callable[..., Any]]


def _declared(routers: tuple[ModuleType, ...]) -> list[Declared]:
    found: list[Declared] = []
    for module in routers:
        for route in module.router.routes:
            regex, _, _ = compile_path(PREFIX + route.path)
            found.append((regex, frozenset(route.methods), route.endpoint))
    return found


def _answer(routes: list[Declared], method: str, path: str) -> object:
    allowed = None
    for regex, methods, endpoint in routes:
        if regex.match(path):
            if method in methods:
                return endpoint
            if allowed is None:
                allowed = ("405", tuple(sorted(methods)))
    return allowed or "404"


def test_every_declared_path_answers_the_same_route_in_the_served_order() -> None:
    documented, served = _declared(api_app._ROUTED), _declared(api_app._SERVED)
    assert len(served) == len(documented) > 100
    paths = {
        PREFIX + re.sub(r"\{[^}]+\}", value, route.path)
        for module in api_app._ROUTED
        for route in module.router.routes
        for value in SAMPLES
    }
    differ = [
        (method, path)
        for path in sorted(paths)
        for method in METHODS
        if _answer(documented, method, path) != _answer(served, method, path)
    ]
    assert differ == []


def test_the_served_document_is_the_documented_one_in_its_order() -> None:
    served = api_app._routed_app(api_app._SERVED, api_app._Served).openapi()
    documented = api_app.openapi_document()
    assert json.dumps(served) == json.dumps(documented)
    unordered = api_app._routed_app(api_app._SERVED).openapi()  # the check can fail
    assert list(unordered["paths"]) != list(documented["paths"])
