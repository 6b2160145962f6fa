"""Every fact in a record of its own (issue 13, "the store tells the truth").

Until now some facts lived only in the outbox rows' ``params`` (disputes, dilutions, the
parties' approvals of a cancellation, default marks, warehouse receipts with their pledges,
sales and releases, the invoice fingerprints this platform presented to the consortium) or in
the key-value ``settings`` table (goods prices, banks' product
policies, report anchors, resubmission counts). This revision creates a table for each and
moves what those homes hold into it:

* every outbox row that is not ``failed`` or ``refused`` (never applied) of the kinds
  above becomes a record naming its operation (``op_id``), with the row's ``created_at``;
* ``risk.price:<code>`` becomes a ``goods_prices`` row, ``risk.policy:<bank>`` version 1 of the
  bank's ``product_policies``, ``verification.report_anchor:<hash>`` a ``report_anchors`` row
  and ``fraud.resubmitted`` one ``document_resubmissions`` row per document; those settings are
  then deleted. Technical settings (contract addresses, the operator, the salt) stay.

The outbox rows themselves stay: they are the chain operations. Their ``params`` are read here
as plain JSON by field name (revision 0008 keeps the names; the ``v`` key is ignored), without
importing service code. Downgrade puts the settings back (the latest price and policy version)
and drops the tables.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ENTITY = {"sqlite_autoincrement": True}
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

PRICE_KEY = "risk.price:"
POLICY_KEY = "risk.policy:"
ANCHOR_KEY = "verification.report_anchor:"
RESUBMISSIONS_KEY = "fraud.resubmitted"


def _seq(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{table}"),
    ]


def _item(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("item_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["debt_items.id"], name=f"fk_{table}_item_id_debt_items"
        ),
    ]


def _op_col() -> sa.Column[Any]:
    return sa.Column("op_id", sa.String(), nullable=False)


def _created() -> sa.Column[Any]:
    return sa.Column("created_at", _TS, nullable=False)


def _create_tables() -> dict[str, sa.Table]:
    """Create the new tables and their indexes; the tables by name."""
    made: dict[str, sa.Table] = {}
    made["dispute_events"] = op.create_table(
        "dispute_events",
        *_seq("dispute_events"),
        *_item("dispute_events"),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        _op_col(),
        sa.Column("on_day", sa.Date(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_hash", sa.String(), nullable=True),
        _created(),
        **_ENTITY,
    )
    made["dilution_events"] = op.create_table(
        "dilution_events",
        *_seq("dilution_events"),
        *_item("dilution_events"),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("credit_note_hash", sa.String(), nullable=False),
        sa.Column("credit_note", sa.String(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        _op_col(),
        _created(),
        **_ENTITY,
    )
    made["cancel_approvals"] = op.create_table(
        "cancel_approvals",
        *_seq("cancel_approvals"),
        *_item("cancel_approvals"),
        sa.Column("party_id", sa.String(), nullable=False),
        _op_col(),
        _created(),
        **_ENTITY,
    )
    made["default_marks"] = op.create_table(
        "default_marks",
        *_seq("default_marks"),
        *_item("default_marks"),
        sa.Column("marked_by", sa.String(), nullable=False),
        _op_col(),
        sa.Column("as_of", sa.Date(), nullable=True),
        _created(),
        **_ENTITY,
    )
    for table in ("dispute_events", "dilution_events", "cancel_approvals", "default_marks"):
        op.create_index(f"ix_{table}_item_id", table, ["item_id"])
        op.create_index(f"ix_{table}_op_id", table, ["op_id"])
    made["warehouse_receipts"] = op.create_table(
        "warehouse_receipts",
        *_seq("warehouse_receipts"),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("warehouse_id", sa.String(), nullable=False),
        sa.Column("holder_id", sa.String(), nullable=False),
        sa.Column("goods_code", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_hash", sa.String(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("evidence_hash", sa.String(), nullable=False),
        _op_col(),
        _created(),
        sa.UniqueConstraint("id", name="uq_warehouse_receipts_id"),
        **_ENTITY,
    )
    op.create_index("ix_warehouse_receipts_warehouse_id", "warehouse_receipts", ["warehouse_id"])
    op.create_index("ix_warehouse_receipts_holder_id", "warehouse_receipts", ["holder_id"])
    op.create_index("ix_warehouse_receipts_op_id", "warehouse_receipts", ["op_id"])
    made["receipt_pledges"] = op.create_table(
        "receipt_pledges",
        *_seq("receipt_pledges"),
        sa.Column("receipt_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        _op_col(),
        sa.Column("bank_id", sa.String(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        _created(),
        **_ENTITY,
    )
    made["receipt_sales"] = op.create_table(
        "receipt_sales",
        *_seq("receipt_sales"),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("receipt_id", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("buyer_id", sa.String(), nullable=False),
        sa.Column("buyer_receipt_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        _op_col(),
        _created(),
        sa.UniqueConstraint("id", name="uq_receipt_sales_id"),
        sa.UniqueConstraint("buyer_receipt_id", name="uq_receipt_sales_buyer_receipt_id"),
        **_ENTITY,
    )
    made["receipt_sale_events"] = op.create_table(
        "receipt_sale_events",
        *_seq("receipt_sale_events"),
        sa.Column("sale_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        _op_col(),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        _created(),
        **_ENTITY,
    )
    made["goods_releases"] = op.create_table(
        "goods_releases",
        *_seq("goods_releases"),
        sa.Column("receipt_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("evidence_hash", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        _op_col(),
        _created(),
        **_ENTITY,
    )
    for table, key in (
        ("receipt_pledges", "receipt_id"),
        ("receipt_sales", "receipt_id"),
        ("receipt_sale_events", "sale_id"),
        ("goods_releases", "receipt_id"),
    ):
        op.create_index(f"ix_{table}_{key}", table, [key])
        op.create_index(f"ix_{table}_op_id", table, ["op_id"])
    made["invoice_presentations"] = op.create_table(
        "invoice_presentations",
        *_seq("invoice_presentations"),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("presenter_id", sa.String(), nullable=False),
        _op_col(),
        _created(),
        **_ENTITY,
    )
    op.create_index(
        "ix_invoice_presentations_fingerprint", "invoice_presentations", ["fingerprint"]
    )
    op.create_index("ix_invoice_presentations_op_id", "invoice_presentations", ["op_id"])
    made["goods_prices"] = op.create_table(
        "goods_prices",
        *_seq("goods_prices"),
        sa.Column("goods_code", sa.String(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("previous", sa.Float(), nullable=True),
        _created(),
        **_ENTITY,
    )
    op.create_index("ix_goods_prices_goods_code", "goods_prices", ["goods_code"])
    made["product_policies"] = op.create_table(
        "product_policies",
        *_seq("product_policies"),
        sa.Column("bank_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        _created(),
        sa.UniqueConstraint("bank_id", "version", name="uq_product_policies_bank_id_version"),
        **_ENTITY,
    )
    made["report_anchors"] = op.create_table(
        "report_anchors",
        sa.Column("report_hash", sa.String(), nullable=False),
        _op_col(),
        _created(),
        sa.PrimaryKeyConstraint("report_hash", name="pk_report_anchors"),
    )
    op.create_index("ix_report_anchors_op_id", "report_anchors", ["op_id"])
    made["document_resubmissions"] = op.create_table(
        "document_resubmissions",
        sa.Column("doc_id", sa.String(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("doc_id", name="pk_document_resubmissions"),
    )
    return made


# Frozen views of the tables read here (as the previous release wrote them).
_outbox = sa.table(
    "outbox",
    sa.column("seq", sa.Integer()),
    sa.column("op_id", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("sender_org_id", sa.String()),
    sa.column("params", sa.JSON()),
    sa.column("subject_id", sa.String()),
    sa.column("status", sa.String()),
    sa.column("created_at", _TS),
)
_settings = sa.table(
    "settings",
    sa.column("key", sa.String()),
    sa.column("value", sa.Text()),
    sa.column("updated_at", _TS),
)
_organisations = sa.table(
    "organisations", sa.column("id", sa.String()), sa.column("chain_address", sa.String())
)

PRESENTED = "presented:"  # the outbox subject of a trade's invoice presentation

_FACT_KINDS = (
    "register_fingerprints", "dispute", "withdraw_dispute", "resolve_dispute",
    "propose_dilution", "accept_dilution",
    "cancel_item", "mark_default", "receipt_issue", "receipt_pledge", "receipt_release_pledge",
    "receipt_offer", "receipt_pay", "receipt_close_sale", "receipt_confirm_release",
)  # fmt: skip


def _aware(value: Any) -> dt.datetime:
    """A timestamp read back as aware UTC (SQLite gives naive UTC, or text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a timestamp, got {value!r}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _day(value: Any) -> dt.date | None:
    """A business day from an ISO date string, else None."""
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _params(value: Any) -> dict[str, Any]:
    """The op's params as a dict (some drivers hand JSON back as text)."""
    data = json.loads(value) if isinstance(value, str) else value
    if not isinstance(data, dict):
        raise ValueError(f"outbox params are not a JSON object: {value!r}")
    return data


def _text(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _move_outbox(bind: sa.Connection, made: Mapping[str, sa.Table]) -> None:
    """Turn each standing (not failed) outbox row of a fact kind into its record."""
    members = sa.select(_organisations.c.id, _organisations.c.chain_address)
    orgs = {str(address).lower(): org_id for org_id, address in bind.execute(members) if address}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in made}
    stmt = (
        sa.select(_outbox)
        .where(_outbox.c.kind.in_(_FACT_KINDS), _outbox.c.status.not_in(("failed", "refused")))
        .order_by(_outbox.c.seq)
    )
    for row in bind.execute(stmt):
        p, kind, sender = _params(row.params), row.kind, row.sender_org_id
        base = {"op_id": row.op_id, "created_at": _aware(row.created_at)}
        item_id = p.get("item_id") or row.subject_id
        if kind in ("dispute", "withdraw_dispute", "resolve_dispute"):
            action = {"dispute": "raised", "withdraw_dispute": "withdrawn"}.get(kind, "resolved")
            text = p.get("reason") if kind == "dispute" else p.get("resolution")
            digest = p.get("reason_hash") if kind == "dispute" else p.get("resolution_hash")
            rows["dispute_events"].append({
                **base, "item_id": item_id, "action": action, "actor_id": sender,
                "on_day": _day(p.get("on")), "text": _text(text), "text_hash": _text(digest),
            })  # fmt: skip
        elif kind in ("propose_dilution", "accept_dilution"):
            rows["dilution_events"].append({
                **base, "item_id": item_id,
                "step": "proposed" if kind == "propose_dilution" else "accepted",
                "credit_note_hash": p["credit_note_hash"],
                "credit_note": _text(p.get("credit_note")),
                "amount": int(p["amount"]), "actor_id": sender,
            })  # fmt: skip
        elif kind == "cancel_item":
            rows["cancel_approvals"].append({**base, "item_id": item_id, "party_id": sender})
        elif kind == "mark_default":
            rows["default_marks"].append(
                {**base, "item_id": item_id, "marked_by": sender, "as_of": None}
            )
        elif kind == "receipt_issue":
            holder = _text(p.get("holder_id")) or orgs.get(str(p["holder_address"]).lower())
            if holder is None:
                raise ValueError(f"receipt {p['receipt_id']}: holder {p['holder_address']} unknown")
            rows["warehouse_receipts"].append({
                **base, "id": p["receipt_id"], "warehouse_id": sender, "holder_id": holder,
                "goods_code": p["goods_code"], "description": p.get("description") or "",
                "description_hash": p["description_hash"], "quantity": int(p["quantity"]),
                "unit": p["unit"], "location": p["location"], "evidence_hash": p["evidence_hash"],
            })  # fmt: skip
        elif kind in ("receipt_pledge", "receipt_release_pledge"):
            pledged = kind == "receipt_pledge"
            bank = orgs.get(str(p["bank_address"]).lower()) if pledged else None
            if pledged and bank is None:
                raise ValueError(f"receipt pledge {row.op_id}: bank {p['bank_address']} unknown")
            rows["receipt_pledges"].append({
                **base, "receipt_id": p.get("receipt_id") or row.subject_id,
                "action": "pledged" if pledged else "released", "actor_id": sender,
                "bank_id": bank, "amount": int(p["amount"]) if pledged else None,
            })  # fmt: skip
        elif kind == "receipt_offer":
            buyer = _text(p.get("buyer_id")) or orgs.get(str(p["buyer_address"]).lower())
            if buyer is None:
                raise ValueError(f"sale {p['sale_id']}: buyer {p['buyer_address']} unknown")
            rows["receipt_sales"].append({
                **base, "id": p["sale_id"], "receipt_id": p["receipt_id"], "seller_id": sender,
                "buyer_id": buyer, "buyer_receipt_id": p["buyer_receipt_id"],
                "quantity": int(p["quantity"]), "price": int(p["price"]),
            })  # fmt: skip
        elif kind in ("receipt_pay", "receipt_close_sale"):
            paid = kind == "receipt_pay"
            rows["receipt_sale_events"].append({
                **base, "sale_id": p["sale_id"], "action": "paid" if paid else "closed",
                "actor_id": sender, "amount": int(p["amount"]) if paid else None,
            })  # fmt: skip
        elif kind == "register_fingerprints":
            subject = row.subject_id or ""
            if not subject.startswith(PRESENTED):
                continue  # report, decision and document anchors: not presentations
            rows["invoice_presentations"].extend(
                {**base, "fingerprint": fp, "trade_id": subject[len(PRESENTED) :],
                 "presenter_id": sender}
                for fp in p.get("fingerprints", ())
            )  # fmt: skip
        elif kind == "receipt_confirm_release":
            rows["goods_releases"].append({
                **base, "receipt_id": p.get("receipt_id") or row.subject_id,
                "quantity": int(p["quantity"]), "evidence_hash": p["evidence_hash"],
                "actor_id": sender,
            })  # fmt: skip
    for name, values in rows.items():
        if values:
            op.bulk_insert(made[name], values)


def _move_settings(bind: sa.Connection, made: Mapping[str, sa.Table]) -> None:
    """Move prices, policies, report anchors and resubmission counts out of ``settings``."""
    moved: list[str] = []
    prices: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    anchors: list[dict[str, Any]] = []
    resubmitted: list[dict[str, Any]] = []
    for key, value, updated_at in bind.execute(sa.select(_settings).order_by(_settings.c.key)):
        when = _aware(updated_at)
        if key.startswith(PRICE_KEY):
            data = json.loads(value)
            prices.append({
                "goods_code": key[len(PRICE_KEY):], "price": float(data["price"]),
                "currency": data["currency"], "as_of": dt.date.fromisoformat(data["as_of"]),
                "previous": None if data.get("previous") is None else float(data["previous"]),
                "created_at": when,
            })  # fmt: skip
        elif key.startswith(POLICY_KEY):
            bank_id, policy = key[len(POLICY_KEY) :], json.loads(value)
            policies.append(
                {"bank_id": bank_id, "version": 1, "policy": policy, "created_at": when}
            )
        elif key.startswith(ANCHOR_KEY):
            anchors.append({"report_hash": key[len(ANCHOR_KEY) :], "op_id": value,
                            "created_at": when})  # fmt: skip
        elif key == RESUBMISSIONS_KEY:
            counts = json.loads(value or "{}")
            resubmitted.extend(
                {"doc_id": doc_id, "times": int(times), "updated_at": when}
                for doc_id, times in sorted(counts.items())
            )
        else:
            continue
        moved.append(key)
    for name, values in (
        ("goods_prices", prices),
        ("product_policies", policies),
        ("report_anchors", anchors),
        ("document_resubmissions", resubmitted),
    ):
        if values:
            op.bulk_insert(made[name], values)
    for key in moved:
        bind.execute(sa.delete(_settings).where(_settings.c.key == key))


def upgrade() -> None:
    """Create the fact tables and move the facts into them."""
    made = _create_tables()
    bind = op.get_bind()
    _move_outbox(bind, made)
    _move_settings(bind, made)


def downgrade() -> None:
    """Put prices, policies, anchors and resubmission counts back into ``settings``; drop the
    fact tables (the outbox still holds the operations they were read from)."""
    bind = op.get_bind()
    settings: dict[str, str] = {}
    prices = sa.table(
        "goods_prices", sa.column("seq", sa.Integer()), sa.column("goods_code", sa.String()),
        sa.column("price", sa.Float()), sa.column("currency", sa.String()),
        sa.column("as_of", sa.Date()), sa.column("previous", sa.Float()),
    )  # fmt: skip
    for row in bind.execute(sa.select(prices).order_by(prices.c.seq)):
        settings[PRICE_KEY + row.goods_code] = json.dumps({
            "price": row.price, "currency": row.currency, "as_of": row.as_of.isoformat(),
            "previous": row.previous,
        })  # fmt: skip
    policies = sa.table(
        "product_policies", sa.column("bank_id", sa.String()), sa.column("version", sa.Integer()),
        sa.column("policy", sa.JSON()),
    )  # fmt: skip
    for row in bind.execute(sa.select(policies).order_by(policies.c.version)):
        settings[POLICY_KEY + row.bank_id] = json.dumps(_params(row.policy), sort_keys=True)
    anchors = sa.table(
        "report_anchors", sa.column("report_hash", sa.String()), sa.column("op_id", sa.String())
    )
    for row in bind.execute(sa.select(anchors)):
        settings[ANCHOR_KEY + row.report_hash] = row.op_id
    resubmissions = sa.table(
        "document_resubmissions", sa.column("doc_id", sa.String()), sa.column("times", sa.Integer())
    )
    counts = {r.doc_id: r.times for r in bind.execute(sa.select(resubmissions))}
    if counts:
        settings[RESUBMISSIONS_KEY] = json.dumps(counts, sort_keys=True)
    now = dt.datetime.now(dt.UTC)
    for key, value in settings.items():
        bind.execute(sa.delete(_settings).where(_settings.c.key == key))
        bind.execute(sa.insert(_settings).values(key=key, value=value, updated_at=now))
    for table in (
        "document_resubmissions", "report_anchors", "product_policies", "goods_prices",
        "invoice_presentations", "goods_releases", "receipt_sale_events", "receipt_sales",
        "receipt_pledges",
        "warehouse_receipts", "default_marks", "cancel_approvals", "dilution_events",
        "dispute_events",
    ):  # fmt: skip
        op.drop_table(table)
