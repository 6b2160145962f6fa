"""Linking: references join documents for certain; without them, a stated confidence.

The pure scoring (``fourflow.verification.linking``) on hand-made documents, and the linker
(``fourflow.services.linking``) on a real SQLite store across several runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory, make_engine, migrate
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, Organisation, PartyRef, Role
from fourflow.services.linking import link_documents
from fourflow.services.ports import StoredDocument
from fourflow.verification.linking import (
    LINK_THRESHOLD,
    choose_trade,
    explain_links,
    reference_components,
    score_link,
)
from tests.unit.test_verification_rules import BUYER, SELLER, STRANGER, _uscc

D0 = dt.date(2026, 3, 2)
SELLER2 = Organisation("org-s2", "Second Seller", _uscc("MA1TE7705"), (Role.SUPPLIER,))


def _ref(org: Organisation) -> PartyRef:
    return PartyRef(org.name, (Identifier.parse("uscc", org.uscc),))


def doc(kind: DocumentKind, number: str, day: int, *, qty: str = "100", item: str = "SKU-1",
        refs: tuple[tuple[DocumentKind, str], ...] = (), seller: Organisation = SELLER,
        buyer: Organisation = BUYER, total: str | None = None, **kw: object) -> Document:  # fmt: skip
    """A document between ``seller`` and ``buyer`` dated ``D0 + day``, 10.00 a unit."""
    money = total or (
        str(Decimal(qty) * 10) if kind in (DocumentKind.ORDER, DocumentKind.INVOICE) else None
    )
    fields: dict[str, object] = {
        "id": f"d-{number}",
        "kind": kind,
        "number": number,
        "issue_date": D0 + dt.timedelta(days=day),
        "seller": _ref(seller),
        "buyer": _ref(buyer),
        "currency": "CNY",
        "lines": () if kind is DocumentKind.PAYMENT else (
            DocumentLine("1", item, Decimal(qty), "EA", Decimal("10.00"), Decimal(qty) * 10),
        ),
        "total": Money(Decimal(money), "CNY") if money else None,
        "references": tuple(DocumentRef(k, n) for k, n in refs),
    }  # fmt: skip
    fields.update(kw)
    return Document(**fields)  # type: ignore[arg-type]


def trade_docs(n: str = "1", day: int = 0, qty: str = "100") -> list[Document]:
    po = (DocumentKind.ORDER, f"PO-{n}")
    return [
        doc(DocumentKind.ORDER, f"PO-{n}", day, qty=qty),
        doc(DocumentKind.DESPATCH_ADVICE, f"DN-{n}", day + 3, qty=qty, refs=(po,)),
        doc(DocumentKind.RECEIPT_ADVICE, f"GRN-{n}", day + 5, qty=qty,
            refs=(po, (DocumentKind.DESPATCH_ADVICE, f"DN-{n}"))),
        doc(DocumentKind.INVOICE, f"INV-{n}", day + 6, qty=qty, refs=(po,),
            due_date=D0 + dt.timedelta(days=day + 66)),
    ]  # fmt: skip


# --------------------------------------------------------------------------- pure


def test_references_join_documents_that_share_a_party() -> None:
    docs = trade_docs()
    (component,) = reference_components(docs)
    assert [d.number for d in component] == ["PO-1", "DN-1", "GRN-1", "INV-1"]
    # The same order number at another seller and buyer is a different order.
    foreign = doc(DocumentKind.INVOICE, "INV-X", 6, refs=((DocumentKind.ORDER, "PO-1"),),
                  seller=SELLER2, buyer=STRANGER)  # fmt: skip
    assert len(reference_components([*docs, foreign])) == 2


def test_a_payment_of_exactly_the_open_invoice_is_linked_with_high_confidence() -> None:
    payment = doc(DocumentKind.PAYMENT, "PAY-1", 60, total="1000")
    score = score_link([payment], trade_docs())
    assert score is not None and score.confidence == 1.0
    assert any("exactly the open amount of invoice INV-1" in b for b in score.basis)
    choice = choose_trade([payment], {"t1": trade_docs()})
    assert choice.trade_key == "t1"


def test_a_payment_that_fits_two_trades_equally_is_left_alone() -> None:
    payment = doc(DocumentKind.PAYMENT, "PAY-1", 60, total="1000")
    choice = choose_trade([payment], {"t1": trade_docs("1"), "t2": trade_docs("2", day=2)})
    assert choice.trade_key is None and "about equally" in choice.reason


def test_documents_outside_the_date_window_or_of_other_items_do_not_fit() -> None:
    late = doc(DocumentKind.RECEIPT_ADVICE, "GRN-9", 200)
    assert score_link([late], trade_docs()) is None
    other_item = doc(DocumentKind.RECEIPT_ADVICE, "GRN-9", 5, item="SKU-OTHER")
    assert score_link([other_item], trade_docs()) is None
    near = doc(DocumentKind.RECEIPT_ADVICE, "GRN-9", 5)
    score = score_link([near], trade_docs()[:2])
    assert score is not None and score.confidence >= LINK_THRESHOLD


def test_documents_of_other_parties_never_fit() -> None:
    stranger = doc(DocumentKind.PAYMENT, "PAY-9", 60, total="1000", seller=SELLER2, buyer=STRANGER)
    assert score_link([stranger], trade_docs()) is None


def test_a_second_partial_delivery_fits_what_is_left_on_the_order() -> None:
    first = trade_docs(qty="100")
    order = dataclasses.replace(first[0], lines=(DocumentLine("1", "SKU-1", Decimal(200), "EA"),))
    second = doc(DocumentKind.DESPATCH_ADVICE, "DN-2", 20, qty="100")
    score = score_link([second], [order, *first[1:]])
    assert score is not None and "quantities within what is still open on the order" in score.basis
    too_much = doc(DocumentKind.DESPATCH_ADVICE, "DN-3", 20, qty="150")
    worse = score_link([too_much], [order, *first[1:]])
    assert worse is not None and worse.confidence < score.confidence


def test_explain_links_names_only_the_documents_without_references() -> None:
    docs = trade_docs()
    payment = doc(DocumentKind.PAYMENT, "PAY-1", 60, total="1000")
    (link,) = explain_links([*docs, payment])
    assert link.document_ids == ("d-PAY-1",) and link.score is not None
    assert explain_links(docs) == []


# --------------------------------------------------------------------------- the linker


@pytest.fixture
def uow_factory(tmp_path: Path) -> Iterator[SqlUnitOfWorkFactory]:
    engine = make_engine(f"sqlite:///{tmp_path / 'link.db'}")
    migrate(engine)
    factory = SqlUnitOfWorkFactory(engine)
    with factory() as uow:
        for org in (SELLER, BUYER, STRANGER, SELLER2):
            uow.organisations.add(org)
        uow.commit()
    yield factory
    engine.dispose()


def store(uow_factory: SqlUnitOfWorkFactory, docs: list[Document]) -> None:
    with uow_factory() as uow:
        for d in docs:
            uow.documents.add(StoredDocument(d, f"sha256:{hash(d.id) & (2**256 - 1):064x}",
                                             None, b"{}", "application/json"))  # fmt: skip
        uow.commit()


def trade_of(uow_factory: SqlUnitOfWorkFactory, doc_id: str) -> str | None:
    with uow_factory() as uow:
        stored = uow.documents.get(doc_id)
        assert stored is not None
        return stored.trade_id


def test_a_later_payment_naming_its_invoice_joins_the_trade(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    store(uow_factory, trade_docs())
    first = link_documents(uow_factory=uow_factory)
    assert len(first.created) == 1 and first.unlinked == ()
    store(uow_factory, [doc(DocumentKind.PAYMENT, "PAY-1", 60, total="1000",
                            refs=((DocumentKind.INVOICE, "INV-1"),))])  # fmt: skip
    second = link_documents(uow_factory=uow_factory)
    assert second.extended == first.created and second.inferred == ()
    assert trade_of(uow_factory, "d-PAY-1") == first.created[0]


def test_a_payment_without_reference_is_inferred_into_the_one_trade_it_fits(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    store(uow_factory, trade_docs("1") + trade_docs("2", day=10, qty="70"))
    created = link_documents(uow_factory=uow_factory).created
    store(uow_factory, [doc(DocumentKind.PAYMENT, "PAY-7", 80, total="700")])
    result = link_documents(uow_factory=uow_factory)
    ((doc_id, trade_id, confidence),) = result.inferred
    assert doc_id == "d-PAY-7" and confidence == 1.0
    assert trade_id == trade_of(uow_factory, "d-INV-2") and trade_id in created


def test_inference_never_crosses_to_another_seller_and_buyer(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    store(uow_factory, trade_docs())
    link_documents(uow_factory=uow_factory)
    # The same amount, but paid to another seller.
    store(uow_factory, [doc(DocumentKind.PAYMENT, "PAY-X", 60, total="1000", seller=SELLER2)])
    result = link_documents(uow_factory=uow_factory)
    assert result.inferred == () and [d for d, _ in result.unlinked] == ["d-PAY-X"]
    assert trade_of(uow_factory, "d-PAY-X") is None


def test_an_ambiguous_payment_waits_with_its_reason(uow_factory: SqlUnitOfWorkFactory) -> None:
    store(uow_factory, trade_docs("1") + trade_docs("2", day=1))
    link_documents(uow_factory=uow_factory)
    store(uow_factory, [doc(DocumentKind.PAYMENT, "PAY-1", 60, total="1000")])
    ((doc_id, reason),) = link_documents(uow_factory=uow_factory).unlinked
    assert doc_id == "d-PAY-1" and "about equally" in reason


def test_a_document_naming_another_order_is_never_inferred_into_a_trade() -> None:
    from fourflow.verification.linking import missing_references

    # an invoice naming PO-9 (not on the platform), offered a trade of PO-1 with the same
    # parties, dates and items: it does not fit, it waits for PO-9
    one = trade_docs("1")
    stray = doc(DocumentKind.INVOICE, "INV-9", 6, refs=((DocumentKind.ORDER, "PO-9"),),
                due_date=D0 + dt.timedelta(days=66))  # fmt: skip
    assert missing_references([stray], one) == [(DocumentKind.ORDER, "PO-9")]
    assert score_link([stray], one[:3]) is None
    mine = doc(DocumentKind.INVOICE, "INV-1b", 6, refs=((DocumentKind.ORDER, "PO-1"),))
    assert missing_references([mine], one) == []


def test_documents_arriving_before_their_order_wait_and_join_it_when_it_arrives(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    # trade 1 is on the platform; trade 2's despatch, receipt and invoice (same parties, same
    # items) come first, naming PO-2: they wait instead of joining trade 1 by inference or
    # making a trade without an order
    store(uow_factory, trade_docs("1"))
    (first,) = link_documents(uow_factory=uow_factory).created
    early = [d for d in trade_docs("2", day=2) if d.kind is not DocumentKind.ORDER]
    store(uow_factory, early)
    waiting = link_documents(uow_factory=uow_factory)
    assert waiting.created == () and waiting.inferred == ()
    assert {d for d, _ in waiting.unlinked} == {d.id for d in early}
    assert all("waits for order PO-2" in reason for _, reason in waiting.unlinked)
    # the order arrives: one trade of PO-2 with all four, trade 1 untouched
    store(uow_factory, [d for d in trade_docs("2", day=2) if d.kind is DocumentKind.ORDER])
    (second,) = link_documents(uow_factory=uow_factory).created
    assert {trade_of(uow_factory, d.id) for d in trade_docs("2", day=2)} == {second}
    assert {trade_of(uow_factory, d.id) for d in trade_docs("1")} == {first}
