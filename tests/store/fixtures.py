"""Store fixtures for any test suite: a migrated database on SQLite and on PostgreSQL.

Import them into a ``conftest.py`` with ``from tests.store.fixtures import *`` (or, from a
sibling of this file, ``from .fixtures import *``). The fixtures:

* ``store_url``: a database URL, parametrised over ``sqlite`` (a file under ``tmp_path``) and
  ``postgresql`` (marked ``postgres``; a fresh schema per test in the database named by
  ``FOURFLOW_TEST_PG_URL``, dropped afterwards, so tests run in parallel and rerun cleanly);
* ``migrated_store_url``: the same, already at the head revision: a copy of a database this
  process migrated once (SQLite: into ``store_url``'s own file; PostgreSQL: a database created
  from a migrated template database, dropped afterwards), so that each test does not run every
  migration again;
* ``store_engine``: an engine on ``migrated_store_url`` (``migrate`` run on it once more: it
  checks the revision and changes nothing);
* ``uow_factory``: a ``SqlUnitOfWorkFactory`` on that engine.

When PostgreSQL cannot be reached its tests are skipped with the reason, except when the
environment says ``CI=true``: there they fail, so a broken CI database is never silent.
"""

from __future__ import annotations

import functools
import os
import secrets
import sqlite3
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
    "migrated_store_url",
    "pg_base_url",
    "pg_schema_url",
    "pg_template",
    "require_postgres",
    "sqlite_template",
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file this process migrated to head once."""
    directory = tmp_path_factory.mktemp("migrated-template")
    engine = make_engine(sqlite_url(directory))
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return directory / "fourflow.db"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """The name of a PostgreSQL database this process migrated to head once (a template for
    the tests' databases); dropped at the end of the session."""
    base = require_postgres()
    name = f"ff_template_{secrets.token_hex(6)}"
    admin = make_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        # NullPool: no connection stays open on a template (CREATE DATABASE ... TEMPLATE
        # refuses a template others are connected to).
        engine = make_engine(_pg_database_url(base, name), poolclass=NullPool)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_database_url(base_url: str, database: str) -> str:
    return make_url(base_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture
def migrated_store_url(store_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """``store_url``'s backend, with a database already at the head revision.

    SQLite: the migrated template is copied into ``store_url``'s own file (the same URL).
    PostgreSQL: a fresh database created from the migrated template (another URL on the same
    server), dropped afterwards even if connections are left open on it.
    """
    if make_url(store_url).get_backend_name() == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = make_url(store_url).database
        assert target, store_url
        with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        yield store_url
        return
    template_name: str = request.getfixturevalue("pg_template")
    base = pg_base_url()
    name = f"ff_{secrets.token_hex(6)}"
    admin = make_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
        yield _pg_database_url(base, name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store_engine(migrated_store_url: str) -> Iterator[Engine]:
    """An engine on ``migrated_store_url``, at the head revision (``migrate`` checks it)."""
    engine = make_engine(migrated_store_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow_factory(store_engine: Engine) -> SqlUnitOfWorkFactory:
    """A unit-of-work factory on the migrated store."""
    return SqlUnitOfWorkFactory(store_engine)
