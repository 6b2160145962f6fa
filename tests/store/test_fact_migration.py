"""Migration 0010 moves every fact out of the outbox's params and the settings into its record.

A home is built at the revision before 0010 and filled the way the previous release's services
wrote it: outbox rows with those services' exact params (disputes, dilutions, cancellations, a
default, a warehouse receipt issued, pledged, offered, paid, closed, released, pledge released)
and settings (a price, a policy, report anchors, resubmission counts). After the upgrade every
fact is in its table with its values, failed operations are left out, and the moved settings
are gone while the technical ones stay. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from alembic import command
from sqlalchemy import Engine, insert, select, text

from fourflow.adapters.db import SqlUnitOfWorkFactory, current_revision, migrate
from fourflow.adapters.db import tables as t
from fourflow.adapters.db.migration import alembic_config
from fourflow.domain.facts import DilutionStep, DisputeAction, is_disputed
from fourflow.domain.parties import Role
from fourflow.domain.receipts import PledgeAction, SaleAction
from fourflow.risk.review import ProductPolicy

from . import builders as b

BEFORE = "0009"  # the head before the fact records
QUEUED = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
ADDR = {n: f"0x{n:040x}" for n in range(1, 5)}  # builders.org's chain addresses
H = {name: name[0] * 64 for name in ("reason", "note", "desc", "evidence", "release", "resol")}

# (op_id, kind, sender, subject, params, status): the previous release's params, key for key.
OPS: list[tuple[str, str, str, str, dict[str, Any], str]] = [
    ("op-d1", "dispute", "org-2", "item-1",
     {"item_id": "item-1", "reason_hash": H["reason"], "reason": "goods short by 3 t",
      "on": "2026-03-04"}, "done"),
    ("op-d2", "withdraw_dispute", "org-2", "item-1", {"item_id": "item-1"}, "done"),
    ("op-d3", "dispute", "org-2", "item-1",
     {"item_id": "item-1", "reason_hash": H["reason"], "reason": "again", "on": "2026-03-06"},
     "failed"),
    # Written before business days were kept: no "on".
    ("op-d4", "dispute", "org-2", "item-2",
     {"item_id": "item-2", "reason_hash": H["reason"], "reason": "late delivery"}, "done"),
    ("op-d5", "resolve_dispute", "org-4", "item-2",
     {"item_id": "item-2", "resolution_hash": H["resol"], "resolution": "price cut agreed"},
     "sent"),
    ("op-x1", "propose_dilution", "org-1", "item-1",
     {"item_id": "item-1", "amount": 50_000, "credit_note_hash": H["note"],
      "credit_note": "CN-2026-7"}, "done"),
    ("op-x2", "accept_dilution", "org-2", "item-1",
     {"item_id": "item-1", "amount": 50_000, "credit_note_hash": H["note"]}, "pending"),
    ("op-c1", "cancel_item", "org-1", "item-2", {"item_id": "item-2"}, "done"),
    ("op-c2", "cancel_item", "org-2", "item-2", {"item_id": "item-2"}, "failed"),
    ("op-c3", "cancel_item", "org-2", "item-2", {"item_id": "item-2"}, "refused"),
    ("op-m1", "mark_default", "org-3", "item-1", {"item_id": "item-1"}, "done"),
    ("op-r1", "receipt_issue", "org-4", "wr-1",
     {"receipt_id": "wr-1", "holder_address": ADDR[1], "holder_id": "org-1",
      "goods_code": "CU-CATHODE", "description": "copper cathode 99.99%",
      "description_hash": H["desc"], "quantity": 250, "unit": "t", "location": "Yangshan",
      "evidence_hash": H["evidence"]}, "done"),
    ("op-r2", "receipt_pledge", "org-1", "wr-1",
     {"receipt_id": "wr-1", "bank_address": ADDR[3], "amount": 9_000_000_00}, "done"),
    ("op-r3", "receipt_offer", "org-1", "wr-1",
     {"sale_id": "sale-1", "receipt_id": "wr-1", "buyer_address": ADDR[2], "buyer_id": "org-2",
      "buyer_receipt_id": "wr-2", "quantity": 40, "price": 2_680_000_00}, "done"),
    ("op-r4", "receipt_pay", "org-2", "wr-1", {"sale_id": "sale-1", "amount": 1_000_000_00},
     "done"),
    ("op-r5", "receipt_pay", "org-2", "wr-1", {"sale_id": "sale-1", "amount": 1_680_000_00},
     "done"),
    ("op-r6", "receipt_close_sale", "org-1", "wr-1", {"sale_id": "sale-1"}, "done"),
    ("op-r7", "receipt_confirm_release", "org-4", "wr-1",
     {"receipt_id": "wr-1", "quantity": 10, "evidence_hash": H["release"]}, "done"),
    ("op-r8", "receipt_release_pledge", "org-3", "wr-1", {"receipt_id": "wr-1"}, "done"),
    ("op-r9", "receipt_pay", "org-2", "wr-1", {"sale_id": "sale-1", "amount": 5}, "failed"),
    # Not facts of this migration: they stay where they are.
    ("op-i1", "issue_item", "org-1", "item-1", {"item_id": "item-1", "face_value": 1}, "done"),
    ("op-p1", "register_fingerprints", "org-1", "presented:trade-1",
     {"fingerprints": ["sha256:" + "5" * 64, "sha256:" + "6" * 64]}, "done"),
    ("op-p2", "register_fingerprints", "org-3", "presented:trade-2",
     {"fingerprints": ["sha256:" + "7" * 64]}, "failed"),
    ("op-a1", "register_fingerprints", "org-4", "report:trade-1",
     {"fingerprints": ["sha256:" + "a" * 64]}, "done"),
]  # fmt: skip

POLICY = ProductPolicy(bank_id="org-3", version="trade-2026", max_pd=0.2, base_rate_bps=300)
SETTINGS = {
    "risk.price:CU-CATHODE": json.dumps(
        {"price": 68250.25, "currency": "CNY", "as_of": "2026-03-09", "previous": 67000.5}
    ),
    "risk.price:AL-INGOT": json.dumps(
        {"price": 19000.0, "currency": "CNY", "as_of": "2026-03-08", "previous": None}
    ),
    "risk.policy:org-3": json.dumps(POLICY.as_json(), sort_keys=True),
    "verification.report_anchor:" + "a" * 64: "op-a1",
    "verification.report_anchor:" + "b" * 64: "op-a1",
    "fraud.resubmitted": json.dumps({"doc-1": 2, "doc-7": 1}, sort_keys=True),
    # Technical settings stay.
    "platform.operator_org_id": "org-4",
    "fraud.consortium_salt": "00" * 32,
}


def _previous_release_home(engine: Engine) -> None:
    """Bring the store to the revision before 0010 and fill it as the previous release did."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    assert current_revision(engine) == BEFORE
    with SqlUnitOfWorkFactory(engine)() as u:
        u.organisations.add(b.org(1, Role.SUPPLIER))
        u.organisations.add(b.org(2, Role.CORE_ENTERPRISE))
        u.organisations.add(b.org(3, Role.BANK))
        u.organisations.add(b.org(4, Role.WAREHOUSE))
        for n in (1, 2):
            u.trades.add(b.trade(n))
            u.items.add(b.item(n, f"trade-{n}"))
        u.commit()
    with engine.begin() as connection:
        for minutes, (op_id, kind, sender, subject, params, status) in enumerate(OPS):
            when = QUEUED + dt.timedelta(minutes=minutes)
            connection.execute(
                insert(t.outbox).values(
                    op_id=op_id, kind=kind, sender_org_id=sender, params=params,
                    subject_id=subject, status=status, attempts=1, created_at=when,
                    updated_at=when,
                )
            )  # fmt: skip
        for key, value in SETTINGS.items():
            connection.execute(
                text("INSERT INTO settings (key, value, updated_at) VALUES (:k, :v, :t)"),
                {"k": key, "v": value, "t": QUEUED},
            )


