"""An initialised platform on this worker's anvil node (SQLite and PostgreSQL), and the API
over it through an in-process HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.entrypoints.api.app import create_app
from tests.integration.conftest import anvil, worker_home  # noqa: F401  (fixtures)
from tests.store.fixtures import (  # noqa: F401  (fixtures)
    migrated_store_url,
    pg_template,
    sqlite_template,
    store_url,
)

#: Requests over this amount need a credit officer and an approver.
FOUR_EYES_LIMIT = "100000"


def api_settings(home: Path, database_url: str, chain_url: str) -> Settings:
    return Settings(
        home=home,
        database_url=database_url,
        chain_url=chain_url,
        keystore_password="api-test-password",
        four_eyes_limit=FOUR_EYES_LIMIT,
        events_stream_seconds=0.2,  # an event stream opened without ?seconds= ends soon
    )


@pytest.fixture
def api_platform(
    tmp_path: Path,
    migrated_store_url: str,  # noqa: F811
    anvil: AnvilNode,  # noqa: F811
) -> Iterator[Platform]:
    """A fresh, initialised platform (operator and contracts) over each store backend (a store
    already at the head revision: opening it checks the revision)."""
    with Platform(api_settings(tmp_path / "home", migrated_store_url, anvil.url)) as opened:
        opened.initialise()
        yield opened


@pytest.fixture
def client(api_platform: Platform) -> Iterator[TestClient]:
    """The API over ``api_platform`` (server errors answered as 500, not raised)."""
    with TestClient(create_app(api_platform), raise_server_exceptions=False) as opened:
        yield opened
