"""Each trade's invoice facts kept in the store (issue 17, page loads).

The credit features (a review queue's valuations, a financing decision) read the invoice
history of the parties' trades: each invoice with its payments, credit notes, rejections and
logistics (``risk.features.invoice_facts``). Until now every API process decoded those from
the documents' stored contents the first time it needed them: about 2 s for the 1,160 trades
of the largest bank's review queue over 10,000 trades, on the first load of the page in each
process. ``trade_facts`` keeps them, one row a trade: the facts as compact JSON, the key of
the document set they were computed from (``documents_key``: a trade given another document
gets a new key, so a stale row is never used) and the version of the computation
(``version``: a row of another version is not used either).

Rows are written where a trade is verified (``verification.verify_many``) and, for the trades
of an existing store, by ``Platform.initialise`` (``fourflow init`` and ``fourflow serve``;
``services.trade_facts.fill``): the backfill needs the document decoding and the facts'
computation of the code that runs, which a frozen migration must not import. This revision
creates the table only; a trade without a current row is decoded as before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``trade_facts`` (empty: ``Platform.initialise`` fills it)."""
    op.create_table(
        "trade_facts",
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("documents_key", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id", name="pk_trade_facts"),
    )


def downgrade() -> None:
    """Drop ``trade_facts``."""
    op.drop_table("trade_facts")
