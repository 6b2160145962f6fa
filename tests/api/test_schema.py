"""schemathesis against the API's own OpenAPI, on a bounded budget: no 5xx, every response
documented and matching its schema, for an unauthenticated caller and an enterprise's admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.identity import Principal, UserRole, org_types
from fourflow.domain.parties import Role
from fourflow.entrypoints.api.app import create_app
from fourflow.services import financing, identity, onboarding, relay
from fourflow.services.demo import demo_uscc
from tests.api.conftest import api_settings

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-schema")]

EXAMPLES = 10
#: Seconds a generated call may take (schemathesis' own default is 10): the suite runs on 2
#: loaded cores, and a call's time is not what these checks judge.
CALL_TIMEOUT = 120
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[FastAPI, str]]:
    """The API on an initialised platform with one admitted enterprise; its admin's API key."""
    home: Path = tmp_path_factory.mktemp("schema") / "home"
    with Platform(api_settings(home, f"sqlite:///{home.parent / 'store.db'}", anvil.url)) as p:
        p.initialise()
        org = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name="Schema Test Co",
            uscc=demo_uscc("320500", "MA1XCHEMA"), roles=[Role.SUPPLIER],
        )  # fmt: skip
        relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        admin = Principal(org.id, org_types(org.roles), UserRole.ADMIN, None, "cli", "cli")
        key = identity.create_api_key(p.identities, admin=admin, role=UserRole.ADMIN, label="fuzz")
        # as ``serve`` does in each API process before it listens: the champion model is loaded
        # (or, on a fresh home, made from the cold-start history) now, not in the first
        # generated POST /financings, which took over 10 s on a loaded machine
        financing.warm_up(uow_factory=p.uow_factory)
        yield create_app(p), key.secret


def _fuzz(app: FastAPI, headers: dict[str, str]) -> int:
    """Every operation of the OpenAPI, a bounded number of generated cases each, checked."""
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = 0
    for result in api.get_all_operations():
        assert isinstance(result, Ok), (
            f"the OpenAPI has an operation Schemathesis cannot read: {result}"
        )
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
            derandomize=True, database=None,
        )  # fmt: skip
        def call(case: schemathesis.Case[Any]) -> None:  # as_strategy's cases are Case[Any]
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=CALL_TIMEOUT)

        call()
    return operations


def test_unauthenticated_calls_conform(served: tuple[FastAPI, str]) -> None:
    assert _fuzz(served[0], {}) >= 30


def test_an_enterprise_admins_calls_conform(served: tuple[FastAPI, str]) -> None:
    assert _fuzz(served[0], {"X-API-Key": served[1]}) >= 30
