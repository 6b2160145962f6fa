"""The SQL store (SQLAlchemy 2 + Alembic): SQLite under FOURFLOW_HOME, or PostgreSQL.

Bootstrap wires it as::

    engine = make_engine(url)            # or default_sqlite_url(home)
    migrate(engine)                      # safe on every start, and from two processes
    uow_factory = SqlUnitOfWorkFactory(engine)
"""

from __future__ import annotations

from fourflow.adapters.db.engine import default_sqlite_url, make_engine
from fourflow.adapters.db.migration import current_revision, head_revision, migrate
from fourflow.adapters.db.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

__all__ = [
    "SqlUnitOfWork",
    "SqlUnitOfWorkFactory",
    "current_revision",
    "default_sqlite_url",
    "head_revision",
    "make_engine",
    "migrate",
]
