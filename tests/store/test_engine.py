"""Engines: SQLite pragmas and URL handling (no database server needed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from fourflow.adapters.db import default_sqlite_url, make_engine
from fourflow.adapters.db.engine import normalise_url


def test_default_sqlite_url_is_under_home(tmp_path: Path) -> None:
    assert default_sqlite_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/fourflow.db"


def test_sqlite_connections_are_tuned(tmp_path: Path) -> None:
    engine = make_engine(default_sqlite_url(tmp_path))
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous",
                             "page_size")
            }  # fmt: skip
    finally:
        engine.dispose()
    # synchronous: 1 is NORMAL
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30_000,
        "synchronous": 1,
        "page_size": 16_384,
    }


def test_an_existing_sqlite_file_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE t (x INTEGER)")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 4096
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_sqlite_savepoints_roll_back_inside_the_transaction(tmp_path: Path) -> None:
    engine = make_engine(default_sqlite_url(tmp_path))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect() as connection:
            with connection.begin():
                connection.execute(text("INSERT INTO t VALUES (1)"))
                nested = connection.begin_nested()
                connection.execute(text("INSERT INTO t VALUES (2)"))
                nested.rollback()
            total = connection.execute(text("SELECT group_concat(x) FROM t")).scalar()
    finally:
        engine.dispose()
    assert total == "1"


def test_postgresql_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg2://u@h/db"):
        assert normalise_url(url).drivername == "postgresql+psycopg"


def test_no_engine_is_built_at_import_time() -> None:
    import fourflow.adapters.db as db

    assert not [name for name, value in vars(db).items() if type(value).__name__ == "Engine"]
