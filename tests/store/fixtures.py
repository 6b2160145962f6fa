"""Store fixtures for any test suite: a migrated database on SQLite and on PostgreSQL.

Import them into a ``conftest.py`` with ``from tests.store.fixtures import *`` (or, from a
sibling of this file, ``from .fixtures import *``). The fixtures:

* ``store_url``: a database URL, parametrised over ``sqlite`` (a file under ``tmp_path``) and
  ``postgresql`` (marked ``postgres``; a fresh schema per test in the database named by
  ``FOURFLOW_TEST_PG_URL``, dropped afterwards, so tests run in parallel and rerun cleanly);
* ``store_engine``: an engine on ``store_url``, migrated to head;
* ``uow_factory``: a ``SqlUnitOfWorkFactory`` on that engine.

When PostgreSQL cannot be reached its tests are skipped with the reason, except when the
environment says ``CI=true``: there they fail, so a broken CI database is never silent.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from fourflow.adapters.db import SqlUnitOfWorkFactory, make_engine, migrate

PG_URL_ENV = "FOURFLOW_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

__all__ = [
    "BACKENDS",
    "pg_base_url",
    "pg_schema_url",
    "require_postgres",
    "sqlite_url",
    "store_engine",
    "store_url",
    "uow_factory",
]


def pg_base_url() -> str:
    """The PostgreSQL database the tests use (``FOURFLOW_TEST_PG_URL`` or the CI default)."""
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


@functools.cache
def _pg_unreachable_reason(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or None when it answers."""
    engine = make_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"PostgreSQL at {shown} is unreachable ({type(exc).__name__}: {detail})"
    finally:
        engine.dispose()
    return None


def require_postgres() -> str:
    """The PostgreSQL URL; skip the test if it is unreachable (fail instead when CI=true)."""
    url = pg_base_url()
    reason = _pg_unreachable_reason(url)
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires PostgreSQL", pytrace=False)
        pytest.skip(f"{reason}; set {PG_URL_ENV} to run the PostgreSQL variants")
    return url


@contextmanager
def pg_schema_url(base_url: str) -> Iterator[str]:
    """A URL whose connections use a fresh schema of their own; the schema is dropped after."""
    schema = f"ff_{secrets.token_hex(6)}"
    admin = make_engine(base_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def sqlite_url(directory: Path) -> str:
    """The URL of a SQLite database file in ``directory``."""
    return f"sqlite:///{directory / 'fourflow.db'}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: SQLite in ``tmp_path``, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with pg_schema_url(require_postgres()) as url:
        yield url


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Engine]:
    """An engine on ``store_url``, migrated to the head revision."""
    engine = make_engine(store_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow_factory(store_engine: Engine) -> SqlUnitOfWorkFactory:
    """A unit-of-work factory on the migrated store."""
    return SqlUnitOfWorkFactory(store_engine)
