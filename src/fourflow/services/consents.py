"""The core enterprise earns from the data it opens (issue 16, item 6; docs/consents.md).

A core enterprise grants a bank consent to read kinds of its data (``grant``), revokes it
(``revoke``) and keeps a price list (``set_prices``). Every read of its data by a bank goes
through ``require``: without a consent in force for that bank, kind, purpose and day (and, for
trades, that counterparty) the read is refused (``ConsentRequiredError``) and nothing is
metered; with one, ``meter`` records the read (who, what, when, purpose, consent, fee) in the
same transaction that reads. ``read_payment_history`` and ``read_trades`` are the direct reads
(API and CLI); the credit review robot reads the debtor's payment history through
``debtor_consent`` and ``meter`` (``services.credit.review``). ``usage`` shows who used whose
data; ``statement`` is the grantor's monthly fees per bank and data kind.

What a core enterprise's data is: its trades with counterparties other than the borrower's
side. A trade is data of both its parties: the creditor presents its own trade with the debtor
(that is what it asks to finance), but the debtor's trades with its *other* suppliers and
customers, and how it paid them, are the debtor's alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from fourflow.domain.consents import (
    Consent,
    ConsentRequiredError,
    DataKind,
    DataPrice,
    DataPurpose,
    DataUsage,
    Statement,
    parse_kind,
    parse_month,
    parse_purpose,
)
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.errors import PermissionDeniedError as Denied
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, Role
from fourflow.risk.features import invoice_facts
from fourflow.services import consent_anchor
from fourflow.services.common import find_org, get_org, new_id
from fourflow.services.ports import Clock, TradeRecord, UnitOfWork, UnitOfWorkFactory
from fourflow.services.verification import load_trades

#: The currency a price list is in when the grantor sets none.
DEFAULT_CURRENCY = "CNY"
#: The reader the credit review robot is metered as.
ROBOT = "robot"
MAX_COUNTERPARTIES = 500


def _core(uow: UnitOfWork, org_id: str, what: str) -> Organisation:
    org = get_org(uow, org_id)
    if not org.has_role(Role.CORE_ENTERPRISE):
        raise Denied(
            f"only a core enterprise {what} over its own data; {org.name} ({org.id}) is not one"
        )
    return org


def _bank(uow: UnitOfWork, ref: str) -> Organisation:
    org = find_org(uow, ref)
    if not org.has_role(Role.BANK):
        raise DomainValueError(f"{org.name} ({org.id}) is not a bank: consents are to banks")
    return org


def grant(
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    grantor_id: str,
    person: str,
    grantee: str,
    kinds: Iterable[str],
    purpose: str,
    valid_from: dt.date | None = None,
    valid_to: dt.date,
    counterparties: Sequence[str] = (),
) -> Consent:
    """The core enterprise ``grantor_id`` (the acting organisation: nobody grants over
    another's data) consents that bank ``grantee`` (USCC or id) reads ``kinds`` of its data
    about its trades with ``counterparties`` (USCC or ids; none: all) for ``purpose`` from
    ``valid_from`` (default today) to ``valid_to``, both days included."""
    wanted = frozenset(parse_kind(k) for k in kinds)
    why = parse_purpose(purpose)
    if len(counterparties) > MAX_COUNTERPARTIES:
        raise DomainValueError(f"at most {MAX_COUNTERPARTIES} counterparties per consent")
    with uow_factory() as uow:
        grantor = _core(uow, grantor_id, "grants consent")
        bank = _bank(uow, grantee)
        named = tuple(dict.fromkeys(find_org(uow, c).id for c in counterparties))
        if grantor.id in named or bank.id in named:
            raise DomainValueError("a counterparty is another party than the grantor and grantee")
        consent = Consent(
            id=new_id("consent"), grantor_id=grantor.id, grantee_id=bank.id, kinds=wanted,
            purpose=why, valid_from=valid_from or clock.today(), valid_to=valid_to,
            granted_by=person, granted_at=clock.now(), counterparties=named,
        )  # fmt: skip
        uow.consents.add(consent)
        consent_anchor.queue(uow, consent.id, "granted")  # its hash on chain (notary anchor)
        uow.commit()
    return consent


def revoke(
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    grantor_id: str,
    person: str,
    consent_id: str,
    reason: str,
) -> Consent:
    """The grantor revokes its consent now: no read under it from now on (reads already
    metered stay metered). Another organisation's consent is NotFoundError."""
    if not reason.strip():
        raise DomainValueError("a revocation needs a reason")
    with uow_factory() as uow:
        consent = uow.consents.get(consent_id)
        if consent is None or consent.grantor_id != grantor_id:
            raise NotFoundError(f"consent {consent_id} does not exist")
        if consent.revoked_at is not None:
            raise ConflictError(f"consent {consent_id} was revoked at {consent.revoked_at}")
        revoked = replace(
            consent, revoked_at=clock.now(), revoked_by=person, revoked_reason=reason.strip()
        )
        uow.consents.revoke(revoked)
        consent_anchor.queue(uow, consent.id, "revoked")  # its hash on chain (notary anchor)
        uow.commit()
    return revoked


def list_consents(*, uow_factory: UnitOfWorkFactory, org_id: str | None) -> list[Consent]:
    """Consents ``org_id`` granted or was granted (None: every consent, for the operator)."""
    with uow_factory() as uow:
        if org_id is None:
            return uow.consents.between()
        return [
            *uow.consents.between(grantor_id=org_id),
            *uow.consents.between(grantee_id=org_id),
        ]


def set_prices(
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    grantor_id: str,
    person: str,
    prices: Mapping[str, str],
    currency: str = DEFAULT_CURRENCY,
) -> list[DataPrice]:
    """The core enterprise sets its price per read of data kinds (``{kind: "12.50"}`` in
    ``currency``); kinds it leaves out keep their price. Its whole price list."""
    if not prices:
        raise DomainValueError("name at least one data kind and its price")
    with uow_factory() as uow:
        _core(uow, grantor_id, "sets a price list")
        now = clock.now()
        for kind, amount in prices.items():
            try:
                minor = Money.of(amount, currency).minor
            except (ValueError, ArithmeticError) as exc:
                raise DomainValueError(f"price of {kind}: {exc}") from None
            uow.consents.set_price(
                DataPrice(grantor_id, parse_kind(kind), minor, currency.upper(), person, now)
            )
        uow.commit()
        return uow.consents.prices(grantor_id)


def price_list(*, uow_factory: UnitOfWorkFactory, grantor: str) -> list[DataPrice]:
    """The core enterprise's price list (USCC or id)."""
    with uow_factory() as uow:
        return uow.consents.prices(find_org(uow, grantor).id)


# ----------------------------------------------------------------------------- the gate


def in_force(
    uow: UnitOfWork,
    *,
    grantor_id: str,
    grantee_id: str,
    kind: DataKind,
    purpose: DataPurpose,
    day: dt.date,
) -> list[Consent]:
    """The consents in force on ``day`` that let the bank read ``kind`` of the grantor's data
    for ``purpose``."""
    return [
        c
        for c in uow.consents.between(grantor_id=grantor_id, grantee_id=grantee_id)
        if c.covers(kind, purpose, day)
    ]


def covering(
    found: Sequence[Consent], records: Sequence[TradeRecord], grantor_id: str
) -> tuple[list[TradeRecord], Consent]:
    """Of ``records``, those some consent of ``found`` (not empty) covers, and the consent
    the read is metered under: the one covering most of them (then the widest, the latest)."""
    others = {r.id: _other(r, grantor_id) for r in records}
    covered = [r for r in records if any(c.covers_counterparty(others[r.id]) for c in found)]

    def reach(c: Consent) -> tuple[int, bool, dt.datetime, str]:
        n = sum(1 for r in covered if c.covers_counterparty(others[r.id]))
        return n, not c.counterparties, c.granted_at, c.id

    return covered, max(found, key=reach)


def missing(grantor: Organisation, bank_id: str, kind: DataKind, purpose: DataPurpose,
            day: dt.date) -> str:  # fmt: skip
    """The sentence naming the consent a read lacks."""
    return (
        f"no consent of {grantor.name} ({grantor.id}) in force on {day} lets bank {bank_id} "
        f"read its {kind.value} for {purpose.value}: the core enterprise grants it "
        "(POST /api/v1/consents, `fourflow consent grant`)"
    )


def require(
    uow: UnitOfWork,
    *,
    grantor_id: str,
    grantee_id: str,
    kind: DataKind,
    purpose: DataPurpose,
    day: dt.date,
) -> list[Consent]:
    """The consents ``in_force``, else ConsentRequiredError naming the missing one."""
    found = in_force(
        uow, grantor_id=grantor_id, grantee_id=grantee_id, kind=kind, purpose=purpose, day=day
    )
    if not found:
        grantor = get_org(uow, grantor_id)
        raise ConsentRequiredError(missing(grantor, grantee_id, kind, purpose, day))
    return found


def meter(
    uow: UnitOfWork,
    *,
    consent: Consent,
    reader: str,
    kind: DataKind,
    object_id: str,
    records: int,
    at: dt.datetime,
) -> DataUsage:
    """Record one read under ``consent`` at the grantor's price of ``kind`` in force now (no
    price set: free); the caller commits it with what it read."""
    price = next((p for p in uow.consents.prices(consent.grantor_id) if p.kind is kind), None)
    usage = DataUsage(
        id=new_id("read"), grantor_id=consent.grantor_id, grantee_id=consent.grantee_id,
        reader=reader, kind=kind, object_id=object_id, records=records,
        purpose=consent.purpose, consent_id=consent.id,
        fee_minor=price.price_minor if price else 0,
        currency=price.currency if price else DEFAULT_CURRENCY, read_at=at,
    )  # fmt: skip
    uow.consents.record(usage)
    return usage


def gated_trades(
    records: Sequence[TradeRecord], grantor_id: str, open_to: set[str]
) -> list[TradeRecord]:
    """Of ``records``, the grantor's trades with counterparties not in ``open_to`` (those the
    reader may not see without the grantor's consent)."""
    return [
        r
        for r in records
        if grantor_id in (r.seller_id, r.buyer_id)
        and ({r.seller_id, r.buyer_id} - {grantor_id}).isdisjoint(open_to)
    ]


def _other(record: TradeRecord, grantor_id: str) -> str:
    return record.buyer_id if record.seller_id == grantor_id else record.seller_id


# ----------------------------------------------------------------------------- direct reads


def _read(
    uow: UnitOfWork,
    *,
    clock: Clock,
    reader_org: str,
    grantor: str,
    kind: DataKind,
    purpose: str,
) -> tuple[Organisation, Consent, list[TradeRecord]]:
    bank = get_org(uow, reader_org)
    if not bank.has_role(Role.BANK):
        raise Denied(f"{bank.name} is not a bank: consented data is read by banks")
    owner = find_org(uow, grantor)
    if not owner.has_role(Role.CORE_ENTERPRISE):
        raise NotFoundError(f"{owner.name} is not a core enterprise: it opens no data")
    found = require(
        uow, grantor_id=owner.id, grantee_id=bank.id, kind=kind,
        purpose=parse_purpose(purpose), day=clock.today(),
    )  # fmt: skip
    records, consent = covering(found, uow.trades.involving([owner.id]), owner.id)
    return owner, consent, records


def read_payment_history(
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    reader_org: str,
    reader: str,
    grantor: str,
    purpose: str,
) -> tuple[DataUsage, list[dict[str, Any]]]:
    """A bank reads the core enterprise's invoices as a debtor and how it paid them, from its
    trades with the counterparties the consent covers; metered (refused without consent)."""
    with uow_factory() as uow:
        owner, consent, records = _read(
            uow, clock=clock, reader_org=reader_org, grantor=grantor,
            kind=DataKind.PAYMENT_HISTORY, purpose=purpose,
        )  # fmt: skip
        today = clock.today()
        rows = []
        for trade in load_trades(uow, [r for r in records if r.buyer_id == owner.id]):
            for f in invoice_facts(trade):
                settled = f.settled_on(today)
                rows.append({
                    "trade_id": f.trade_id, "invoice": f.key.split("@", 1)[0],
                    "creditor_id": f.creditor, "currency": DEFAULT_CURRENCY,
                    "amount": f"{f.amount:.2f}", "issue_date": f.issue_date.isoformat(),
                    "due_date": f.due_date.isoformat(),
                    "paid": f"{sum(a for _, a in f.payments):.2f}",
                    "credited": f"{f.credited(today):.2f}",
                    "settled_on": settled.isoformat() if settled else None,
                    "days_late": (settled - f.due_date).days if settled else None,
                    "disputes": len(f.disputes),
                })  # fmt: skip
        usage = meter(
            uow, consent=consent, reader=reader, kind=DataKind.PAYMENT_HISTORY,
            object_id=owner.id, records=len(rows), at=clock.now(),
        )  # fmt: skip
        uow.commit()
    return usage, rows


def read_trades(
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    reader_org: str,
    reader: str,
    grantor: str,
    purpose: str,
) -> tuple[DataUsage, list[dict[str, Any]]]:
    """A bank reads the core enterprise's trade records (parties, scenario, verification)
    with the counterparties the consent covers; metered (refused without consent)."""
    with uow_factory() as uow:
        owner, consent, records = _read(
            uow, clock=clock, reader_org=reader_org, grantor=grantor, kind=DataKind.TRADES,
            purpose=purpose,
        )  # fmt: skip
        rows = [
            {"trade_id": r.id, "scenario": r.scenario.value, "seller_id": r.seller_id,
             "buyer_id": r.buyer_id, "status": r.status, "score": r.score,
             "documents": len(r.document_ids)}
            for r in records
        ]  # fmt: skip
        usage = meter(
            uow, consent=consent, reader=reader, kind=DataKind.TRADES, object_id=owner.id,
            records=len(rows), at=clock.now(),
        )  # fmt: skip
        uow.commit()
    return usage, rows


# ----------------------------------------------------------------------------- usage, statement


def _month_range(month: str) -> tuple[dt.datetime, dt.datetime]:
    start, end = parse_month(month)
    return (
        dt.datetime.combine(start, dt.time(), dt.UTC),
        dt.datetime.combine(end, dt.time(), dt.UTC),
    )


def usage(
    *,
    uow_factory: UnitOfWorkFactory,
    org_id: str | None,
    month: str | None = None,
) -> list[DataUsage]:
    """Reads of ``org_id``'s data and reads by ``org_id`` (None: all, for the operator), in
    ``month`` (YYYY-MM) if given, oldest first."""
    start, end = _month_range(month) if month else (None, None)
    with uow_factory() as uow:
        if org_id is None:
            return uow.consents.usage(start=start, end=end)
        rows = {
            u.id: u
            for u in [
                *uow.consents.usage(grantor_id=org_id, start=start, end=end),
                *uow.consents.usage(grantee_id=org_id, start=start, end=end),
            ]
        }
    return sorted(rows.values(), key=lambda u: (u.read_at, u.id))


def statement(*, uow_factory: UnitOfWorkFactory, grantor: str, month: str) -> Statement:
    """The core enterprise's statement for ``month`` (YYYY-MM): per bank and data kind, the
    reads, records and fees, each fee at the price in force when it was read."""
    start, end = _month_range(month)
    with uow_factory() as uow:
        owner = find_org(uow, grantor)
        if not owner.has_role(Role.CORE_ENTERPRISE):
            raise DomainValueError(f"{owner.name} is not a core enterprise: it has no statement")
        rows = uow.consents.usage(grantor_id=owner.id, start=start, end=end)
    return Statement.of(owner.id, month.strip(), rows)


# ----------------------------------------------------------------------------- views


def consent_view(c: Consent, day: dt.date) -> dict[str, Any]:
    """A consent as JSON, with its status on ``day``."""
    return {
        "consent_id": c.id, "grantor_id": c.grantor_id, "grantee_id": c.grantee_id,
        "kinds": sorted(k.value for k in c.kinds), "purpose": c.purpose.value,
        "counterparties": list(c.counterparties) or "all",
        "valid_from": c.valid_from.isoformat(), "valid_to": c.valid_to.isoformat(),
        "granted_by": c.granted_by, "granted_at": c.granted_at.isoformat(),
        "status": c.status(day),
        "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
        "revoked_by": c.revoked_by, "revoked_reason": c.revoked_reason,
    }  # fmt: skip


def price_view(p: DataPrice) -> dict[str, Any]:
    return {
        "kind": p.kind.value, "price": Money.from_minor(p.price_minor, p.currency).plain(),
        "currency": p.currency, "set_by": p.set_by, "set_at": p.set_at.isoformat(),
    }  # fmt: skip


def usage_view(u: DataUsage) -> dict[str, Any]:
    return {
        "read_id": u.id, "grantor_id": u.grantor_id, "grantee_id": u.grantee_id,
        "reader": u.reader, "kind": u.kind.value, "object_id": u.object_id,
        "records": u.records, "purpose": u.purpose.value, "consent_id": u.consent_id,
        "fee": Money.from_minor(u.fee_minor, u.currency).plain(), "currency": u.currency,
        "read_at": u.read_at.isoformat(),
    }  # fmt: skip


def statement_view(s: Statement) -> dict[str, Any]:
    """The statement as JSON: lines, totals per bank, grand total (decimal strings)."""

    def money(minor: int, cur: str) -> str:
        return Money.from_minor(minor, cur).plain()

    return {
        "grantor_id": s.grantor_id,
        "month": s.month,
        "lines": [
            {"grantee_id": x.grantee_id, "kind": x.kind.value, "reads": x.reads,
             "records": x.records, "fees": money(x.fee_minor, x.currency),
             "currency": x.currency}
            for x in s.lines
        ],
        "by_bank": [
            {"grantee_id": bank, "currency": cur, "fees": money(fee, cur)}
            for (bank, cur), fee in sorted(s.totals_by_bank().items())
        ],
        "total": {cur: money(fee, cur) for cur, fee in sorted(s.total().items())},
    }  # fmt: skip


# ----------------------------------------------------------------------------- the robot's read


def debtor_records(
    uow: UnitOfWork,
    *,
    records: Sequence[TradeRecord],
    debtor_id: str,
    presenters: Iterable[str],
    bank_id: str,
    day: dt.date,
) -> tuple[list[TradeRecord], Consent | None, list[TradeRecord], str | None]:
    """What the credit review of a receivable of ``debtor_id`` may read of ``records`` (the
    debtor's and the creditor's trades) for ``bank_id`` on ``day``; ``presenters``: the
    receivable's creditor and the borrower, whose own trades with the debtor are theirs to
    present. Returns
    (the readable records, the consent used, the debtor's own trades read under it, the
    missing consent's sentence when the debtor's own trades were left unread).

    A debtor that is not a core enterprise, or has no trades but with the presenters, gates
    nothing. Otherwise its trades with other counterparties are read only under its consent
    to ``payment_history`` for ``credit_review``, and only those with the counterparties the
    consent covers."""
    debtor = get_org(uow, debtor_id)
    if not debtor.has_role(Role.CORE_ENTERPRISE):
        return list(records), None, [], None
    gated = gated_trades(records, debtor_id, set(presenters))
    if not gated:
        return list(records), None, [], None
    shut = {r.id for r in gated}
    open_ = [r for r in records if r.id not in shut]
    kind, why = DataKind.PAYMENT_HISTORY, DataPurpose.CREDIT_REVIEW
    found = in_force(uow, grantor_id=debtor_id, grantee_id=bank_id, kind=kind, purpose=why,
                     day=day)  # fmt: skip
    if not found:
        return open_, None, [], missing(debtor, bank_id, kind, why, day)
    covered, consent = covering(found, gated, debtor_id)
    if not covered:  # nothing of the debtor's is readable: no read, nothing metered
        return (
            open_,
            None,
            [],
            (
                f"the consents of {debtor.name} ({debtor.id}) to bank {bank_id} cover none of the "
                "counterparties of its trades the review would read"
            ),
        )
    keep = {r.id for r in covered}
    return [r for r in records if r.id not in shut or r.id in keep], consent, covered, None
