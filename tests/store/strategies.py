"""Hypothesis strategies for the domain records the store keeps as JSON."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from fourflow.domain.documents import Carriage, Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.financing import Decision, Outcome, Reason
from fourflow.domain.findings import Finding, Severity, VerificationReport, VerificationStatus
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import CURRENCY_MINOR_UNITS, Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.domain.payment_status import STATUS_CODES, PaymentStatus
from fourflow.domain.scenarios import Scenario

# Text a database column can hold: no NUL (PostgreSQL refuses it) and no lone surrogates.
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
names = texts.filter(lambda s: s.strip() != "")
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))
currencies = st.sampled_from(sorted(CURRENCY_MINOR_UNITS))
decimals = st.decimals(allow_nan=False, allow_infinity=False)
identifiers = st.builds(Identifier, st.sampled_from(IdScheme), names)
parties = st.builds(
    PartyRef,
    name=st.none() | texts,
    identifiers=st.lists(identifiers, max_size=3).map(tuple),
    account=st.none() | names,
)
lines = st.builds(
    DocumentLine,
    line_id=names,
    item=names,
    quantity=decimals.map(abs),
    unit=names,
    unit_price=st.none() | decimals,
    amount=st.none() | decimals,
)
references = st.builds(DocumentRef, st.sampled_from(DocumentKind), names)
carriages = st.builds(
    Carriage,
    shipment_ids=st.lists(names, max_size=2).map(tuple),
    consignor=st.none() | parties,
    consignee=st.none() | parties,
)

payment_statuses = st.builds(
    PaymentStatus,
    code=st.sampled_from(sorted(STATUS_CODES)),
    payment_ids=st.lists(names, min_size=1, max_size=3).map(tuple),
    reasons=st.lists(names, max_size=2).map(tuple),
    original_message=st.none() | names,
    original_message_type=st.none() | names,
    accepted_at=st.none() | names,
)


@st.composite
def money(draw: st.DrawFn, currency: str) -> Money:
    """Money in ``currency`` with any exponent the currency allows (``1.5`` or ``1.50``)."""
    digits = CURRENCY_MINOR_UNITS[currency]
    scale = draw(st.integers(0, digits))
    # Up to 10**15 major units: any real amount, and its minor units fit a BIGINT column.
    units = draw(st.integers(-(10**15), 10**15)) * 10**scale + draw(st.integers(0, 10**scale - 1))
    return Money(Decimal(units).scaleb(-scale), currency)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    """Any valid document: parties, lines, money in its currency, dates and references."""
    currency = draw(currencies)
    kind = draw(st.sampled_from(DocumentKind))
    return Document(
        id=draw(names),
        kind=kind,
        number=draw(names),
        issue_date=draw(dates),
        seller=draw(parties),
        buyer=draw(parties),
        currency=draw(st.none() | st.just(currency)),
        lines=tuple(draw(st.lists(lines, max_size=4))),
        total=draw(st.none() | money(currency)),
        tax_total=draw(st.none() | money(currency)),
        due_date=draw(st.none() | dates),
        delivery_date=draw(st.none() | dates),
        references=tuple(draw(st.lists(references, max_size=3))),
        source_format=draw(names),
        submitted_by=draw(st.none() | names),
        scenario=draw(st.none() | st.sampled_from(Scenario)),
        carriage=draw(st.none() | carriages),
        payment_status=(draw(payment_statuses) if kind is DocumentKind.PAYMENT_STATUS else None),
    )


findings = st.builds(
    Finding,
    code=names,
    severity=st.sampled_from(Severity),
    message=texts,
    documents=st.lists(names, max_size=3).map(tuple),
)
reports = st.builds(
    VerificationReport,
    trade_id=names,
    status=st.sampled_from(VerificationStatus),
    score=st.integers(0, 100),
    findings=st.lists(findings, max_size=5).map(tuple),
    rules_version=names,
)
decisions = st.builds(
    Decision,
    outcome=st.sampled_from(Outcome),
    reasons=st.lists(st.builds(Reason, names, texts), max_size=4).map(tuple),
    principal=st.integers(0, 2**62),
    rate_bps=st.integers(0, 10_000),
    policy_version=names,
    policy_revision=st.none() | st.integers(1, 10_000),
)
