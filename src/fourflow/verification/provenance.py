"""Provenance: a document counts as its issuing party's evidence only when that party sent it.

Each document kind has an issuing party (docs/verification.md, "Provenance"): the buyer says
it ordered and received, the seller invoices and despatches, a carrier or warehouse says it
carried or stored, a bank says it was paid. A document is *attested* when its submitter is that
party, an agent the party has mandated for that kind on the document's date (``Mandate``), or,
for the kinds a class of firm issues (transport and warehouse events, bank statements), a
member in that role. A trade whose counterparty evidence (everything the seller does not
issue) all came from the seller's side is self-asserted: nobody who would know has said so.

Pure: the rule ``check_provenance`` and the detector in ``fraud.py`` share ``assess``.
Documents with no known submitter (built in memory, or stored before submitters were kept)
are left out: provenance cannot be judged either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.mandates import Mandate
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.trades import Trade


class Issuer(StrEnum):
    """Who issues a kind of document."""

    BUYER = "buyer"
    SELLER = "seller"
    CARRIER = "carrier"  # a logistics firm or a warehouse
    BANK = "bank"


#: The issuing party of each document kind (any one of them may issue it).
ISSUERS: dict[DocumentKind, tuple[Issuer, ...]] = {
    DocumentKind.ORDER: (Issuer.BUYER,),
    DocumentKind.ORDER_RESPONSE: (Issuer.SELLER,),
    DocumentKind.CONTRACT: (Issuer.BUYER, Issuer.SELLER),
    DocumentKind.DESPATCH_ADVICE: (Issuer.SELLER,),  # or a carrier acting for it (a mandate)
    DocumentKind.RECEIPT_ADVICE: (Issuer.BUYER,),
    DocumentKind.TRANSPORT_EVENT: (Issuer.CARRIER,),
    DocumentKind.BILL_OF_LADING: (Issuer.CARRIER,),
    DocumentKind.WAREHOUSE_RECEIPT: (Issuer.CARRIER,),
    DocumentKind.FREIGHT_INVOICE: (Issuer.CARRIER,),  # the carrier bills its carriage
    DocumentKind.PAYMENT: (Issuer.BANK, Issuer.BUYER),
    DocumentKind.BANK_STATEMENT_ENTRY: (Issuer.BANK,),
    DocumentKind.REMITTANCE: (Issuer.BUYER,),
    DocumentKind.PAYMENT_STATUS: (Issuer.BANK,),  # the bank reports what became of a payment
    DocumentKind.INVOICE: (Issuer.SELLER,),
    DocumentKind.CREDIT_NOTE: (Issuer.SELLER,),
}
_ROLE_ISSUERS: dict[Issuer, frozenset[Role]] = {
    Issuer.CARRIER: frozenset({Role.LOGISTICS, Role.WAREHOUSE}),
    Issuer.BANK: frozenset({Role.BANK}),
}
_WORDS = {Issuer.CARRIER: "a carrier or warehouse", Issuer.BANK: "the account bank"}


def _name(doc: Document) -> str:
    return f"{doc.kind.value.replace('_', ' ')} {doc.number}"


def counterparty_evidence(doc: Document) -> bool:
    """True for a kind the seller does not issue (what others say about the seller's trade)."""
    return Issuer.SELLER not in ISSUERS[doc.kind]


@dataclass(frozen=True, slots=True)
class Unattested:
    """A document not sent by its issuing party: which, who should have, who did."""

    document: Document
    should: str
    sent_by: str

    def words(self) -> str:
        """In a sentence."""
        return f"{_name(self.document)} should come from {self.should}, not {self.sent_by}"


@dataclass(frozen=True, slots=True)
class Assessment:
    """Provenance of one trade's documents.

    Attributes:
        judged: documents whose submitter is known.
        unattested: those not sent by their issuing party or its agent.
        self_asserted: the counterparty evidence is all unattested and some came from the
            seller's side (the seller or an agent of the seller).
    """

    judged: tuple[Document, ...]
    unattested: tuple[Unattested, ...]
    self_asserted: bool

    @property
    def counterparty_unattested(self) -> tuple[Unattested, ...]:
        """The unattested documents that are counterparty evidence."""
        return tuple(u for u in self.unattested if counterparty_evidence(u.document))


class Orgs:
    """Organisations by id, for names and roles."""

    def __init__(self, organisations: Mapping[str, Organisation]) -> None:
        self.by_id = organisations

    def name(self, org_id: str) -> str:
        org = self.by_id.get(org_id)
        return org.name if org is not None else org_id

    def has_role(self, org_id: str, roles: frozenset[Role]) -> bool:
        org = self.by_id.get(org_id)
        return org is not None and any(org.has_role(r) for r in roles)


def _mandated(mandates: Sequence[Mandate], principal: str, agent: str, doc: Document) -> bool:
    return any(m.covers(principal, agent, doc.kind, doc.issue_date) for m in mandates)


def attested(doc: Document, trade: Trade, orgs: Orgs, mandates: Sequence[Mandate]) -> bool:
    """True when ``doc`` was sent by its issuing party, an agent it mandated, or (for the
    kinds a class of firm issues) a member in that role."""
    sender = doc.submitted_by
    if sender is None:
        return True
    for issuer in ISSUERS[doc.kind]:
        if issuer in _ROLE_ISSUERS:
            if orgs.has_role(sender, _ROLE_ISSUERS[issuer]):
                return True
            continue
        party = trade.buyer_id if issuer is Issuer.BUYER else trade.seller_id
        if sender == party or _mandated(mandates, party, sender, doc):
            return True
    return False


def _should(doc: Document, trade: Trade, orgs: Orgs) -> str:
    words = []
    for issuer in ISSUERS[doc.kind]:
        if issuer in _WORDS:
            words.append(_WORDS[issuer])
        else:
            party = trade.buyer_id if issuer is Issuer.BUYER else trade.seller_id
            words.append(f"the {issuer.value} {orgs.name(party)}")
    return " or ".join(words) + " (or an agent it mandated)"


def seller_side(sender: str, trade: Trade, mandates: Sequence[Mandate]) -> bool:
    """True when ``sender`` is the seller or an agent the seller mandated."""
    return sender == trade.seller_id or any(
        m.principal_id == trade.seller_id and m.agent_id == sender for m in mandates
    )


def assess(trade: Trade, orgs: Orgs, mandates: Sequence[Mandate] = ()) -> Assessment:
    """Which of the trade's documents their issuing party sent, and whether the counterparty
    evidence is the seller's word alone."""
    judged = tuple(d for d in trade.documents if d.submitted_by is not None)
    unattested = tuple(
        Unattested(d, _should(d, trade, orgs), orgs.name(d.submitted_by or ""))
        for d in judged
        if not attested(d, trade, orgs, mandates)
    )
    counterparty = [d for d in judged if counterparty_evidence(d)]
    missing = {u.document.id for u in unattested}
    self_asserted = (
        bool(counterparty)
        and all(d.id in missing for d in counterparty)
        and any(seller_side(d.submitted_by or "", trade, mandates) for d in counterparty)
    )
    return Assessment(judged, unattested, self_asserted)
