"""Platform identities (issue 16): users of organisations, hashed credentials, sign-in attempts,
enterprise applications with their KYC review, and four-eyes approvals.

``platform_users``: a person of an organisation (argon2id password hash, role, TOTP secret).
``credentials``: access and refresh tokens, API keys and invitations, stored as SHA-256 hashes,
expiring and revocable. ``sign_in_attempts``: what sign-in throttling counts.
``org_applications``: an enterprise's self-registration and the operator's recorded KYC review.
``approvals``: a first person's proposal that a second person must approve (four eyes).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _entity(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{table}"),
        sa.UniqueConstraint("id", name=f"uq_{table}_id"),
    ]


INDEXES = {
    "platform_users": ("org_id", "application_id"),
    "credentials": ("user_id", "org_id"),
    "sign_in_attempts": ("subject", "at"),
    "org_applications": ("uscc",),
    "approvals": ("subject_id",),
}


def upgrade() -> None:
    """Create the identity tables and their indexes."""
    op.create_table(
        "platform_users",
        *_entity("platform_users"),
        sa.Column("org_id", sa.String(), nullable=True),
        sa.Column("application_id", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("totp_secret", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("email", name="uq_platform_users_email"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "credentials",
        *_entity("credentials"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("org_id", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("secret_hash", name="uq_credentials_secret_hash"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_sign_in_attempts"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "org_applications",
        *_entity("org_applications"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("uscc", sa.String(), nullable=False),
        sa.Column("org_type", sa.String(), nullable=False),
        sa.Column("licence", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=True),
        sa.Column("kyc", sa.JSON(), nullable=True),
        sa.Column("reviewed_by", sa.String(), nullable=True),
        sa.Column("reviewed_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "approvals",
        *_entity("approvals"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("proposed_by", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sqlite_autoincrement=True,
    )
    for table, columns in INDEXES.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    """Drop the identity tables."""
    for table, columns in INDEXES.items():
        for column in columns:
            op.drop_index(f"ix_{table}_{column}", table_name=table)
    for table in INDEXES:
        op.drop_table(table)
