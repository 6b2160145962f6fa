"""The contract routes every payment exactly as ``fourflow.domain.debt.route_payment``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fourflow.domain.debt import HoldingClaim, PledgeState, route_payment
from tests.contracts.conftest import DAY0, TODAY, Consortium, b32, issue_item, named, new_op

pytestmark = pytest.mark.contracts

BANK_INTEREST, BANK_PRINCIPAL, HOLDER = 1, 2, 3
HOLDERS = ("tier1", "tier2", "bank2", "regulator")


@dataclass(frozen=True)
class Pledge:
    principal: int
    rate_bps: int
    start_offset: int


@dataclass(frozen=True)
class Scenario:
    parts: list[int]  # parts[0] stays in the first holding (may be 0: a closed holding)
    holders: list[str]  # holders of parts[1:]
    pledges: list[Pledge | None]  # one per holding


SCALES = {"tiny": (0, 20), "mid": (1, 10_000), "big": (10**8, 10**12)}


def _fraction(draw: st.DrawFn, whole: int) -> int:
    """Between 1 and ``whole``: a percentage of it, so large values stay large."""
    return max(1, whole * draw(st.integers(1, 100)) // 100)


def _percent_of(outstanding: int, pct: int) -> int:
    """``pct`` per cent of ``outstanding``, at least one minor unit."""
    return max(1, outstanding * pct // 100)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n = draw(st.integers(1, 10))
    low, high = SCALES[draw(st.sampled_from(sorted(SCALES)))]
    parts = [draw(st.integers(0, high))] + [
        draw(st.integers(max(low, 1), high)) for _ in range(n - 1)
    ]
    if sum(parts) == 0:
        parts[0] = 1
    holders = [draw(st.sampled_from(HOLDERS)) for _ in range(n - 1)]
    pledges: list[Pledge | None] = []
    for part in parts:
        if part == 0 or not draw(st.booleans()):
            pledges.append(None)
            continue
        pledges.append(
            Pledge(
                principal=_fraction(draw, part),
                rate_bps=draw(st.sampled_from([0, 1, 450, 1_200, 50_000])),
                start_offset=draw(st.integers(0, 60)),
            )
        )
    return Scenario(parts, holders, pledges)


def _claims(c: Consortium, ids: list[bytes]) -> list[HoldingClaim]:
    """The contract's holdings as the domain's claims."""
    claims = []
    for hid in ids:
        h = c.debt.holding(hid)
        pledge = None
        if h.pledge_bank != "0x" + "00" * 20:
            pledge = PledgeState(
                bank=str(h.pledge_bank),
                principal=h.pledge_principal,
                interest=h.pledge_interest,
                rate_bps=h.pledge_rate_bps,
                accrued_to=h.pledge_accrued_to,
            )
        claims.append(HoldingClaim(hid.hex(), str(h.holder), h.outstanding, pledge))
    return claims


def _expected_events(claims: list[HoldingClaim], amount: int, day: int) -> tuple[list[Any], ...]:
    routed, after = route_payment(claims, amount, day)
    parts = []
    released = []
    by_id = {c.holding_id: c for c in claims}
    for r in routed:
        hid = bytes.fromhex(r.holding_id)
        principal = r.to_bank - r.to_bank_interest
        if r.to_bank_interest:
            parts.append((hid, r.bank, r.to_bank_interest, BANK_INTEREST))
        if principal:
            parts.append((hid, r.bank, principal, BANK_PRINCIPAL))
        if r.to_holder:
            parts.append((hid, r.holder, r.to_holder, HOLDER))
        before = by_id[r.holding_id].pledge
        if before is not None and before.active:
            now = next(a for a in after if a.holding_id == r.holding_id).pledge
            assert now is not None
            if not now.active:
                released.append((hid, r.bank))
    return parts, released, after


def _build(c: Consortium, s: Scenario) -> tuple[Any, list[bytes]]:
    item = issue_item(c, "prop", face_value=sum(s.parts))
    ids = [item.holding_id]
    holders = ["tier1"]
    for i, (part, holder) in enumerate(zip(s.parts[1:], s.holders, strict=True)):
        new = b32(f"prop/h{i + 1}")
        with boa.env.prank(c.tier1):
            if holder == "tier1":
                c.debt.split(new_op(), item.holding_id, new, part)
            else:
                c.debt.transfer(new_op(), item.holding_id, new, getattr(c, holder), part)
        ids.append(new)
        holders.append(holder)
    with boa.env.prank(c.operator):  # the scenarios go up to 500 % a year
        c.debt.set_max_rate(new_op(), 100_000)
    for hid, holder, pledge in zip(ids, holders, s.pledges, strict=True):
        if pledge is not None:
            with boa.env.prank(getattr(c, holder)):
                c.debt.pledge(
                    new_op(),
                    hid,
                    c.bank,
                    pledge.principal,
                    pledge.rate_bps,
                    DAY0 + pledge.start_offset,
                )
            with boa.env.prank(c.bank):
                c.debt.accept_pledge(new_op(), hid, pledge.principal, pledge.rate_bps)
    return item, ids


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios(), data=st.data())
def test_contract_routing_equals_the_domain_rule(
    consortium: Consortium, scenario: Scenario, data: st.DataObject
) -> None:
    c = consortium
    with boa.env.anchor():
        item, ids = _build(c, scenario)
        face = sum(scenario.parts)
        paid = 0
        day = DAY0 + 60
        for _ in range(data.draw(st.integers(1, 4), label="payments")):
            outstanding = face - paid
            if outstanding == 0:
                break
            amount = data.draw(
                st.integers(1, outstanding)
                | st.just(outstanding)
                | st.integers(1, 100).map(partial(_percent_of, outstanding)),
                label="amount",
            )
            day += data.draw(st.integers(0, 100), label="gap")
            assert day <= TODAY
            claims = _claims(c, ids)
            expected, released, after = _expected_events(claims, amount, day)

            with boa.env.prank(c.core.address):
                c.debt.repay(new_op(), item.item_id, amount, day)
            routed = [
                (e["holding_id"], e["payee"], e["amount"], e["part"])
                for e in named(c.debt, "PaymentRouted")
            ]
            assert routed == expected
            assert sum(part[2] for part in routed) == amount
            assert [
                (e["holding_id"], e["bank"]) for e in named(c.debt, "PledgeReleased")
            ] == released
            paid += amount
            assert _claims(c, ids) == after
            assert c.debt.item(item.item_id).paid == paid

        holdings = [c.debt.holding(hid) for hid in ids]
        assert sum(h.paid_to_bank + h.paid_to_holder for h in holdings) == paid
        assert sum(h.outstanding for h in holdings) == face - paid
        assert c.debt.item(item.item_id).state == (2 if paid == face else 1)