def test_upgrade_moves_every_fact_and_loses_nothing(store_engine: Engine) -> None:
    _previous_release_home(store_engine)
    migrate(store_engine)
    uow = SqlUnitOfWorkFactory(store_engine)
    with uow() as u:
        # Disputes: raised with its day, withdrawn, the failed one left out; the older one
        # without a day counts on its queueing day; the operator's resolution.
        one = u.disputes.for_item("item-1")
        assert [(e.action, e.on, e.text, e.op_id) for e in one] == [
            (DisputeAction.RAISED, dt.date(2026, 3, 4), "goods short by 3 t", "op-d1"),
            (DisputeAction.WITHDRAWN, None, None, "op-d2"),
        ]
        assert one[0].text_hash == H["reason"] and not is_disputed(one)
        two = u.disputes.for_item("item-2")
        assert [(e.action, e.actor_id, e.text, e.text_hash) for e in two] == [
            (DisputeAction.RAISED, "org-2", "late delivery", H["reason"]),
            (DisputeAction.RESOLVED, "org-4", "price cut agreed", H["resol"]),
        ]
        assert u.disputes.raised_days() == {
            "trade-1": [dt.date(2026, 3, 4)], "trade-2": [QUEUED.date()],
        }  # fmt: skip
        # Dilutions, cancellations (the failed approval left out), the default.
        assert [
            (d.step, d.credit_note_hash, d.amount, d.actor_id, d.credit_note, d.op_id)
            for d in u.dilutions.for_item("item-1")
        ] == [
            (DilutionStep.PROPOSED, H["note"], 50_000, "org-1", "CN-2026-7", "op-x1"),
            (DilutionStep.ACCEPTED, H["note"], 50_000, "org-2", None, "op-x2"),
        ]
        assert [(a.party_id, a.op_id) for a in u.cancel_approvals.for_item("item-2")] == [
            ("org-1", "op-c1")
        ]
        assert [(m.marked_by, m.op_id) for m in u.default_marks.for_item("item-1")] == [
            ("org-3", "op-m1")
        ]
        # The warehouse receipt and everything done with it.
        receipt = u.receipts.get("wr-1")
        assert receipt is not None
        assert (receipt.warehouse_id, receipt.holder_id, receipt.goods_code, receipt.quantity,
                receipt.unit, receipt.location, receipt.description, receipt.description_hash,
                receipt.evidence_hash, receipt.op_id) == (
            "org-4", "org-1", "CU-CATHODE", 250, "t", "Yangshan", "copper cathode 99.99%",
            H["desc"], H["evidence"], "op-r1",
        )  # fmt: skip
        assert [
            (p.action, p.actor_id, p.bank_id, p.amount) for p in u.receipts.pledges("wr-1")
        ] == [
            (PledgeAction.PLEDGED, "org-1", "org-3", 9_000_000_00),
            (PledgeAction.RELEASED, "org-3", None, None),
        ]
        sale = u.receipts.sale_into("wr-2")
        assert sale is not None and sale == u.receipts.get_sale("sale-1")
        assert (sale.receipt_id, sale.seller_id, sale.buyer_id, sale.quantity, sale.price) == (
            "wr-1", "org-1", "org-2", 40, 2_680_000_00,
        )  # fmt: skip
        assert [(e.action, e.amount, e.op_id) for e in u.receipts.sale_events("sale-1")] == [
            (SaleAction.PAID, 1_000_000_00, "op-r4"),
            (SaleAction.PAID, 1_680_000_00, "op-r5"),
            (SaleAction.CLOSED, None, "op-r6"),
        ]
        (release,) = u.receipts.releases("wr-1")
        assert (release.quantity, release.evidence_hash, release.actor_id) == (
            10,
            H["release"],
            "org-4",
        )
        # Settings: price, policy (version 1), anchors, resubmission counts.
        copper = u.prices.latest("CU-CATHODE")
        assert copper is not None
        assert (copper.price, copper.currency, copper.as_of, copper.previous) == (
            68250.25, "CNY", dt.date(2026, 3, 9), 67000.5,
        )  # fmt: skip
        aluminium = u.prices.latest("AL-INGOT")
        assert aluminium is not None and aluminium.previous is None
        policy = u.policies.latest("org-3")
        assert policy is not None and policy.version == 1
        assert ProductPolicy.from_json(policy.policy) == POLICY
        assert u.report_anchors.known(["a" * 64, "b" * 64, "c" * 64]) == {"a" * 64, "b" * 64}
        assert u.resubmissions.counts() == {"doc-1": 2, "doc-7": 1}
        # Presentations: the trade's invoice fingerprints (not report anchors, not failed ones).
        prints = ["sha256:" + c * 64 for c in "567a"]
        assert u.presentations.known(prints) == set(prints[:2])
        # Moved settings are gone; technical ones stay; the outbox keeps every operation.
        assert u.settings.get("risk.price:CU-CATHODE") is None
        assert u.settings.get("risk.policy:org-3") is None
        assert u.settings.get("verification.report_anchor:" + "a" * 64) is None
        assert u.settings.get("fraud.resubmitted") is None
        assert u.settings.get("platform.operator_org_id") == "org-4"
        assert u.settings.get("fraud.consortium_salt") == "00" * 32
    with store_engine.connect() as connection:
        counts = {
            name: connection.execute(select(text("count(*)")).select_from(table)).scalar_one()
            for name, table in (
                ("outbox", t.outbox), ("dispute_events", t.dispute_events),
                ("dilution_events", t.dilution_events), ("cancel_approvals", t.cancel_approvals),
                ("default_marks", t.default_marks), ("warehouse_receipts", t.warehouse_receipts),
                ("receipt_pledges", t.receipt_pledges), ("receipt_sales", t.receipt_sales),
                ("receipt_sale_events", t.receipt_sale_events),
                ("goods_releases", t.goods_releases), ("goods_prices", t.goods_prices),
                ("product_policies", t.product_policies), ("report_anchors", t.report_anchors),
                ("document_resubmissions", t.document_resubmissions),
                ("invoice_presentations", t.invoice_presentations),
            )
        }  # fmt: skip
    standing = [o for o in OPS if o[5] not in ("failed", "refused")]
    assert counts == {
        "outbox": len(OPS),
        "dispute_events": sum(o[1].endswith("dispute") for o in standing),
        "dilution_events": sum(o[1].endswith("dilution") for o in standing),
        "cancel_approvals": 1, "default_marks": 1, "warehouse_receipts": 1,
        "receipt_pledges": 2, "receipt_sales": 1, "receipt_sale_events": 3,
        "goods_releases": 1, "goods_prices": 2, "product_policies": 1, "report_anchors": 2,
        "document_resubmissions": 2,
        "invoice_presentations": 2,
    }  # fmt: skip


def test_downgrade_puts_the_settings_back(store_engine: Engine) -> None:
    _previous_release_home(store_engine)
    migrate(store_engine)
    config = alembic_config()
    with store_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    with store_engine.connect() as connection:
        rows: dict[str, str] = {
            k: v for k, v in connection.execute(text("SELECT key, value FROM settings"))
        }
    assert {k: json.loads(v) for k, v in rows.items() if k.startswith("risk.")} == {
        k: json.loads(v) for k, v in SETTINGS.items() if k.startswith("risk.")
    }
    assert rows["verification.report_anchor:" + "a" * 64] == "op-a1"
    assert json.loads(rows["fraud.resubmitted"]) == {"doc-1": 2, "doc-7": 1}
    migrate(store_engine)
    with SqlUnitOfWorkFactory(store_engine)() as u:
        assert u.receipts.get("wr-1") is not None
        latest = u.policies.latest("org-3")
        assert latest is not None and ProductPolicy.from_json(latest.policy) == POLICY
