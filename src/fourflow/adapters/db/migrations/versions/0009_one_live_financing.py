"""One live financing per holding (issue 13, races): a partial unique index.

Two financing requests on one holding at the same moment could both be approved, and the
chain then refused one of the two pledges. The financing service now locks the holding's row;
this index makes the store itself refuse a second ``approved`` or ``active`` financing of a
holding, whatever path writes it. SQLite (3.8 and later) and PostgreSQL both have partial
indexes.

A store that already holds such a pair cannot take the index: the upgrade stops and names the
holdings and their financings, to be set right first (``fourflow audit`` shows which pledge
the chain holds).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEX = "uq_financings_live_holding"
LIVE = "status IN ('approved', 'active')"
DUPLICATES = (
    "SELECT holding_id, id, status FROM financings WHERE status IN ('approved', 'active') "
    "AND holding_id IN (SELECT holding_id FROM financings WHERE status IN ('approved', "
    "'active') GROUP BY holding_id HAVING COUNT(*) > 1) ORDER BY holding_id, seq"
)


def upgrade() -> None:
    """Refuse on existing duplicates, else create the partial unique index."""
    rows = op.get_bind().execute(sa.text(DUPLICATES)).all()
    if rows:
        pairs = "; ".join(f"holding {h}: financing {f} ({s})" for h, f, s in rows)
        raise RuntimeError(
            "cannot add the one-live-financing-per-holding index: these holdings have more "
            f"than one approved or active financing: {pairs}"
        )
    op.create_index(
        INDEX,
        "financings",
        ["holding_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index(INDEX, table_name="financings")
