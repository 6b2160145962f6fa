"""The supervision views' change mark (issue 17, page loads): ``supervision_changes`` gets a
row, written by statement triggers in the writer's own transaction, for every insert, update or
delete on the tables the supervision figures, drill-downs and network read: ``trades``,
``debt_items``, ``financings``, ``repayments``, ``organisations``, ``scenario_platforms``,
``scenario_platform_members`` and ``scenario_platform_banks``.

The mark is the sum of the rows' weights (each trigger row weighs 1): it grows with every
committed change of those tables and with nothing else (the API's audit rows, the outbox, users,
sessions), so a reader's own audited GET no longer gives the next request a new mark. Rows are
only added, so no writer waits on another (no counter row to lock); the reader folds the rows
into one of their total in one transaction once there are more than a few hundred (the sum is
unchanged by the fold).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

#: The tables the supervision views read.
WATCHED = (
    "trades",
    "debt_items",
    "financings",
    "repayments",
    "organisations",
    "scenario_platforms",
    "scenario_platform_members",
    "scenario_platform_banks",
)


def upgrade() -> None:
    """Create the table (one row: the changes so far are unknown, counted as one) and the
    triggers."""
    op.create_table(
        "supervision_changes",
        sa.Column("weight", sa.BigInteger(), nullable=False, server_default="1"),
    )
    op.execute("INSERT INTO supervision_changes (weight) VALUES (1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION supervision_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO supervision_changes (weight) VALUES (1);
                RETURN NULL;
            END $$
            """
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER supervision_changes_{table} "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION supervision_changed()"
            )
        return
    for table in WATCHED:  # SQLite has row triggers only
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER supervision_changes_{table}_{event.lower()} "  # noqa: S608
                f"AFTER {event} ON {table} "
                "BEGIN INSERT INTO supervision_changes (weight) VALUES (1); END"
            )


def downgrade() -> None:
    """Drop the triggers and the table."""
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS supervision_changes_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS supervision_changed()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS supervision_changes_{table}_{event}")
    op.drop_table("supervision_changes")
