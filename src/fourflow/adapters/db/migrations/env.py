"""Alembic environment for FourFlow: runs on the connection ``migrate`` hands over.

``fourflow.adapters.db.migration.migrate`` opens the transaction and takes the migration lock
before calling Alembic, so this file only configures the context and runs the scripts.
"""

from __future__ import annotations

from alembic import context

from fourflow.adapters.db.tables import metadata


def run_online() -> None:
    """Run the migrations on the connection passed in ``config.attributes``."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through fourflow.adapters.db.migration.migrate")
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("FourFlow migrations run online only, through migrate()")
run_online()
