"""A trade: the documents of one transaction between a seller and a buyer."""

from __future__ import annotations

from dataclasses import dataclass

from fourflow.domain.documents import Document, DocumentKind, Flow
from fourflow.domain.scenarios import Scenario


@dataclass(frozen=True, slots=True)
class Trade:
    """The documents of one transaction, linked by their references.

    Attributes:
        id: FourFlow's id for the trade.
        scenario: the business scenario.
        seller_id: the selling organisation's id (the creditor of its receivable).
        buyer_id: the buying organisation's id (the debtor).
        documents: every document linked to the trade.
    """

    id: str
    scenario: Scenario
    seller_id: str
    buyer_id: str
    documents: tuple[Document, ...]

    def of_kind(self, *kinds: DocumentKind) -> tuple[Document, ...]:
        """The trade's documents of the given kinds, in the order they were linked."""
        return tuple(d for d in self.documents if d.kind in kinds)

    def of_flow(self, flow: Flow) -> tuple[Document, ...]:
        """The trade's documents of one flow."""
        return tuple(d for d in self.documents if d.flow is flow)

    def flows(self) -> frozenset[Flow]:
        """The flows that have at least one document."""
        return frozenset(d.flow for d in self.documents)
