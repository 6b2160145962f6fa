"""Initial schema: organisations, documents, trades, debt items, financings, outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Hand-written, and frozen: it must not import the live table metadata, so that later changes
to ``tables.py`` arrive through new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ENTITY = {"sqlite_autoincrement": True}


def _seq_type() -> sa.types.TypeEngine[int]:
    """BIGINT on PostgreSQL; INTEGER on SQLite (only that aliases the rowid)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _entity(table: str) -> list[sa.schema.SchemaItem]:
    """The ``seq`` primary key and unique ``id`` every entity table starts with."""
    return [
        sa.Column("seq", _seq_type(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{table}"),
        sa.UniqueConstraint("id", name=f"uq_{table}_id"),
    ]


def _ts(name: str) -> sa.Column[object]:
    """An aware UTC timestamp column."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.schema.SchemaItem:
    """A foreign key named by the metadata's naming convention."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _index(table: str, *columns: str, unique: bool = False) -> None:
    """Create an index named ``ix_<table>_<columns>``."""
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    """Create every table of the first release."""
    _organisations()
    _trades()
    _batches()
    _documents()
    _debt_items()
    _holdings()
    _financings()
    _repayments()
    _outbox()
    _settings()


def _organisations() -> None:
    op.create_table(
        "organisations",
        *_entity("organisations"),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("uscc", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("chain_address", sa.String(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("uscc", name="uq_organisations_uscc"),
        **_ENTITY,
    )
    op.create_table(
        "organisation_keys",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_organisation_keys"),
        _fk("organisation_keys", "org_id", "organisations", ondelete="CASCADE"),
    )
    _index("organisation_keys", "org_id")


def _trades() -> None:
    op.create_table(
        "trades",
        *_entity("trades"),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("buyer_id", sa.String(), nullable=False),
        sa.Column("document_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("report_hash", sa.String(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _fk("trades", "seller_id", "organisations"),
        _fk("trades", "buyer_id", "organisations"),
        **_ENTITY,
    )
    for column in ("seller_id", "buyer_id", "status"):
        _index("trades", column)


def _batches() -> None:
    op.create_table(
        "batches",
        *_entity("batches"),
        sa.Column("root", sa.String(), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        _ts("created_at"),
        **_ENTITY,
    )


def _documents() -> None:
    op.create_table(
        "documents",
        *_entity("documents"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("seller_key", sa.String(), nullable=True),
        sa.Column("buyer_key", sa.String(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("total_minor", sa.BigInteger(), nullable=True),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("business_key", sa.String(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("trade_id", sa.String(), nullable=True),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.String(), nullable=True),
        _ts("created_at"),
        sa.UniqueConstraint("fingerprint", name="uq_documents_fingerprint"),
        _fk("documents", "trade_id", "trades"),
        _fk("documents", "batch_id", "batches"),
        **_ENTITY,
    )
    for column in ("business_key", "trade_id", "batch_id"):
        _index("documents", column)
    _index("documents", "kind", "number")


def _debt_items() -> None:
    op.create_table(
        "debt_items",
        *_entity("debt_items"),
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("debtor_id", sa.String(), nullable=False),
        sa.Column("creditor_id", sa.String(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("face_value", sa.BigInteger(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("basis", sa.Integer(), nullable=False),
        sa.Column("asset_type", sa.Integer(), nullable=False),
        sa.Column("report_hash", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("trade_id", name="uq_debt_items_trade_id"),
        _fk("debt_items", "trade_id", "trades"),
        _fk("debt_items", "debtor_id", "organisations"),
        _fk("debt_items", "creditor_id", "organisations"),
        **_ENTITY,
    )
    for column in ("debtor_id", "creditor_id", "status"):
        _index("debt_items", column)


def _holdings() -> None:
    op.create_table(
        "holdings",
        *_entity("holdings"),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("holder_id", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("outstanding", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("acquired_from", sa.String(), nullable=True),
        sa.Column("pledge_bank_id", sa.String(), nullable=True),
        sa.Column("pledge_bank", sa.String(), nullable=True),
        sa.Column("pledge_principal", sa.BigInteger(), nullable=True),
        sa.Column("pledge_interest", sa.BigInteger(), nullable=True),
        sa.Column("pledge_rate_bps", sa.Integer(), nullable=True),
        sa.Column("pledge_accrued_to", sa.Integer(), nullable=True),
        sa.Column("received", sa.BigInteger(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _fk("holdings", "item_id", "debt_items"),
        _fk("holdings", "holder_id", "organisations"),
        _fk("holdings", "parent_id", "holdings"),
        **_ENTITY,
    )
    for column in ("item_id", "holder_id"):
        _index("holdings", column)


def _financings() -> None:
    op.create_table(
        "financings",
        *_entity("financings"),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("holding_id", sa.String(), nullable=False),
        sa.Column("borrower_id", sa.String(), nullable=False),
        sa.Column("bank_id", sa.String(), nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _fk("financings", "item_id", "debt_items"),
        _fk("financings", "holding_id", "holdings"),
        _fk("financings", "borrower_id", "organisations"),
        _fk("financings", "bank_id", "organisations"),
        **_ENTITY,
    )
    for column in ("item_id", "holding_id", "borrower_id", "bank_id", "status"):
        _index("financings", column)


def _repayments() -> None:
    op.create_table(
        "repayments",
        *_entity("repayments"),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        _ts("created_at"),
        _fk("repayments", "item_id", "debt_items"),
        **_ENTITY,
    )
    _index("repayments", "item_id")
    op.create_table(
        "routed_parts",
        sa.Column("seq", _seq_type(), autoincrement=True, nullable=False),
        sa.Column("payment_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("holding_id", sa.String(), nullable=False),
        sa.Column("payee_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_routed_parts"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["repayments.id"],
            name="fk_routed_parts_payment_id_repayments",
            ondelete="CASCADE",
        ),
        _fk("routed_parts", "item_id", "debt_items"),
        _fk("routed_parts", "holding_id", "holdings"),
        **_ENTITY,
    )
    for column in ("payment_id", "holding_id", "payee_id"):
        _index("routed_parts", column)


def _outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", _seq_type(), autoincrement=True, nullable=False),
        sa.Column("op_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("sender_org_id", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("tx_hash", sa.String(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sa.UniqueConstraint("op_id", name="uq_outbox_op_id"),
        **_ENTITY,
    )
    for column in ("subject_id", "status"):
        _index("outbox", column)


def _settings() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )


_TABLES = (
    "settings",
    "outbox",
    "routed_parts",
    "repayments",
    "financings",
    "holdings",
    "debt_items",
    "documents",
    "batches",
    "trades",
    "organisation_keys",
    "organisations",
)


def downgrade() -> None:
    """Drop every table of the first release (dependents first)."""
    for table in _TABLES:
        op.drop_table(table)
