"""Evidence a bank can stake money on: mandates, open fraud signals and their clearance.

* ``grant_mandate``: a principal lets an agent send documents of some kinds for it, within a
  term (a carrier its despatch advices, an ERP integrator its orders); from then on those
  documents count as the principal's evidence (``verification.provenance``).
* ``open_signals``: the fraud signals on a trade that no operator has cleared. They gate
  money: issuance on evidence is refused and the review declines or refers a financing,
  naming each signal (docs/verification.md, "Gating").
* ``clear_signal``: an operator clears one signal of a trade with a reason in words; the
  clearance is recorded (who, when, why) and never deletes the signal itself.
* ``revoke_mandate``: the principal (or the operator) ends a mandate from a day, with the reason
  recorded; documents of that day or later no longer count as the principal's evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.mandates import Mandate, SignalClearance
from fourflow.domain.parties import Role
from fourflow.services import fraud, verification
from fourflow.services.common import find_org, get_org, new_id
from fourflow.services.linking import LinkResult
from fourflow.services.ports import Ledger, UnitOfWorkFactory
from fourflow.verification.fraud import FraudSignal


def grant_mandate(
    *,
    uow_factory: UnitOfWorkFactory,
    principal_id: str,
    agent_id: str,
    kinds: Iterable[DocumentKind],
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    note: str = "",
    today: dt.date | None = None,
) -> Mandate:
    """Record that ``agent_id`` may send ``principal_id``'s documents of ``kinds``."""
    with uow_factory() as uow:
        principal = get_org(uow, principal_id)
        agent = get_org(uow, agent_id)
        mandate = Mandate(
            id=new_id("mandate"),
            principal_id=principal.id,
            agent_id=agent.id,
            kinds=frozenset(kinds),
            valid_from=valid_from,
            valid_to=valid_to,
            granted_on=today or valid_from,
            note=note,
        )
        uow.mandates.add(mandate)
        uow.commit()
    return mandate


def revoke_mandate(
    *,
    uow_factory: UnitOfWorkFactory,
    mandate_id: str,
    actor_id: str,
    reason: str,
    on: dt.date,
) -> Mandate:
    """``actor_id`` (the mandate's principal, or the platform operator) revokes a mandate from
    day ``on``: it covers no document of that day or later; the day, who and why are recorded.

    Refused (nothing recorded) when the actor is neither, the reason is empty, or the mandate
    is unknown or revoked already.
    """
    if not reason.strip():
        raise DomainValueError("revoking a mandate needs a reason in words")
    with uow_factory() as uow:
        mandate = uow.mandates.get(mandate_id)
        if mandate is None:
            raise NotFoundError(f"mandate {mandate_id} does not exist")
        actor = get_org(uow, actor_id)
        if actor.id != mandate.principal_id and not actor.has_role(Role.OPERATOR):
            raise PermissionDeniedError(
                f"{actor.name} may not revoke mandate {mandate_id}: only its principal "
                f"{get_org(uow, mandate.principal_id).name} or the platform operator may"
            )
        if mandate.revoked_on is not None:
            raise ConflictError(
                f"mandate {mandate_id} was revoked on {mandate.revoked_on} by "
                f"{mandate.revoked_by}: {mandate.revoke_reason}"
            )
        revoked = replace(mandate, revoked_on=on, revoked_by=actor.id, revoke_reason=reason.strip())
        uow.mandates.revoke(revoked)
        uow.commit()
    return revoked


def list_mandates(*, uow_factory: UnitOfWorkFactory, org: str | None = None) -> list[Mandate]:
    """Every mandate (those where ``org`` (USCC or id) is principal or agent, if given),
    oldest first, revoked ones included."""
    with uow_factory() as uow:
        org_id = None if org is None else find_org(uow, org).id
        return [
            m
            for m in uow.mandates.list()
            if org_id is None or org_id in (m.principal_id, m.agent_id)
        ]


def open_signals(
    *,
    uow_factory: UnitOfWorkFactory,
    trade_id: str,
    as_of: dt.date,
    ledger: Ledger | None = None,
) -> list[FraudSignal]:
    """The fraud signals on ``trade_id`` (a platform-wide scan) no operator has cleared."""
    _, signals = fraud.fraud_signals(uow_factory=uow_factory, as_of=as_of, ledger=ledger)
    with uow_factory() as uow:
        cleared = {c.code for c in uow.signal_clearances.for_trades([trade_id])}
    return [s for s in signals if s.trade_id == trade_id and s.fraud.value not in cleared]


def clear_signal(
    *,
    uow_factory: UnitOfWorkFactory,
    operator_id: str,
    trade_id: str,
    code: str,
    reason: str,
    as_of: dt.date,
    person: str | None = None,
) -> SignalClearance:
    """An operator clears one open signal of a trade, with the reason recorded (and the
    officer, ``person``, who decided).

    Refused (nothing recorded) when the actor is not an operator, the reason is empty, or the
    trade has no open signal of that code.
    """
    with uow_factory() as uow:
        operator = get_org(uow, operator_id)
    if not operator.has_role(Role.OPERATOR):
        raise PermissionDeniedError(f"{operator.name} is not the platform operator")
    who = person.strip() if person and person.strip() else None
    clearance = SignalClearance(trade_id, code, operator.id, reason.strip(), as_of, who)
    found = open_signals(uow_factory=uow_factory, trade_id=trade_id, as_of=as_of)
    if code not in {s.fraud.value for s in found}:
        opened = ", ".join(sorted({s.fraud.value for s in found})) or "none"
        raise DomainValueError(
            f"trade {trade_id} has no open {code} signal to clear (open: {opened})"
        )
    with uow_factory() as uow:
        uow.signal_clearances.add(clearance)
        uow.commit()
    return clearance


def signal_clearances(*, uow_factory: UnitOfWorkFactory, trade_id: str) -> list[SignalClearance]:
    """The clearances recorded on a trade, oldest first."""
    with uow_factory() as uow:
        if uow.trades.get(trade_id) is None:
            raise NotFoundError(f"trade {trade_id} does not exist")
        return uow.signal_clearances.for_trades([trade_id])


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a document went: its trade (None while it waits) and that trade's status."""

    trade_id: str | None
    status: str | None
    waits: str = ""


def reverify_extended(
    *, uow_factory: UnitOfWorkFactory, result: LinkResult, as_of: dt.date
) -> tuple[str, ...]:
    """Verify again the trades that gained documents and had been verified before (a document
    that waited for its order, a later payment): their report must tell the new story."""
    with uow_factory() as uow:
        again = [
            t for t in result.extended
            if (r := uow.trades.get(t)) is not None and r.report is not None
        ]  # fmt: skip
    if again:
        verification.verify_many(uow_factory=uow_factory, trade_ids=again, as_of=as_of)
    return tuple(again)


def placements(
    *, uow_factory: UnitOfWorkFactory, document_ids: Iterable[str], result: LinkResult
) -> dict[str, Placement]:
    """For each document: the trade it joined and that trade's status, or why it waits."""
    waits = dict(result.unlinked)
    wanted = list(dict.fromkeys(document_ids))
    with uow_factory() as uow:  # two look-ups for them all, not two per document
        trade_of = uow.documents.trade_ids(wanted)
        status = {
            r.id: r.status
            for r in uow.trades.get_many([t for t in trade_of.values() if t is not None])
        }
    out: dict[str, Placement] = {}
    for doc_id in wanted:
        trade_id = trade_of.get(doc_id)
        out[doc_id] = Placement(
            trade_id, status.get(trade_id) if trade_id else None, waits.get(doc_id, "")
        )
    return out
