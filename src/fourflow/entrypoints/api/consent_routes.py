"""The core enterprise earns from the data it opens (issue 16, item 6): its consents to banks,
its price list, the banks' metered reads of its data, who read what, and its monthly
statement. Every route acts for the caller's organisation only (the credential names it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from fourflow.domain.consents import MAX_TERM_DAYS, DataKind, DataPurpose
from fourflow.domain.errors import NotFoundError
from fourflow.domain.identity import OrgType
from fourflow.entrypoints.api.routing import caller, route, state
from fourflow.services import consent_anchor, consents
from fourflow.services.common import find_org

router = APIRouter()

ALL_SEEING = frozenset({OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR})
Month = Query(
    default=None, pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM, for example 2026-11."
)
Purpose = Query(description=f"One of: {', '.join(p.value for p in DataPurpose)}.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(Strict):
    grantee: str = Field(min_length=1, max_length=100, description="The bank (USCC or id).")
    kinds: list[DataKind] = Field(min_length=1, max_length=len(DataKind))
    purpose: DataPurpose
    counterparties: list[str] = Field(
        default_factory=list,
        max_length=consents.MAX_COUNTERPARTIES,
        description="Whose trades with the grantor it covers (USCC or ids); empty: all.",
    )
    valid_from: dt.date | None = Field(default=None, description="First day (default today).")
    valid_to: dt.date = Field(description=f"Last day, at most {MAX_TERM_DAYS} days on.")


class ConsentRevocationIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class PricesIn(Strict):
    prices: dict[DataKind, str] = Field(
        min_length=1, max_length=len(DataKind), description="kind -> price per read, decimal"
    )
    currency: str = Field(default=consents.DEFAULT_CURRENCY, pattern=r"^[A-Z]{3}$")


def _today(request: Request) -> dt.date:
    return state(request).platform.clock.today()


@route(router, "POST", "/consents", "consents.grant", status_code=201)
def grant_consent(request: Request, body: ConsentIn) -> dict[str, Any]:
    """The core enterprise consents that a bank reads kinds of its data (about its trades with
    the counterparties named, or all) for one purpose over a term."""
    api, who = state(request), caller(request)
    p = api.platform
    consent = consents.grant(
        uow_factory=p.uow_factory, clock=p.clock, grantor_id=who.org_id, person=who.person,
        grantee=body.grantee, kinds=[k.value for k in body.kinds], purpose=body.purpose.value,
        valid_from=body.valid_from, valid_to=body.valid_to, counterparties=body.counterparties,
    )  # fmt: skip
    return consents.consent_view(consent, p.clock.today())


@route(router, "GET", "/consents", "consents.read")
def list_consents(request: Request) -> list[dict[str, Any]]:
    """Consents the caller granted (a core enterprise) or was granted (a bank); the operator
    and the regulator: every consent."""
    api, who = state(request), caller(request)
    org = None if who.org_types & ALL_SEEING else who.org_id
    found = consents.list_consents(uow_factory=api.platform.uow_factory, org_id=org)
    return [consents.consent_view(c, _today(request)) for c in found]


@route(router, "GET", "/consents/{consent_id}/anchor", "consents.read")
def consent_anchor_proof(request: Request, consent_id: str) -> dict[str, Any]:
    """What proves the consent on chain: for its grant (and revocation) the record, its
    canonical JSON and SHA-256, the notary's anchor (root, block, submitter) and whether they
    match. Its grantor and grantee (the operator and the regulator: any); another's: 404."""
    api, who = state(request), caller(request)
    p = api.platform
    with p.uow_factory() as uow:
        found = uow.consents.get(consent_id)
    mine = found is not None and who.org_id in (found.grantor_id, found.grantee_id)
    if found is None or not (mine or who.org_types & ALL_SEEING):
        raise NotFoundError(f"consent {consent_id} does not exist")
    return consent_anchor.proof(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), consent=found
    )


