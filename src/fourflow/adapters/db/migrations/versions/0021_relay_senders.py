"""One relay per sender at a time (issue 16, operations).

``relay_senders``: one row per organisation that sends chain operations. A relay claims a
sender by locking its row (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL) for as long
as it sends that sender's operations, so several workers relay different senders side by
side and never the same sender at once (its nonces stay in order). The lock is all a claim
holds: the row is never updated (an update would make a first claimant's insert wait).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "relay_senders",
        sa.Column("sender_org_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("sender_org_id", name="pk_relay_senders"),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("relay_senders")
