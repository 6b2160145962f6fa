"""The financing decisions' change marks (issue 16, decisions p99): ``decision_changes`` gets
a row, written by triggers in the writer's own transaction, for every insert, update or delete
on the tables whose state an API process keeps between its batches of decisions
(``services.financing``, "running state"), in four groups:

* ``view``: the fraud scan's platform view (``trades``, ``organisations``, ``documents``,
  ``document_resubmissions``, ``mandates``);
* ``policy``: the banks' product policies (``product_policies``);
* ``model``: the registered risk models, whose champion scores (``risk_models``);
* ``exposure``: the banks' exposure (``financings``, ``receipt_pledges``,
  ``warehouse_receipts``, ``organisations`` for the debtors' industries; a financing's item's
  debtor and its trade's scenario never change once it exists).

A group's mark is the sum of its rows' weights: it grows with every committed change of its
tables and with nothing else. On PostgreSQL each row also names the writing transaction
(``tx``, ``txid_current()``), so a transaction can tell its own changes from those others
committed meanwhile; on SQLite the writer holds the store's write lock from its first
statement, so every change it sees appear is its own. Rows are only added (no writer waits on
another); the reader folds a group's rows into one of their total past a few hundred.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

#: Each watched table and the groups a change of it belongs to.
WATCHED: dict[str, tuple[str, ...]] = {
    "trades": ("view",),
    "organisations": ("view", "exposure"),
    "documents": ("view",),
    "document_resubmissions": ("view",),
    "mandates": ("view",),
    "product_policies": ("policy",),
    "risk_models": ("model",),
    "financings": ("exposure",),
    "receipt_pledges": ("exposure",),
    "warehouse_receipts": ("exposure",),
}


def _values(groups: tuple[str, ...], tx: str) -> str:
    return ", ".join(f"('{g}', 1, {tx})" for g in groups)


def upgrade() -> None:
    """Create the table (one row a group: the changes so far are unknown, counted as one) and
    the triggers."""
    op.create_table(
        "decision_changes",
        sa.Column("grp", sa.String(16), nullable=False),
        sa.Column("weight", sa.BigInteger(), nullable=False, server_default="1"),
        sa.Column("tx", sa.BigInteger(), nullable=True),
    )
    op.execute(
        "INSERT INTO decision_changes (grp, weight) VALUES "
        "('view', 1), ('policy', 1), ('model', 1), ('exposure', 1)"
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, groups in WATCHED.items():
            values = _values(groups, "txid_current()")
            body = f"INSERT INTO decision_changes (grp, weight, tx) VALUES {values}"  # noqa: S608
            op.execute(
                f"CREATE FUNCTION decision_changed_{table}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER decision_changes_{table} "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION decision_changed_{table}()"
            )
        return
    for table, groups in WATCHED.items():  # SQLite has row triggers only
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER decision_changes_{table}_{event.lower()} "  # noqa: S608
                f"AFTER {event} ON {table} "
                "BEGIN INSERT INTO decision_changes (grp, weight, tx) "
                f"VALUES {_values(groups, 'NULL')}; END"
            )


def downgrade() -> None:
    """Drop the triggers and the table."""
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS decision_changes_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS decision_changed_{table}()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS decision_changes_{table}_{event}")
    op.drop_table("decision_changes")