@route(router, "POST", "/consents/{consent_id}/revocation", "consents.revoke")
def revoke_consent(request: Request, consent_id: str, body: ConsentRevocationIn) -> dict[str, Any]:
    """The grantor revokes its consent now (another organisation's consent: 404)."""
    api, who = state(request), caller(request)
    p = api.platform
    consent = consents.revoke(
        uow_factory=p.uow_factory, clock=p.clock, grantor_id=who.org_id, person=who.person,
        consent_id=consent_id, reason=body.reason,
    )  # fmt: skip
    return consents.consent_view(consent, p.clock.today())


@route(router, "PUT", "/data/prices", "data.prices.set")
def set_prices(request: Request, body: PricesIn) -> list[dict[str, Any]]:
    """The core enterprise sets its price per read of data kinds; its whole price list."""
    api, who = state(request), caller(request)
    p = api.platform
    prices = consents.set_prices(
        uow_factory=p.uow_factory, clock=p.clock, grantor_id=who.org_id, person=who.person,
        prices={k.value: v for k, v in body.prices.items()}, currency=body.currency,
    )  # fmt: skip
    return [consents.price_view(x) for x in prices]


@route(router, "GET", "/data/prices", "data.prices.read")
def get_prices(request: Request, grantor: str | None = None) -> list[dict[str, Any]]:
    """A core enterprise's price list: the caller's own, or (a bank) the ``grantor``'s."""
    api, who = state(request), caller(request)
    uow_factory = api.platform.uow_factory
    if grantor is not None and OrgType.BANK not in who.org_types:
        with uow_factory() as uow:  # a core enterprise reads its own list only
            if find_org(uow, grantor).id != who.org_id:
                raise NotFoundError(f"no organisation known as {grantor!r}")
    rows = consents.price_list(uow_factory=uow_factory, grantor=grantor or who.org_id)
    return [consents.price_view(x) for x in rows]


def _direct_read(request: Request, grantor: str, purpose: str, kind: DataKind) -> dict[str, Any]:
    api, who = state(request), caller(request)
    p = api.platform
    read = (
        consents.read_payment_history if kind is DataKind.PAYMENT_HISTORY else consents.read_trades
    )
    usage, rows = read(
        uow_factory=p.uow_factory, clock=p.clock, reader_org=who.org_id, reader=who.person,
        grantor=grantor, purpose=purpose,
    )  # fmt: skip
    return {"read": consents.usage_view(usage), "records": rows}


@route(router, "GET", "/data/{grantor}/payment-history", "data.read")
def read_payment_history(request: Request, grantor: str, purpose: str = Purpose) -> dict[str, Any]:
    """A bank reads a core enterprise's invoices as a debtor and how it paid them, under its
    consent for ``purpose`` (403 naming the missing consent otherwise); the read is metered."""
    return _direct_read(request, grantor, purpose, DataKind.PAYMENT_HISTORY)


@route(router, "GET", "/data/{grantor}/trades", "data.read")
def read_trades(request: Request, grantor: str, purpose: str = Purpose) -> dict[str, Any]:
    """A bank reads a core enterprise's trade records under its consent for ``purpose``
    (403 naming the missing consent otherwise); the read is metered."""
    return _direct_read(request, grantor, purpose, DataKind.TRADES)


@route(router, "GET", "/data/usage", "data.usage")
def data_usage(request: Request, month: str | None = Month) -> list[dict[str, Any]]:
    """Who read the caller's data (a core enterprise), or what the caller read (a bank): each
    read with who, what, when, purpose, consent and fee; the operator and the regulator: all."""
    api, who = state(request), caller(request)
    org = None if who.org_types & ALL_SEEING else who.org_id
    rows = consents.usage(uow_factory=api.platform.uow_factory, org_id=org, month=month)
    return [consents.usage_view(u) for u in rows]


@route(router, "GET", "/data/statement", "data.statement")
def data_statement(request: Request, month: str | None = Month) -> dict[str, Any]:
    """The core enterprise's statement for a month (default: this month): reads, records and
    fees per bank and data kind, each fee at the price in force when the bank read."""
    api, who = state(request), caller(request)
    month = month or _today(request).strftime("%Y-%m")
    found = consents.statement(
        uow_factory=api.platform.uow_factory, grantor=who.org_id, month=month
    )
    return consents.statement_view(found)
