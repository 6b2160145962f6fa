"""Fraud signals and self-asserted evidence gate money: the review declines or refers with the
signal named."""

from __future__ import annotations

from dataclasses import replace

from fourflow.domain.financing import Decision, Outcome
from fourflow.risk.review import Exposure, ProductPolicy, Request, review
from tests.unit.test_risk_review import FEATURES, REQ, codes, scored

POLICY = ProductPolicy(bank_id="BANK")


def decide(request: Request) -> Decision:
    return review(request=request, features=FEATURES, scored=scored(0.02), policy=POLICY,
                  exposure=Exposure())  # fmt: skip


def test_an_open_signal_declines_with_the_signal_named() -> None:
    flagged = replace(REQ, fraud_signals=(("CIRCULAR_TRADING", "A sold to B sold to C sold to A"),))
    d = decide(flagged)
    assert d.outcome is Outcome.DECLINE and d.principal == 0
    assert codes(d)[0] == "FRAUD_SIGNAL"
    assert d.reasons[0].message == (
        "open fraud signal CIRCULAR_TRADING: A sold to B sold to C sold to A"
    )


def test_a_volume_spike_refers_to_a_person_by_default_and_the_policy_can_decline_it() -> None:
    spike = replace(REQ, fraud_signals=(("VOLUME_SPIKE", "order 9.1x the relationship's median"),))
    d = decide(spike)
    assert d.outcome is Outcome.REFER and codes(d)[0] == "FRAUD_SIGNAL"
    strict = replace(POLICY, refer_signals=frozenset())
    d = review(request=spike, features=FEATURES, scored=scored(0.02), policy=strict,
               exposure=Exposure())  # fmt: skip
    assert d.outcome is Outcome.DECLINE


def test_self_asserted_evidence_cannot_back_a_financing_unless_the_debtor_confirmed() -> None:
    finding = ("EVIDENCE_SELF_ASSERTED", "order PO-1 should come from the buyer B, not S")
    on_evidence = replace(REQ, findings=(finding,), verification_status="partial")
    d = decide(on_evidence)
    assert d.outcome is Outcome.DECLINE and "EVIDENCE_SELF_ASSERTED" in codes(d)
    assert "order PO-1 should come from the buyer B" in d.reasons[0].message
    confirmed = replace(on_evidence, basis="confirmed")
    assert "EVIDENCE_SELF_ASSERTED" not in codes(decide(confirmed))


def test_without_signals_the_request_is_approved_and_the_policy_round_trips() -> None:
    assert decide(REQ).outcome is Outcome.APPROVE
    policy = replace(POLICY, refer_signals=frozenset({"VOLUME_SPIKE"}))
    assert ProductPolicy.from_json(policy.as_json()) == policy


def test_a_confirmed_item_is_not_gated_by_self_asserted_evidence() -> None:
    signal = (("SELF_ASSERTED_EVIDENCE", "order PO-1 should come from the buyer B, not S"),)
    assert decide(replace(REQ, fraud_signals=signal)).outcome is Outcome.DECLINE
    confirmed = replace(REQ, fraud_signals=signal, basis="confirmed")
    assert decide(confirmed).outcome is Outcome.APPROVE


def test_a_receivable_paid_by_a_transferred_share_is_not_financed_again() -> None:
    d = decide(replace(REQ, paid_by_transfer=30_000_000))
    assert d.outcome is Outcome.DECLINE and codes(d)[0] == "PAID_BY_TRANSFER"
    assert d.reasons[0].message.startswith("CNY 300,000.00 of this receivable was paid")
