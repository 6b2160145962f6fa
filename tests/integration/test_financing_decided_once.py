"""A financing's ``financing.decided`` webhook event is written once, when the chain applied
the bank's acceptance of the pledge, never for the holder's offer before it.

The robot's approval queues two chain operations a financing: the holder's pledge offer
(``Pledge``, sent by the borrower) and the bank's acceptance (``AcceptPledge``). Until the
bank accepts, nothing is lent: an event saying ``active`` for the offer would tell a webhook
consumer twice, the first time before anything was lent, and wrongly when the chain then
refuses the acceptance (the bank suspended): the consumer must hear only ``failed`` then.
SQLite and PostgreSQL (the ``platform`` fixture), on a real node.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from fourflow.bootstrap import Platform
from fourflow.domain.financing import FinancingStatus
from fourflow.services import commands as cmd
from fourflow.services import relay
from fourflow.services.ports import OpStatus
from tests.integration.test_lifecycle import YUAN, _story
from tests.integration.test_refusals import _suspended
from tests.integration.test_refusals_kept_records import _relay, _request, _warm

pytestmark = pytest.mark.chain


def _decided(p: Platform, financing_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The ``financing.decided`` events written for ``financing_id``: (the organisation told,
    the data decoded), in the order written."""
    engine = create_engine(p.settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT org_id, kind, data FROM webhook_events WHERE subject_id = :s"
                    " ORDER BY seq"
                ),
                {"s": financing_id},
            ).all()
    finally:
        engine.dispose()
    out = []
    for org_id, kind, data in rows:
        if kind == "financing.decided":
            out.append((org_id, json.loads(data) if isinstance(data, str | bytes) else dict(data)))
    return out


def _ops_of(p: Platform, financing_id: str) -> dict[type, str]:
    """The financing's pledge offer and acceptance op ids, by command class."""
    with p.uow_factory() as uow:
        return {
            type(o.command): o.op_id
            for o in uow.outbox.list()
            if o.subject_id == financing_id and isinstance(o.command, cmd.Pledge | cmd.AcceptPledge)
        }


def test_an_applied_financing_is_told_once_by_its_acceptance(platform: Platform) -> None:
    s = _story(platform)
    (holding,) = s.holdings()
    tier1, bank = s.org["tier1"].id, s.org["bank"].id
    day = s.item.issue_date + dt.timedelta(days=5)
    _warm(platform, day)
    fin = _request(platform, holding.id, bank, tier1, 150_000 * YUAN, day)
    ops = _ops_of(platform, fin.id)
    assert set(ops) == {cmd.Pledge, cmd.AcceptPledge}
    assert _relay(platform).failed == ()
    with platform.uow_factory() as uow:
        stored = uow.financings.get(fin.id)
    assert stored is not None and stored.status is FinancingStatus.ACTIVE
    events = _decided(platform, fin.id)
    # one each for the borrower and the bank, not one for the offer and one for the acceptance
    assert sorted(org for org, _ in events) == sorted((tier1, bank)), events
    for _, event in events:
        assert event["status"] == "active" and event["decision"] == "approved"
        assert event["op_id"] == ops[cmd.AcceptPledge]
        assert event["principal"] == stored.principal


def test_a_refused_acceptance_is_told_failed_only(platform: Platform) -> None:
    """The bank suspended on chain: the holder's offer is applied, the bank's acceptance
    refused; the parties hear ``failed`` and never ``active``."""
    s = _story(platform)
    (holding,) = s.holdings()
    tier1, bank = s.org["tier1"].id, s.org["bank"].id
    day = s.item.issue_date + dt.timedelta(days=5)
    _warm(platform, day)
    fin = _request(platform, holding.id, bank, tier1, 150_000 * YUAN, day)
    ops = _ops_of(platform, fin.id)
    first = relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts(),
                        limit=1)  # fmt: skip
    assert first.failed == ()
    with platform.uow_factory() as uow:
        states = {o.op_id: o.status for o in uow.outbox.list()}
    assert states[ops[cmd.Pledge]] is OpStatus.DONE, states  # the offer alone, applied
    assert _decided(platform, fin.id) == []  # nothing lent yet: nobody told
    with _suspended(platform, bank):
        result = _relay(platform)
    refused = dict(result.failed)
    assert ops[cmd.AcceptPledge] in refused, result.failed
    with platform.uow_factory() as uow:
        stored = uow.financings.get(fin.id)
    assert stored is not None and stored.status is FinancingStatus.FAILED
    events = _decided(platform, fin.id)
    assert sorted(org for org, _ in events) == sorted((tier1, bank)), events
    assert {e["status"] for _, e in events} == {"failed"}, events
