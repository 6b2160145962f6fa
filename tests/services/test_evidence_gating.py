"""Evidence a bank can stake money on (issue 15), through the services on the fakes: a trade
whose counterparty evidence the seller sent itself is partial, gets no item on the evidence
and no financing while its signal is open; an operator clears the signal only with a reason;
a carrier mandated by the seller sends its despatch advice for it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.findings import VerificationReport
from fourflow.domain.scenarios import Scenario
from fourflow.services import evidence, financing, ingest, items, linking, verification
from fourflow.services.demo import trade_bundle
from fourflow.services.items import IssuanceRefusedError
from tests.services.conftest import MEMBERS, World, no_cold_start


def submitted_trade(
    world: World, senders: dict[str, str], qty: str = "100", days_ago: int = 30
) -> str:
    """One trade's documents, each submitted by ``senders[kind]`` (member key); its id."""
    world.trades += 1
    prefix = f"S{world.trades:03d}"
    raw = trade_bundle(
        prefix=prefix, seller=MEMBERS["tier1"], buyer=MEMBERS["core"],
        carrier=MEMBERS["logistics"], lines=[("GEAR-HOUSING", qty, "EA", "1000.00")],
        received_factor="1", day0=world.clock.today() - dt.timedelta(days_ago), terms_days=60,
        scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    bundle = json.loads(raw)
    by_party: dict[str, list[Any]] = {}
    for doc in bundle["documents"]:
        by_party.setdefault(senders[doc["kind"]], []).append(doc)
    for party, docs in by_party.items():
        part = json.dumps({**bundle, "documents": docs}, ensure_ascii=False).encode()
        outcomes = ingest.ingest_bytes(
            uow_factory=world.uow, reader=DetectingReader(submitter=world.id(party)),
            clock=world.clock, raw=part, source=f"{prefix}-{party}.json",
            submitter_id=world.id(party),
        )  # fmt: skip
        assert {o.status for o in outcomes} == {"accepted"}, outcomes
    (trade_id,) = linking.link_documents(uow_factory=world.uow).created
    verification.verify(uow_factory=world.uow, trade_id=trade_id, as_of=world.clock.today())
    return trade_id


KINDS = ("order", "despatch_advice", "transport_event", "receipt_advice", "invoice")
HONEST = {"order": "core", "receipt_advice": "core", "transport_event": "logistics",
          "despatch_advice": "tier1", "invoice": "tier1"}  # fmt: skip
SELLER_ALONE = dict.fromkeys(KINDS, "tier1")


def report(world: World, trade_id: str) -> VerificationReport:
    with world.uow() as uow:
        record = uow.trades.get(trade_id)
        assert record is not None and record.report is not None
        return record.report


def test_the_self_asserted_trade_is_partial_and_gets_no_item_on_its_evidence(
    credit_world: World,
) -> None:
    world = credit_world
    honest = submitted_trade(world, HONEST)
    assert report(world, honest).status.value == "verified"
    selfish = submitted_trade(world, SELLER_ALONE)
    found = report(world, selfish)
    assert found.status.value == "partial"
    (finding,) = [f for f in found.findings if f.code == "EVIDENCE_SELF_ASSERTED"]
    assert "should come from the buyer" in finding.message
    with pytest.raises(IssuanceRefusedError, match="open fraud signal SELF_ASSERTED_EVIDENCE"):
        items.issue_item(uow_factory=world.uow, ledger=world.ledger, clock=world.clock,
                         trade_id=selfish, as_of=world.clock.today(), confirm=False)  # fmt: skip
    with world.uow() as uow:
        assert uow.items.by_trade(selfish) is None  # a refused issuance changes nothing


def test_financing_waits_for_a_person_while_a_signal_is_open_and_it_is_cleared_with_a_reason(
    credit_world: World,
) -> None:
    world = credit_world
    for days_ago in (150, 120, 90, 60):  # the relationship's history: four orders of 100
        submitted_trade(world, HONEST, days_ago=days_ago)
    spike = submitted_trade(world, HONEST, qty="2000")  # twenty times the usual order
    today = world.clock.today()
    (signal,) = evidence.open_signals(uow_factory=world.uow, trade_id=spike, as_of=today)
    assert signal.fraud.value == "VOLUME_SPIKE"
    with pytest.raises(IssuanceRefusedError, match="open fraud signal VOLUME_SPIKE"):
        items.issue_item(uow_factory=world.uow, ledger=world.ledger, clock=world.clock,
                         trade_id=spike, as_of=today, confirm=False)  # fmt: skip
    # the debtor confirms the payable itself: an item, but the open signal still gates money
    item = items.issue_item(uow_factory=world.uow, ledger=world.ledger, clock=world.clock,
                            trade_id=spike, as_of=today, confirm=True)  # fmt: skip
    assert not world.relay().failed
    (holding,) = world.holdings(item.id)

    def ask() -> Any:
        return financing.request_financing(
            uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("bank"),
            amount=1_000_000, actor_id=world.id("tier1"), as_of=today, cold_start=no_cold_start,
        )  # fmt: skip

    referred = ask()
    assert referred.status is FinancingStatus.REFERRED  # a spike goes to a person by default
    assert referred.decision.reasons[0].code == "FRAUD_SIGNAL"
    assert "VOLUME_SPIKE" in referred.decision.reasons[0].message
    # clearing: an operator, a reason, a signal that is open
    with pytest.raises(PermissionDeniedError, match="not the platform operator"):
        evidence.clear_signal(uow_factory=world.uow, operator_id=world.id("bank"),
                              trade_id=spike, code="VOLUME_SPIKE",
                              reason="a new plant opened", as_of=today)  # fmt: skip
    with pytest.raises(DomainValueError, match="reason"):
        evidence.clear_signal(uow_factory=world.uow, operator_id=world.operator.id,
                              trade_id=spike, code="VOLUME_SPIKE", reason=" ", as_of=today)  # fmt: skip
    with pytest.raises(DomainValueError, match="no open CIRCULAR_TRADING signal"):
        evidence.clear_signal(uow_factory=world.uow, operator_id=world.operator.id,
                              trade_id=spike, code="CIRCULAR_TRADING", reason="no",
                              as_of=today)  # fmt: skip
    with world.uow() as uow:
        assert uow.signal_clearances.for_trades([spike]) == []  # refusals record nothing
    cleared = evidence.clear_signal(
        uow_factory=world.uow, operator_id=world.operator.id, trade_id=spike,
        code="VOLUME_SPIKE", reason="a new plant opened: the framework contract is on file",
        as_of=today, person="wang.li",
    )  # fmt: skip
    assert (cleared.cleared_by, cleared.person) == (world.operator.id, "wang.li")
    with world.uow() as uow:
        assert uow.signal_clearances.for_trades([spike]) == [cleared]
    assert evidence.signal_clearances(uow_factory=world.uow, trade_id=spike) == [cleared]
    assert evidence.open_signals(uow_factory=world.uow, trade_id=spike, as_of=today) == []
    # the holding is free again (a referral does not pledge it): asked again, approved
    approved = ask()
    assert approved.status is FinancingStatus.APPROVED, approved.decision.reasons


def test_a_carrier_mandated_by_the_seller_sends_its_despatch_advice(credit_world: World) -> None:
    world = credit_world
    senders = dict(HONEST, despatch_advice="logistics")
    plain = submitted_trade(world, senders)
    codes = {f.code for f in report(world, plain).findings}
    assert "EVIDENCE_NOT_FROM_ISSUER" in codes
    evidence.grant_mandate(
        uow_factory=world.uow, principal_id=world.id("tier1"), agent_id=world.id("logistics"),
        kinds=[DocumentKind.DESPATCH_ADVICE], valid_from=world.clock.today() - dt.timedelta(90),
        note="the carrier sends our despatch advices",
    )  # fmt: skip
    mandated = submitted_trade(world, senders)
    assert "EVIDENCE_NOT_FROM_ISSUER" not in {f.code for f in report(world, mandated).findings}
    assert report(world, mandated).status.value == "verified"


def test_a_revoked_mandate_covers_no_document_from_its_revocation_day(
    credit_world: World,
) -> None:
    world = credit_world
    senders = dict(HONEST, despatch_advice="logistics")
    today = world.clock.today()
    mandate = evidence.grant_mandate(
        uow_factory=world.uow, principal_id=world.id("tier1"), agent_id=world.id("logistics"),
        kinds=[DocumentKind.DESPATCH_ADVICE], valid_from=today - dt.timedelta(120),
    )  # fmt: skip
    before = submitted_trade(world, senders, days_ago=60)  # dated before the revocation
    # only the principal or the operator revokes, with a reason
    with pytest.raises(PermissionDeniedError, match="only its principal"):
        evidence.revoke_mandate(uow_factory=world.uow, mandate_id=mandate.id,
                                actor_id=world.id("logistics"), reason="x", on=today)  # fmt: skip
    with pytest.raises(DomainValueError, match="reason"):
        evidence.revoke_mandate(uow_factory=world.uow, mandate_id=mandate.id,
                                actor_id=world.id("tier1"), reason=" ", on=today)  # fmt: skip
    with pytest.raises(NotFoundError, match="mandate-x"):
        evidence.revoke_mandate(uow_factory=world.uow, mandate_id="mandate-x",
                                actor_id=world.id("tier1"), reason="x", on=today)  # fmt: skip
    assert evidence.list_mandates(uow_factory=world.uow)[0].revoked_on is None
    revoked = evidence.revoke_mandate(
        uow_factory=world.uow, mandate_id=mandate.id, actor_id=world.id("tier1"),
        reason="we changed carriers", on=today - dt.timedelta(45),
    )  # fmt: skip
    assert (revoked.revoked_by, revoked.revoke_reason) == (world.id("tier1"), "we changed carriers")
    with pytest.raises(ConflictError, match="was revoked on"):
        evidence.revoke_mandate(uow_factory=world.uow, mandate_id=mandate.id,
                                actor_id=world.operator.id, reason="again", on=today)  # fmt: skip
    (listed,) = evidence.list_mandates(uow_factory=world.uow, org=world.org["logistics"].uscc)
    assert listed == revoked
    assert evidence.list_mandates(uow_factory=world.uow, org=world.id("bank")) == []
    # the trade dated before the revocation keeps its evidence; one dated after does not
    verification.verify(uow_factory=world.uow, trade_id=before, as_of=today)
    assert "EVIDENCE_NOT_FROM_ISSUER" not in {f.code for f in report(world, before).findings}
    after = submitted_trade(world, senders, days_ago=30)
    assert "EVIDENCE_NOT_FROM_ISSUER" in {f.code for f in report(world, after).findings}
