"""Every repository method, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from fourflow.adapters.db import SqlUnitOfWorkFactory, codec
from fourflow.domain.debt import ItemStatus
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.facts import DisputeAction, DisputeEvent
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, Role
from fourflow.services.commands import Dispute
from fourflow.services.ports import OpKind, OpStatus, Outstanding

from . import builders as b


def _with_item(uow: SqlUnitOfWorkFactory) -> None:
    """Commit trade-1 and item-1 on it."""
    with uow() as u:
        u.trades.add(b.trade(1))
        u.items.add(b.item(1, "trade-1"))
        u.commit()


# --------------------------------------------------------------------------- organisations


def test_organisations_read_back_exactly(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        assert u.organisations.get("org-1") == b.org(1, Role.SUPPLIER)
        assert u.organisations.get("missing") is None
        assert u.organisations.by_uscc(b.uscc(2)) == b.org(2, Role.CORE_ENTERPRISE)
        assert u.organisations.by_uscc(b.uscc(99)) is None
        assert [o.id for o in u.organisations.list()] == ["org-1", "org-2", "org-3"]


def test_organisation_found_by_every_key(uow: SqlUnitOfWorkFactory) -> None:
    org = b.org(1, Role.SUPPLIER)
    with uow() as u:
        for key in org.known_as():
            found = u.organisations.by_key(key)
            assert found is not None and found.id == "org-1", key
        assert u.organisations.by_key("vat:nobody") is None


def test_organisation_update_replaces_details_and_keys(uow: SqlUnitOfWorkFactory) -> None:
    org = b.org(1, Role.SUPPLIER)
    changed = dataclasses.replace(
        org,
        name="Renamed Ltd",
        roles=(Role.SUPPLIER, Role.DISTRIBUTOR),
        identifiers=(Identifier(IdScheme.GLN, "6901234567892"),),
        accounts=("6222999",),
    )
    with uow() as u:
        u.organisations.update(changed)
        u.commit()
    with uow() as u:
        assert u.organisations.get("org-1") == changed
        assert u.organisations.by_key("account:6222999") == changed
        assert u.organisations.by_key("gln:6901234567892") == changed
        assert u.organisations.by_key(str(org.identifiers[0])) is None


def test_organisation_conflicts(uow: SqlUnitOfWorkFactory) -> None:
    twin = dataclasses.replace(b.org(1), id="org-9")
    shares_account = dataclasses.replace(b.org(7), accounts=b.org(1).accounts)
    with uow() as u:
        with pytest.raises(ConflictError, match="already registered to org-1"):
            u.organisations.add(twin)
        with pytest.raises(ConflictError, match="already identifies org-1"):
            u.organisations.add(shares_account)
        with pytest.raises(NotFoundError, match="organisation org-404"):
            u.organisations.update(dataclasses.replace(b.org(1), id="org-404"))


# --------------------------------------------------------------------------- documents


def test_document_reads_back_exactly(uow: SqlUnitOfWorkFactory) -> None:
    doc = b.stored(1)
    with uow() as u:
        u.documents.add(doc)
        u.commit()
    with uow() as u:
        assert u.documents.get("doc-1") == doc
        assert u.documents.by_fingerprint(doc.fingerprint) == doc
        assert u.documents.get("doc-2") is None
        assert u.documents.by_fingerprint("sha256:none") is None
        assert u.documents.count() == 1


def test_document_lookups_keep_insertion_order(uow: SqlUnitOfWorkFactory) -> None:
    first = dataclasses.replace(b.stored(2), business_key="bk-same")
    second = dataclasses.replace(b.stored(1), business_key="bk-same")
    order = b.stored(3, kind=DocumentKind.ORDER, number="INV-0002")
    with uow() as u:
        for doc in (first, second, order):
            u.documents.add(doc)
        u.commit()
    with uow() as u:
        assert [d.document.id for d in u.documents.by_business_key("bk-same")] == ["doc-2", "doc-1"]
        assert u.documents.by_business_key("bk-none") == []
        invoices = u.documents.by_number(DocumentKind.INVOICE, "INV-0002")
        assert [d.document.id for d in invoices] == ["doc-2"]
        orders = u.documents.by_number(DocumentKind.ORDER, "INV-0002")
        assert [d.document.id for d in orders] == ["doc-3"]


def test_documents_linked_to_trades(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        for n in (1, 2, 3):
            u.documents.add(b.stored(n))
        u.trades.add(b.trade(1))
        u.documents.set_trade(["doc-1", "doc-3"], "trade-1")
        u.commit()
    with uow() as u:
        assert [d.document.id for d in u.documents.unlinked()] == ["doc-2"]
        linked = u.documents.get("doc-3")
        assert linked is not None and linked.trade_id == "trade-1"


def test_documents_by_ids_numbers_and_party_window(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        for n in (1, 2, 3):
            u.documents.add(b.stored(n))
        u.documents.add(b.stored(4, kind=DocumentKind.ORDER, number="PO-7"))
        u.trades.add(b.trade(1))
        u.documents.set_trade(["doc-1", "doc-4"], "trade-1")
        u.commit()
    with uow() as u:
        assert [d.document.id for d in u.documents.get_many(["doc-3", "doc-1", "nope"])] == [
            "doc-1",
            "doc-3",
        ]
        refs = [(DocumentKind.INVOICE, "INV-0002"), (DocumentKind.ORDER, "PO-7"),
                (DocumentKind.ORDER, "INV-0002")]  # fmt: skip
        assert sorted(d.document.id for d in u.documents.by_numbers(refs)) == ["doc-2", "doc-4"]
        seller, buyer = b.document(1).seller, b.document(1).buyer
        window = u.documents.linked_between(seller, buyer, b.DAY, b.DAY)
        assert [d.document.id for d in window] == ["doc-1", "doc-4"]
        assert u.documents.linked_between(buyer, seller, b.DAY, b.DAY) == []
        later = b.DAY + dt.timedelta(days=1)
        assert u.documents.linked_between(seller, buyer, later, later) == []


def test_documents_anchored_in_batches(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        for n in (1, 2, 3):
            u.documents.add(b.stored(n))
        u.commit()
    with uow() as u:
        assert [d.document.id for d in u.documents.unanchored(2)] == ["doc-1", "doc-2"]
        u.batches.add(b.batch("batch-1"))
        u.documents.set_batch(["doc-1", "doc-2"], "batch-1", {"doc-1": "[1]", "doc-2": "[2]"})
        u.commit()
    with uow() as u:
        assert [d.document.id for d in u.documents.unanchored(10)] == ["doc-3"]
        assert u.documents.proof("doc-2") == "[2]"
        assert u.documents.proof("doc-3") is None
        assert u.documents.proof("missing") is None
        anchored = u.documents.get("doc-1")
        assert anchored is not None and anchored.batch_id == "batch-1"


def test_anchoring_skips_unknown_documents_and_reads_back_a_stored_batch(
    uow: SqlUnitOfWorkFactory,
) -> None:
    with uow() as u:
        u.batches.add(b.batch("batch-1"))
        u.documents.add_many([b.stored(1), dataclasses.replace(b.stored(2), batch_id="batch-1")])
        u.commit()
    with uow() as u:
        assert [d.document.id for d in u.documents.unanchored(10)] == ["doc-1"]
        assert u.documents.unanchored_fingerprints(10) == [("doc-1", b.stored(1).fingerprint)]
        u.documents.set_batch(["doc-1", "nope", "doc-1"], "batch-1", {"doc-1": "[1]"})
        u.commit()
    with uow() as u:
        assert u.documents.unanchored(10) == []
        assert u.documents.proof("doc-1") == "[1]"
        assert u.documents.proof("nope") is None
        assert [d.batch_id for d in u.documents.get_many(["doc-1", "doc-2"])] == ["batch-1"] * 2


def test_a_batch_of_documents_is_stored_exactly_and_a_clash_stores_none_of_it(
    uow: SqlUnitOfWorkFactory,
) -> None:
    # add_many writes differently on PostgreSQL (COPY and arrays, not an executemany): the
    # same rows either way, the JSON columns the text ``json.dumps`` gives (JSON null for no
    # signature), a time of another zone stored as the same instant.
    east = dt.timezone(dt.timedelta(hours=8))
    signed = dataclasses.replace(
        b.stored(2), signature={"alg": "ed25519", "by": "Zh\u00e8ng"}, source=None,
        created_at=dt.datetime(2026, 12, 7, 22, 0, 0, 123456, tzinfo=east),
    )  # fmt: skip
    batch = [dataclasses.replace(b.stored(1), source="a.xml"), signed, b.stored(3)]
    with uow() as u:
        u.documents.add_many(batch)
        u.commit()
    with uow() as u:
        assert u.documents.get_many(["doc-3", "doc-1", "doc-2"]) == batch
        assert u.documents.known_fingerprints([signed.fingerprint, "sha256:none"]) == {
            signed.fingerprint: "doc-2"
        }
        assert u.documents.known_fingerprints([]) == {}
        assert [d for d, _ in u.documents.unanchored_fingerprints(10)] == [
            "doc-1",
            "doc-2",
            "doc-3",
        ]
        session = u._session
        assert session is not None
        rows = session.execute(
            text("SELECT id, CAST(payload AS TEXT), CAST(signature AS TEXT) FROM documents")
        ).all()
    texts = {doc_id: (payload, signature) for doc_id, payload, signature in rows}
    for doc in batch:
        signature = None if doc.signature is None else dict(doc.signature)
        assert texts[doc.document.id] == (
            json.dumps(codec.encode_document(doc.document)),
            json.dumps(signature),
        )
    clash = b.stored(5, fingerprint=b.stored(3).fingerprint)
    with uow() as u:
        with pytest.raises(ConflictError, match="one of 2 documents clashes"):
            u.documents.add_many([b.stored(4), clash])
        u.documents.add(b.stored(6))  # the transaction goes on
        u.commit()
    with uow() as u:
        assert u.documents.get_many(["doc-4", "doc-5"]) == []
        assert u.documents.count() == 4
        assert [d for d, _ in u.documents.unanchored_fingerprints(10)][-1] == "doc-6"


def test_duplicate_fingerprint_is_a_conflict_and_the_transaction_goes_on(
    uow: SqlUnitOfWorkFactory,
) -> None:
    with uow() as u:
        u.documents.add(b.stored(1))
        u.commit()
    with uow() as u:
        u.documents.add(b.stored(2))
        with pytest.raises(ConflictError, match=r"fingerprint sha256:0+1 is already stored"):
            u.documents.add(b.stored(5, fingerprint=b.stored(1).fingerprint))
        u.documents.add(b.stored(3))
        u.commit()
    with uow() as u:
        assert u.documents.count() == 3
        assert u.documents.get("doc-5") is None


def test_duplicate_document_id_is_a_conflict(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.documents.add(b.stored(1))
        with pytest.raises(ConflictError, match="document doc-1 already exists"):
            u.documents.add(b.stored(1, fingerprint="sha256:other"))


def test_a_total_too_large_for_the_store_is_refused_clearly(uow: SqlUnitOfWorkFactory) -> None:
    huge = Money(Decimal(2**63).scaleb(-2), "CNY")
    doc = b.stored(1)
    too_big = dataclasses.replace(doc, document=dataclasses.replace(doc.document, total=huge))
    with uow() as u, pytest.raises(DomainValueError, match="too large to store"):
        u.documents.add(too_big)


# --------------------------------------------------------------------------- trades


def test_trades_add_update_get_list(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.trades.add(b.trade(1))
        u.trades.add(b.trade(2))
        u.commit()
    verified = dataclasses.replace(
        b.trade(1),
        document_ids=("doc-1", "doc-4"),
        status="partial",
        score=72,
        report=b.report("trade-1"),
        report_hash="ef" * 32,
    )
    with uow() as u:
        u.trades.update(verified)
        u.commit()
    with uow() as u:
        assert u.trades.get("trade-1") == verified
        assert u.trades.get("nope") is None
        assert u.trades.list() == [verified, b.trade(2)]
        with pytest.raises(ConflictError, match="trade trade-2 already exists"):
            u.trades.add(b.trade(2))
        with pytest.raises(NotFoundError):
            u.trades.update(b.trade(3))


def test_trades_involving_a_party(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.trades.add(b.trade(1, seller="org-1", buyer="org-2"))
        u.trades.add(b.trade(2, seller="org-3", buyer="org-2"))
        u.trades.add(b.trade(3, seller="org-3", buyer="org-1"))
        u.commit()
    with uow() as u:
        assert [t.id for t in u.trades.involving(["org-2"])] == ["trade-1", "trade-2"]
        assert [t.id for t in u.trades.involving(["org-1", "org-1"])] == ["trade-1", "trade-3"]
        assert u.trades.involving([]) == []


def test_trade_needs_known_organisations(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u, pytest.raises(ConflictError, match="trade trade-1"):
        u.trades.add(b.trade(1, seller="org-unknown"))


# --------------------------------------------------------------------------- debt items


def test_debt_items_add_update_get_list(uow: SqlUnitOfWorkFactory) -> None:
    _with_item(uow)
    active = dataclasses.replace(b.item(1, "trade-1"), status=ItemStatus.ACTIVE, paid=100)
    with uow() as u:
        u.items.update(active)
        u.commit()
    with uow() as u:
        assert u.items.get("item-1") == active
        assert u.items.by_trade("trade-1") == active
        assert u.items.by_trade("trade-9") is None
        assert u.items.get("item-9") is None
        assert u.items.list() == [active]
        with pytest.raises(ConflictError):
            u.items.add(b.item(2, "trade-1"))  # one item per trade
        with pytest.raises(NotFoundError):
            u.items.update(b.item(9, "trade-1"))


def test_debt_items_get_many_in_one_read(uow: SqlUnitOfWorkFactory) -> None:
    _with_item(uow)
    with uow() as u:
        u.trades.add(b.trade(2))
        u.items.add(b.item(2, "trade-2"))
        u.commit()
    with uow() as u:
        first, second = u.items.get("item-1"), u.items.get("item-2")
        # oldest first, whatever the order asked; unknown and repeated ids skipped
        assert u.items.get_many(["item-2", "nope", "item-1", "item-2"]) == [first, second]
        assert u.items.get_many([]) == []


def test_disputes_by_trade_with_their_business_days(uow: SqlUnitOfWorkFactory) -> None:
    _with_item(uow)
    queued_on = dt.datetime.now(dt.UTC).date()
    with uow() as u:
        u.trades.add(b.trade(2))
        u.items.add(b.item(2, "trade-2"))
        dispute = b.op("op-1", "item-1", OpKind.DISPUTE)
        assert isinstance(dispute.command, Dispute)
        raised = dataclasses.replace(
            dispute, command=dataclasses.replace(dispute.command, on=dt.date(2026, 3, 4))
        )
        failed = dataclasses.replace(
            raised,
            op_id="op-2",
            command=dataclasses.replace(dispute.command, on=dt.date(2026, 3, 5)),
        )
        older = b.op("op-3", "item-2", OpKind.DISPUTE)
        for op in (raised, failed, older, b.op("op-4", "item-1", OpKind.WITHDRAW_DISPUTE)):
            u.outbox.add(op)
        # The dispute records the services write with those ops (the days live there).
        for item_id, op_id, on in (
            ("item-1", "op-1", dt.date(2026, 3, 4)),
            ("item-1", "op-2", dt.date(2026, 3, 5)),
            ("item-2", "op-3", None),
        ):
            u.disputes.add(DisputeEvent(item_id, DisputeAction.RAISED, "org-2", op_id, on))
        u.disputes.add(DisputeEvent("item-1", DisputeAction.WITHDRAWN, "org-2", "op-4"))
        u.commit()
    with uow() as u:
        u.outbox.update(dataclasses.replace(failed, status=OpStatus.FAILED, error="refused"))
        u.commit()
    with uow() as u:
        assert u.items.disputes(["trade-1"]) == {"trade-1": [dt.date(2026, 3, 4)]}
        every = u.items.disputes()
        # A record without its business day (queued before days were kept): its queueing day.
        (day,) = every["trade-2"]
        assert day in (queued_on, dt.datetime.now(dt.UTC).date())
        assert set(every) == {"trade-1", "trade-2"}
        assert u.items.disputes(["trade-9"]) == {}
        assert u.items.disputes([]) == {}


def test_holdings_come_back_in_creation_order(uow: SqlUnitOfWorkFactory) -> None:
    _with_item(uow)
    ids = ["h-z", "h-a", "h-m", "h-b"]
    with uow() as u:
        u.items.add_holding(b.holding(ids[0], "item-1", "org-1", 5_000_000))
        u.commit()
    for hid in ids[1:]:
        with uow() as u:
            u.items.add_holding(b.holding(hid, "item-1", "org-2", 10, parent_id="h-z"))
            u.commit()
    with uow() as u:
        assert [h.id for h in u.items.holdings("item-1")] == ids
        assert u.items.holdings("item-9") == []


def test_holding_pledge_round_trip(uow: SqlUnitOfWorkFactory) -> None:
    _with_item(uow)
    plain = b.holding("h-1", "item-1", "org-1", 1_000_000)
    pledged = dataclasses.replace(
        plain, pledge_bank_id="org-3", pledge=b.pledge(), received=5, outstanding=999_000
    )
    with uow() as u:
        u.items.add_holding(plain)
        u.commit()
    with uow() as u:
        assert u.items.get_holding("h-1") == plain
        u.items.update_holding(pledged)
        u.commit()
    with uow() as u:
        assert u.items.get_holding("h-1") == pledged
        assert u.items.get_holding("h-9") is None
        with pytest.raises(ConflictError, match="holding h-1 already exists"):
            u.items.add_holding(plain)
        with pytest.raises(NotFoundError):
            u.items.update_holding(dataclasses.replace(plain, id="h-9"))


# --------------------------------------------------------------------------- financings


def test_financings(uow: SqlUnitOfWorkFactory) -> None:
    _with_item(uow)
    first = b.financing("fin-1", "item-1", "h-1", FinancingStatus.DECLINED)
    second = dataclasses.replace(
        b.financing("fin-2", "item-1", "h-1", FinancingStatus.REQUESTED), decision=None
    )
    with uow() as u:
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000_000))
        u.financings.add(first)
        u.financings.add(second)
        u.commit()
    active = dataclasses.replace(b.financing("fin-2", "item-1", "h-1", FinancingStatus.ACTIVE))
    with uow() as u:
        assert u.financings.get("fin-2") == second
        assert u.financings.by_holding("h-1") == second  # the latest request
        u.financings.update(active)
        u.commit()
    with uow() as u:
        assert u.financings.get("fin-2") == active
        assert u.financings.by_holding("h-2") is None
        assert u.financings.get("fin-3") is None
        assert u.financings.list() == [first, active]
        with pytest.raises(NotFoundError):
            u.financings.update(dataclasses.replace(active, id="fin-3"))
        # a bank's book in one query: only its financings in the asked statuses
        item = u.items.get("item-1")
        trade = u.trades.get("trade-1")
        assert item is not None and trade is not None
        book = u.financings.outstanding("org-3", ["approved", "active"])
        assert book == [Outstanding(900_000, "org-1", item.debtor_id, trade.scenario.value)]
        assert len(u.financings.outstanding("org-3", ["declined", "active"])) == 2
        assert u.financings.outstanding("org-2", ["active"]) == []


# --------------------------------------------------------------------------- repayments


def test_repayments_with_routed_parts(uow: SqlUnitOfWorkFactory) -> None:
    _with_item(uow)
    with uow() as u:
        u.trades.add(b.trade(2))
        u.items.add(b.item(2, "trade-2"))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000_000))
        u.items.add_holding(b.holding("h-2", "item-2", "org-1", 1_000_000))
        u.repayments.add(b.repayment("pay-1", "item-1", "h-1"))
        u.repayments.add(b.repayment("pay-2", "item-2", "h-2"))
        u.repayments.add(dataclasses.replace(b.repayment("pay-3", "item-1", "h-1"), parts=()))
        u.commit()
    with uow() as u:
        assert u.repayments.for_item("item-1") == [
            b.repayment("pay-1", "item-1", "h-1"),
            dataclasses.replace(b.repayment("pay-3", "item-1", "h-1"), parts=()),
        ]
        assert [r.id for r in u.repayments.list()] == ["pay-1", "pay-2", "pay-3"]
        assert u.repayments.for_item("item-9") == []
        with pytest.raises(ConflictError, match="repayment pay-1 already exists"):
            u.repayments.add(b.repayment("pay-1", "item-1", "h-1"))


# --------------------------------------------------------------------------- batches


def test_batches(uow: SqlUnitOfWorkFactory) -> None:
    later = dataclasses.replace(
        b.batch("batch-2", 5), created_at=dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.UTC)
    )
    with uow() as u:
        u.batches.add(b.batch("batch-1"))
        u.batches.add(later)
        u.commit()
    with uow() as u:
        got = u.batches.get("batch-1")
        assert got == b.batch("batch-1")
        assert got is not None and got.created_at.tzinfo is not None
        assert u.batches.get("batch-3") is None
        assert u.batches.list() == [b.batch("batch-1"), later]


def test_timestamps_are_stored_in_utc(uow: SqlUnitOfWorkFactory) -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    local = dt.datetime(2025, 3, 1, 16, 30, tzinfo=shanghai)
    with uow() as u:
        u.batches.add(dataclasses.replace(b.batch("batch-1"), created_at=local))
        u.commit()
    with uow() as u:
        got = u.batches.get("batch-1")
        assert got is not None
        assert got.created_at == b.NOW
        assert got.created_at.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_are_refused(uow: SqlUnitOfWorkFactory) -> None:
    naive = dataclasses.replace(b.batch("batch-1"), created_at=dt.datetime(2025, 3, 1))
    with uow() as u, pytest.raises(Exception, match="has no time zone"):
        u.batches.add(naive)


# --------------------------------------------------------------------------- outbox


def test_outbox_pending_in_seq_order_with_status_updates(uow: SqlUnitOfWorkFactory) -> None:
    names = ["op-c", "op-a", "op-d", "op-b"]
    with uow() as u:
        for name in names:
            u.outbox.add(b.op(name))
        u.commit()
    with uow() as u:
        queued = u.outbox.pending(10)
        assert [o.op_id for o in queued] == names
        seqs = [o.seq for o in queued if o.seq is not None]
        assert len(seqs) == len(queued) and seqs == sorted(seqs)
        assert queued[0] == dataclasses.replace(b.op("op-c"), seq=seqs[0])
        sent = dataclasses.replace(queued[0], status=OpStatus.SENT, tx_hash="0xab", attempts=1)
        done = dataclasses.replace(
            queued[1], status=OpStatus.DONE, tx_hash="0xcd", block_number=7, attempts=1
        )
        failed = dataclasses.replace(queued[2], status=OpStatus.FAILED, error="reverted")
        for changed in (sent, done, failed):
            u.outbox.update(changed)
        u.commit()
    with uow() as u:
        assert [o.op_id for o in u.outbox.pending(10)] == ["op-c", "op-b"]
        assert [o.op_id for o in u.outbox.pending(1)] == ["op-c"]
        assert u.outbox.get("op-c") == sent
        assert u.outbox.get("op-a") == done
        assert u.outbox.get("op-d") == failed
        assert u.outbox.get("op-x") is None
        assert [o.op_id for o in u.outbox.list()] == names


def test_outbox_for_subject_and_conflicts(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.outbox.add(b.op("op-1", subject="item-1"))
        u.outbox.add(b.op("op-2", subject="batch-1"))
        u.outbox.add(b.op("op-3", subject="item-1"))
        u.outbox.add(b.op("op-4", subject=None))
        with pytest.raises(ConflictError, match="op-1 is already queued"):
            u.outbox.add(b.op("op-1"))
        with pytest.raises(NotFoundError):
            u.outbox.update(b.op("op-9"))
        u.commit()
    with uow() as u:
        assert [o.op_id for o in u.outbox.for_subject("item-1")] == ["op-1", "op-3"]
        assert u.outbox.for_subject("nothing") == []


# --------------------------------------------------------------------------- settings


def test_settings_put_and_replace(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        assert u.settings.get("contract.registry") is None
        u.settings.put("contract.registry", "0x01")
        u.settings.put("contract.registry", "0x02")
        u.settings.put("chain.id", "31337")
        u.commit()
    with uow() as u:
        assert u.settings.get("contract.registry") == "0x02"
        assert u.settings.get("chain.id") == "31337"


def test_a_lock_has_one_holder_until_its_transaction_ends(
    uow: SqlUnitOfWorkFactory, store_url: str
) -> None:
    import threading
    import time

    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with uow() as u:
            u.settings.lock("risk.limits:bank-1")
            held.set()
            time.sleep(0.3)
            order.append("first done")
            u.commit()

    def second() -> None:
        held.wait(5)
        with uow() as u:
            u.settings.lock("risk.limits:bank-1")
            order.append("second has it")
            u.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # SQLite transactions begin IMMEDIATE (serial anyway); PostgreSQL needs the lock.
    if store_url.startswith("postgresql"):
        assert order == ["first done", "second has it"]
    else:
        assert sorted(order) == ["first done", "second has it"]
    with uow() as u:  # another name is never blocked
        u.settings.lock("risk.limits:bank-2")
