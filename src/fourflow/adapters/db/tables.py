"""The store's tables (SQLAlchemy Core): the business records of record, and the outbox.

Money is integer minor units (BIGINT); dates are DATE; timestamps are aware UTC. Entity
tables share one shape: ``seq``, an autoincrementing primary key that gives creation order,
and ``id``, the unique business id that other tables reference. Migration 0001 creates exactly
these tables; a test compares the migrated schema with this metadata on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from fourflow.adapters.db.types import SeqInteger, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite's AUTOINCREMENT never reuses a rowid, so ``seq`` only ever grows there too.
ENTITY_OPTIONS: dict[str, Any] = {"sqlite_autoincrement": True}


def _seq() -> Column[int]:
    """The creation-order primary key every entity table starts with."""
    return Column("seq", SeqInteger, primary_key=True, autoincrement=True)


def _id() -> Column[str]:
    """The unique business id of an entity."""
    return Column("id", String, nullable=False, unique=True)


def _org(name: str, *, nullable: bool = False) -> Column[str]:
    """A reference to an organisation by id."""
    return Column(name, String, ForeignKey("organisations.id"), nullable=nullable, index=True)


def _timestamps() -> tuple[Column[object], Column[object]]:
    """``created_at`` and ``updated_at``, aware UTC."""
    return (
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )


organisations = Table(
    "organisations",
    metadata,
    _seq(),
    _id(),
    Column("name", String, nullable=False),
    Column("uscc", String, nullable=False, unique=True),
    Column("roles", JSON, nullable=False),
    Column("identifiers", JSON, nullable=False),
    Column("accounts", JSON, nullable=False),
    Column("chain_address", String, nullable=True),
    *_timestamps(),
    Column("profile", JSON, nullable=True),
    **ENTITY_OPTIONS,
)

# Every ``scheme:value`` an organisation is known by (USCC, identifiers, accounts), so that a
# document's party reference resolves with one indexed lookup, and no two members share a key.
organisation_keys = Table(
    "organisation_keys",
    metadata,
    Column("key", String, primary_key=True),
    Column(
        "org_id",
        String,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

trades = Table(
    "trades",
    metadata,
    _seq(),
    _id(),
    Column("scenario", String, nullable=False),
    _org("seller_id"),
    _org("buyer_id"),
    Column("document_ids", JSON, nullable=False),
    Column("status", String, nullable=False, index=True),
    Column("score", Integer, nullable=True),
    Column("report", JSON, nullable=True),
    Column("report_hash", String, nullable=True),
    *_timestamps(),
    **ENTITY_OPTIONS,
)

batches = Table(
    "batches",
    metadata,
    _seq(),
    _id(),
    Column("root", String, nullable=False),
    Column("leaf_count", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

documents = Table(
    "documents",
    metadata,
    _seq(),
    _id(),
    Column("kind", String, nullable=False),
    Column("number", String, nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("seller_key", String, nullable=True),
    Column("buyer_key", String, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("total_minor", BigInteger, nullable=True),
    Column("fingerprint", String, nullable=False, unique=True),
    Column("business_key", String, nullable=True, index=True),
    Column("raw", LargeBinary, nullable=False),
    Column("media_type", String, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("trade_id", String, ForeignKey("trades.id"), nullable=True, index=True),
    Column("submitted_by", String, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("signature", JSON, nullable=True),
    Column("source", String, nullable=True),
    Index("ix_documents_kind_number", "kind", "number"),
    Index("ix_documents_parties_date", "seller_key", "buyer_key", "issue_date"),
    **ENTITY_OPTIONS,
)

# Each document's anchoring (migration 0007): its batch and its JSON-encoded Merkle proof, both
# null until anchored. A row is written with the document; anchoring updates this small row
# instead of rewriting the document's (raw bytes included) row.
document_anchors = Table(
    "document_anchors",
    metadata,
    Column("doc_id", String, ForeignKey("documents.id"), primary_key=True),
    Column("batch_id", String, ForeignKey("batches.id"), nullable=True, index=True),
    Column("proof", Text, nullable=True),
)

debt_items = Table(
    "debt_items",
    metadata,
    _seq(),
    _id(),
    Column("trade_id", String, ForeignKey("trades.id"), nullable=False, unique=True),
    _org("debtor_id"),
    _org("creditor_id"),
    Column("currency", String(3), nullable=False),
    Column("face_value", BigInteger, nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("maturity_date", Date, nullable=False),
    Column("basis", Integer, nullable=False),
    Column("asset_type", Integer, nullable=False),
    Column("report_hash", String, nullable=False),
    Column("status", String, nullable=False, index=True),
    Column("paid", BigInteger, nullable=False),
    *_timestamps(),
    **ENTITY_OPTIONS,
)

holdings = Table(
    "holdings",
    metadata,
    _seq(),
    _id(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    _org("holder_id"),
    Column("amount", BigInteger, nullable=False),
    Column("outstanding", BigInteger, nullable=False),
    Column("parent_id", String, ForeignKey("holdings.id"), nullable=True),
    Column("acquired_from", String, nullable=True),
    Column("pledge_bank_id", String, nullable=True),
    # The pledge, when there is one (pledge_bank is not null): what the bank is owed.
    Column("pledge_bank", String, nullable=True),
    Column("pledge_principal", BigInteger, nullable=True),
    Column("pledge_interest", BigInteger, nullable=True),
    Column("pledge_rate_bps", Integer, nullable=True),
    Column("pledge_accrued_to", Integer, nullable=True),
    Column("received", BigInteger, nullable=False),
    *_timestamps(),
    **ENTITY_OPTIONS,
)

LIVE_FINANCING = "status IN ('approved', 'active')"

financings = Table(
    "financings",
    metadata,
    _seq(),
    _id(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    Column("holding_id", String, ForeignKey("holdings.id"), nullable=False, index=True),
    _org("borrower_id"),
    _org("bank_id"),
    Column("requested", BigInteger, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("rate_bps", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("maturity_date", Date, nullable=False),
    Column("status", String, nullable=False, index=True),
    Column("decision", JSON, nullable=True),
    *_timestamps(),
    # One approved or active financing per holding, whatever writes it (0009).
    Index(
        "uq_financings_live_holding",
        "holding_id",
        unique=True,
        sqlite_where=text(LIVE_FINANCING),
        postgresql_where=text(LIVE_FINANCING),
    ),
    **ENTITY_OPTIONS,
)

repayments = Table(
    "repayments",
    metadata,
    _seq(),
    _id(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("reference", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

routed_parts = Table(
    "routed_parts",
    metadata,
    _seq(),
    Column(
        "payment_id",
        String,
        ForeignKey("repayments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False),
    Column("holding_id", String, ForeignKey("holdings.id"), nullable=False, index=True),
    Column("payee_id", String, nullable=False, index=True),
    Column("kind", String, nullable=False),
    Column("amount", BigInteger, nullable=False),
    **ENTITY_OPTIONS,
)

outbox = Table(
    "outbox",
    metadata,
    _seq(),
    Column("op_id", String, nullable=False, unique=True),
    Column("kind", String, nullable=False),
    Column("sender_org_id", String, nullable=False),
    Column("params", JSON, nullable=False),
    Column("subject_id", String, nullable=True, index=True),
    Column("status", String, nullable=False, index=True),
    Column("tx_hash", String, nullable=True),
    Column("block_number", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    # What the business change replaced, for the relay to put back on a refusal (0008).
    Column("undo", JSON, nullable=True),
    *_timestamps(),
    **ENTITY_OPTIONS,
)

settings = Table(
    "settings",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


# Issue 6: the risk engine's model registry and its monitoring alerts (migration 0006).
risk_models = Table(
    "risk_models",
    metadata,
    _seq(),
    _id(),
    Column("kind", String, nullable=False),
    Column("role", String, nullable=False, index=True),
    Column("as_of", Date, nullable=False),
    Column("training_rows", Integer, nullable=False),
    Column("data_hash", String, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("artifact", Text, nullable=False),
    Column("note", Text, nullable=True),
    *_timestamps(),
    **ENTITY_OPTIONS,
)

risk_alerts = Table(
    "risk_alerts",
    metadata,
    _seq(),
    _id(),
    Column("kind", String, nullable=False),
    Column("severity", String, nullable=False),
    Column("metric", String, nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("model_id", String, nullable=True, index=True),
    Column("bank_id", String, nullable=True, index=True),
    Column("as_of", Date, nullable=False),
    Column("message", Text, nullable=False),
    *_timestamps(),
    **ENTITY_OPTIONS,
)


# Issue 13: every fact in a record of its own (migration 0008). A fact a chain operation
# carries names it (``op_id``); reads leave out facts whose operation failed for good.
def _op_id() -> Column[str]:
    """The chain operation that carries a fact."""
    return Column("op_id", String, nullable=False, index=True)


dispute_events = Table(
    "dispute_events",
    metadata,
    _seq(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    Column("action", String, nullable=False),
    Column("actor_id", String, nullable=False),
    _op_id(),
    Column("on_day", Date, nullable=True),
    Column("text", Text, nullable=True),
    Column("text_hash", String, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

dilution_events = Table(
    "dilution_events",
    metadata,
    _seq(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    Column("step", String, nullable=False),
    Column("credit_note_hash", String, nullable=False),
    Column("credit_note", String, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("actor_id", String, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

cancel_approvals = Table(
    "cancel_approvals",
    metadata,
    _seq(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    Column("party_id", String, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

default_marks = Table(
    "default_marks",
    metadata,
    _seq(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    Column("marked_by", String, nullable=False),
    _op_id(),
    Column("as_of", Date, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

# Issue 20 (0016): each lock or change of an item's repayment route, and what the maturity job
# and the margin watcher told whom (one row per notice key: a second run notifies nobody again).
repayment_routes = Table(
    "repayment_routes",
    metadata,
    _seq(),
    Column("item_id", String, ForeignKey("debt_items.id"), nullable=False, index=True),
    Column("action", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("bank_id", String, nullable=True),
    Column("account", String, nullable=True),
    Column("signers", JSON, nullable=False),
    Column("actor_id", String, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

settlement_notices = Table(
    "settlement_notices",
    metadata,
    _seq(),
    Column("key", String, nullable=False, unique=True),
    Column("kind", String, nullable=False, index=True),
    Column("subject_id", String, nullable=False, index=True),
    Column("recipient_id", String, nullable=False, index=True),
    Column("on_day", Date, nullable=False),
    Column("amount", BigInteger, nullable=True),
    Column("deadline", Date, nullable=True),
    Column("text", Text, nullable=False),
    Column("op_id", String, nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

warehouse_receipts = Table(
    "warehouse_receipts",
    metadata,
    _seq(),
    _id(),
    Column("warehouse_id", String, nullable=False, index=True),
    Column("holder_id", String, nullable=False, index=True),
    Column("goods_code", String, nullable=False),
    Column("description", Text, nullable=False),
    Column("description_hash", String, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit", String, nullable=False),
    Column("location", String, nullable=False),
    Column("evidence_hash", String, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

receipt_pledges = Table(
    "receipt_pledges",
    metadata,
    _seq(),
    Column("receipt_id", String, nullable=False, index=True),
    Column("action", String, nullable=False),
    Column("actor_id", String, nullable=False),
    _op_id(),
    Column("bank_id", String, nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

receipt_sales = Table(
    "receipt_sales",
    metadata,
    _seq(),
    _id(),
    Column("receipt_id", String, nullable=False, index=True),
    Column("seller_id", String, nullable=False),
    Column("buyer_id", String, nullable=False),
    Column("buyer_receipt_id", String, nullable=False, unique=True),
    Column("quantity", BigInteger, nullable=False),
    Column("price", BigInteger, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

receipt_sale_events = Table(
    "receipt_sale_events",
    metadata,
    _seq(),
    Column("sale_id", String, nullable=False, index=True),
    Column("action", String, nullable=False),
    Column("actor_id", String, nullable=False),
    _op_id(),
    Column("amount", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

goods_releases = Table(
    "goods_releases",
    metadata,
    _seq(),
    Column("receipt_id", String, nullable=False, index=True),
    Column("quantity", BigInteger, nullable=False),
    Column("evidence_hash", String, nullable=False),
    Column("actor_id", String, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

goods_prices = Table(
    "goods_prices",
    metadata,
    _seq(),
    Column("goods_code", String, nullable=False, index=True),
    Column("price", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("previous", Float, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

product_policies = Table(
    "product_policies",
    metadata,
    _seq(),
    Column("bank_id", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("policy", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("bank_id", "version"),
    **ENTITY_OPTIONS,
)

report_anchors = Table(
    "report_anchors",
    metadata,
    Column("report_hash", String, primary_key=True),
    Column("op_id", String, nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
)

document_resubmissions = Table(
    "document_resubmissions",
    metadata,
    Column("doc_id", String, primary_key=True),
    Column("times", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

invoice_presentations = Table(
    "invoice_presentations",
    metadata,
    _seq(),
    Column("fingerprint", String, nullable=False, index=True),
    Column("trade_id", String, nullable=False),
    Column("presenter_id", String, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

# Warnings about stored documents (business rules, dates): the fatal ones refuse at ingest (0012).
document_findings = Table(
    "document_findings",
    metadata,
    _seq(),
    Column("doc_id", String, nullable=False, index=True),
    Column("code", String, nullable=False),
    Column("flag", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("location", Text, nullable=True),
    **ENTITY_OPTIONS,
)

# Issue 15: who may send whose documents, and fraud signals an operator cleared (0011).
mandates = Table(
    "mandates",
    metadata,
    _seq(),
    _id(),
    Column("principal_id", String, nullable=False, index=True),
    Column("agent_id", String, nullable=False, index=True),
    Column("kinds", JSON, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("granted_on", Date, nullable=True),
    Column("note", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_on", Date, nullable=True),  # 0015
    Column("revoked_by", String, nullable=True),
    Column("revoke_reason", Text, nullable=True),
    **ENTITY_OPTIONS,
)

signal_clearances = Table(
    "signal_clearances",
    metadata,
    _seq(),
    Column("trade_id", String, nullable=False, index=True),
    Column("code", String, nullable=False),
    Column("cleared_by", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("on_day", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("person", String, nullable=True),  # 0015
    **ENTITY_OPTIONS,
)

# Issue 15: which supplier invoices a transfer of a debt item paid (0013).
invoice_transfer_payments = Table(
    "invoice_transfer_payments",
    metadata,
    _seq(),
    Column("holding_id", String, nullable=False, index=True),
    Column("trade_id", String, nullable=False, index=True),
    Column("invoice_number", String, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("payer_id", String, nullable=False),
    Column("payee_id", String, nullable=False),
    Column("on_day", Date, nullable=False),
    _op_id(),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

# Issue 16: platform identities; users, hashed credentials, sign-in attempts, enterprise
# applications with their KYC review, four-eyes approvals (0014).
platform_users = Table(
    "platform_users",
    metadata,
    _seq(),
    _id(),
    Column("org_id", String, nullable=True, index=True),
    Column("application_id", String, nullable=True, index=True),
    Column("email", String, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("role", String, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("totp_secret", String, nullable=True),
    Column("status", String, nullable=False),
    Column("created_by", String, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

credentials = Table(
    "credentials",
    metadata,
    _seq(),
    _id(),
    Column("kind", String, nullable=False),
    Column("secret_hash", String, nullable=False, unique=True),
    Column("user_id", String, nullable=True, index=True),
    Column("org_id", String, nullable=True, index=True),
    Column("role", String, nullable=True),
    Column("label", Text, nullable=False),
    Column("parent_id", String, nullable=True),
    Column("payload", JSON, nullable=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("created_by", String, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    _seq(),
    Column("subject", String, nullable=False, index=True),
    Column("succeeded", Boolean, nullable=False),
    Column("at", UtcDateTime, nullable=False, index=True),
    **ENTITY_OPTIONS,
)

org_applications = Table(
    "org_applications",
    metadata,
    _seq(),
    _id(),
    Column("name", Text, nullable=False),
    Column("uscc", String, nullable=False, index=True),
    Column("org_type", String, nullable=False),
    Column("licence", JSON, nullable=False),
    Column("accounts", JSON, nullable=False),
    Column("status", String, nullable=False),
    Column("org_id", String, nullable=True),
    Column("kyc", JSON, nullable=True),
    Column("reviewed_by", String, nullable=True),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("own_address", String, nullable=True),  # it holds its own key (0022)
    Column("platform_id", String, nullable=True, index=True),  # applies to a platform (0024)
    **ENTITY_OPTIONS,
)

approvals = Table(
    "approvals",
    metadata,
    _seq(),
    _id(),
    Column("kind", String, nullable=False),
    Column("subject_id", String, nullable=False, index=True),
    Column("org_id", String, nullable=False),
    Column("proposed_by", String, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String, nullable=False),
    Column("decided_by", String, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

# Issue 15: financings against pledged warehouse receipts (0015), beside ``financings``.
goods_financings = Table(
    "goods_financings",
    metadata,
    _seq(),
    _id(),
    Column("receipt_id", String, nullable=False, index=True),
    Column("borrower_id", String, nullable=False, index=True),
    Column("bank_id", String, nullable=False, index=True),
    Column("requested", BigInteger, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("rate_bps", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("maturity_date", Date, nullable=True),
    Column("currency", String, nullable=False),
    Column("goods_code", String, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("status", String, nullable=False, index=True),
    Column("decision", JSON, nullable=True),
    Column("pledge_op_id", String, nullable=True, index=True),
    Column("closed_op_id", String, nullable=True),
    *_timestamps(),
    **ENTITY_OPTIONS,
)

# Issue 16: the API's audit trail, append-only and hash-chained; a unique prev_hash forbids a
# fork (0017).
api_audit = Table(
    "api_audit",
    metadata,
    _seq(),
    Column("at", UtcDateTime, nullable=False),
    Column("org_id", String, nullable=True, index=True),
    Column("actor", String, nullable=True),
    Column("role", String, nullable=True),
    Column("action", String, nullable=False),
    Column("method", String, nullable=False),
    Column("path", Text, nullable=False),
    Column("client", String, nullable=False),
    Column("status", Integer, nullable=False),
    Column("prev_hash", String, nullable=False, unique=True),
    Column("hash", String, nullable=False, unique=True),
    **ENTITY_OPTIONS,
)

# Issue 16: one relay per sender at a time (0021): a relay locks its sender's row while it sends.
relay_senders = Table(
    "relay_senders",
    metadata,
    Column("sender_org_id", String, primary_key=True),
)

# Issue 16: per-organisation webhooks (0018): receivers, the event outbox (written with the
# fact), and one delivery row per (endpoint, event).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String, primary_key=True),
    Column("org_id", String, nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("secret", String, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    _seq(),
    Column("event_id", String, nullable=False, unique=True),
    Column("org_id", String, nullable=False, index=True),
    Column("kind", String, nullable=False),
    Column("subject_id", String, nullable=True),
    Column("data", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    **ENTITY_OPTIONS,
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("endpoint_id", String, primary_key=True),
    Column("event_id", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_webhook_deliveries_status", "status", "next_at"),
)

# Issue 16 item 5: scenario platforms as tenants (0019): a platform, its operator (a local
# government) and scenarios; the members its operator admitted (with the KYC review), the
# banks taking part and their products.
scenario_platforms = Table(
    "scenario_platforms",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("operator_org_id", String, nullable=False, index=True),
    Column("scenarios", JSON, nullable=False),
    Column("region", String, nullable=False),
    Column("created_by", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

scenario_platform_members = Table(
    "scenario_platform_members",
    metadata,
    Column("platform_id", String, primary_key=True),
    Column("org_id", String, primary_key=True, index=True),
    Column("kyc", JSON, nullable=False),
    Column("admitted_by", String, nullable=False),
    Column("admitted_at", UtcDateTime, nullable=False),
)

scenario_platform_banks = Table(
    "scenario_platform_banks",
    metadata,
    Column("platform_id", String, primary_key=True),
    Column("bank_id", String, primary_key=True, index=True),
    Column("added_by", String, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)

scenario_platform_products = Table(
    "scenario_platform_products",
    metadata,
    Column("id", String, primary_key=True),
    Column("platform_id", String, nullable=False),
    Column("bank_id", String, nullable=False),
    Column("name", String, nullable=False),
    Column("scenario", String, nullable=False),
    Column("currency", String, nullable=False),
    Column("max_amount", BigInteger, nullable=False),
    Column("max_term_days", Integer, nullable=False),
    Column("created_by", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("platform_id", "bank_id", "name"),
)

# Issue 16 item 6: a core enterprise's data consents, its price list and the metered reads of
# its data by banks (0020).
data_consents = Table(
    "data_consents",
    metadata,
    Column("id", String, primary_key=True),
    Column("grantor_id", String, nullable=False),
    Column("grantee_id", String, nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("counterparties", JSON, nullable=False),
    Column("purpose", String, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    Column("granted_by", String, nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_by", String, nullable=True),
    Column("revoked_reason", Text, nullable=True),
    Index("ix_data_consents_grantor_grantee", "grantor_id", "grantee_id"),
)

data_prices = Table(
    "data_prices",
    metadata,
    Column("grantor_id", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("set_by", String, nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
)

data_usage = Table(
    "data_usage",
    metadata,
    _seq(),
    Column("id", String, nullable=False, unique=True),
    Column("grantor_id", String, nullable=False),
    Column("grantee_id", String, nullable=False),
    Column("reader", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("object_id", String, nullable=False),
    Column("records", Integer, nullable=False),
    Column("purpose", String, nullable=False),
    Column("consent_id", String, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("read_at", UtcDateTime, nullable=False),
    Index("ix_data_usage_grantor_read_at", "grantor_id", "read_at"),
    Index("ix_data_usage_grantee_read_at", "grantee_id", "read_at"),
    **ENTITY_OPTIONS,
)

# The item view's version (0023): triggers add a row of the item's id for every change of what
# its view shows (``adapters.db.item_views``); rows are only added.
item_changes = Table(
    "item_changes",
    metadata,
    Column("item_id", String, nullable=False, index=True),
    # The version is the sum (0025): an item's rows are folded into one of their total.
    Column("weight", BigInteger, nullable=False, server_default=text("1")),
)

#: The supervision views' change mark (0026): a row per change of the tables they read,
#: written by triggers; the mark is the sum of the weights (folded like item_changes).
supervision_changes = Table(
    "supervision_changes",
    metadata,
    Column("weight", BigInteger, nullable=False, server_default=text("1")),
)

#: The financing decisions' change marks (0029): a row per change of the tables whose state
#: an API process keeps between its batches of decisions, by group (``view``, ``policy``,
#: ``model``, ``exposure``), written by triggers; a group's mark is the sum of its weights.
#: ``tx``: the writing transaction on PostgreSQL (``txid_current()``), None on SQLite.
decision_changes = Table(
    "decision_changes",
    metadata,
    Column("grp", String(16), nullable=False),
    Column("weight", BigInteger, nullable=False, server_default=text("1")),
    Column("tx", BigInteger, nullable=True),
)

#: Each trade's invoice facts (0028; ``services.trade_facts``): the JSON of
#: ``risk.features.invoice_facts`` computed from the trade's documents of ``documents_key`` by
#: the computation of ``version``.
trade_facts = Table(
    "trade_facts",
    metadata,
    Column("trade_id", String, primary_key=True),
    Column("documents_key", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("facts", Text, nullable=False),
)
