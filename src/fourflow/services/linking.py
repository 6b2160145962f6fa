"""Linking documents into trades by the references they carry.

Documents that reference each other (an invoice naming its order, a payment naming its
invoice ...) form one trade. A new document that references a document already in a trade
joins that trade. The trade's seller and buyer are the parties of its order, else its invoice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.scenarios import Scenario
from fourflow.services.common import new_id
from fourflow.services.ports import StoredDocument, TradeRecord, UnitOfWork, UnitOfWorkFactory

_PARTY_SOURCES = (
    DocumentKind.ORDER,
    DocumentKind.CONTRACT,
    DocumentKind.INVOICE,
    DocumentKind.ORDER_RESPONSE,
    DocumentKind.DESPATCH_ADVICE,
)


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What linking did.

    Attributes:
        created: ids of new trades.
        extended: ids of existing trades that gained documents.
        unlinked: ids of documents left unlinked, with the reason.
    """

    created: tuple[str, ...]
    extended: tuple[str, ...]
    unlinked: tuple[tuple[str, str], ...]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _same_parties(a: Document, b: Document) -> bool:
    keys_a = a.seller.keys() | a.buyer.keys()
    keys_b = b.seller.keys() | b.buyer.keys()
    return bool(keys_a & keys_b)


def _referenced(uow: UnitOfWork, doc: Document) -> Iterable[StoredDocument]:
    for ref in doc.references:
        for candidate in uow.documents.by_number(ref.kind, ref.number):
            if candidate.document.id != doc.id and _same_parties(doc, candidate.document):
                yield candidate


def _resolve_parties(uow: UnitOfWork, docs: list[Document]) -> tuple[str, str] | None:
    for kind in _PARTY_SOURCES:
        for doc in docs:
            if doc.kind is not kind:
                continue
            seller = next(
                filter(None, map(uow.organisations.by_key, sorted(doc.seller.keys()))), None
            )
            buyer = next(
                filter(None, map(uow.organisations.by_key, sorted(doc.buyer.keys()))), None
            )
            if seller is not None and buyer is not None:
                return seller.id, buyer.id
    return None


def link_documents(
    *, uow_factory: UnitOfWorkFactory, default_scenario: Scenario = Scenario.MANUFACTURING
) -> LinkResult:
    """Link every unlinked document into a new or existing trade."""
    with uow_factory() as uow:
        unlinked = uow.documents.unlinked()
        if not unlinked:
            return LinkResult((), (), ())
        stored: dict[str, StoredDocument] = {d.document.id: d for d in unlinked}
        groups = _UnionFind()
        for sd in unlinked:
            groups.find(sd.document.id)
            for other in _referenced(uow, sd.document):
                stored.setdefault(other.document.id, other)
                groups.union(sd.document.id, other.document.id)
        # Documents referenced by new ones may in turn be referenced by other stored documents
        # (an order referenced by a new invoice is already in a trade): join by trade id.
        components: dict[str, list[StoredDocument]] = {}
        for doc_id, sd in stored.items():
            components.setdefault(groups.find(doc_id), []).append(sd)
        created: list[str] = []
        extended: list[str] = []
        left: list[tuple[str, str]] = []
        for members in components.values():
            new_docs = [m for m in members if m.trade_id is None]
            if not new_docs:
                continue
            trade_ids = sorted({m.trade_id for m in members if m.trade_id is not None})
            if trade_ids:
                trade = uow.trades.get(trade_ids[0])
                assert trade is not None
                ids = tuple(d.document.id for d in new_docs)
                uow.trades.update(
                    TradeRecord(
                        id=trade.id,
                        scenario=trade.scenario,
                        seller_id=trade.seller_id,
                        buyer_id=trade.buyer_id,
                        document_ids=trade.document_ids + ids,
                    )
                )
                uow.documents.set_trade(ids, trade.id)
                extended.append(trade.id)
                continue
            docs = [m.document for m in new_docs]
            parties = _resolve_parties(uow, docs)
            if parties is None:
                left.extend(
                    (d.id, "seller or buyer is not an onboarded organisation") for d in docs
                )
                continue
            scenario = next((d.scenario for d in docs if d.scenario), default_scenario)
            docs.sort(key=lambda d: (d.issue_date, d.kind.value, d.number))
            trade_id = new_id("trade")
            uow.trades.add(
                TradeRecord(
                    id=trade_id,
                    scenario=scenario,
                    seller_id=parties[0],
                    buyer_id=parties[1],
                    document_ids=tuple(d.id for d in docs),
                )
            )
            uow.documents.set_trade([d.id for d in docs], trade_id)
            created.append(trade_id)
        uow.commit()
    return LinkResult(tuple(created), tuple(dict.fromkeys(extended)), tuple(left))
