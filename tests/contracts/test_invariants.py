"""Invariants as hypothesis stateful tests on titanoboa.

One machine drives a debt item (transfers, splits, merges, pledges, releases, payments in
attested and token form, dilution, default and buy-back), the settlement token (mints and
burns by two banks) and warehouse receipts (pledge, sale paid in parts). After every step:

- value is conserved: holdings outstanding + paid + diluted + cancelled == face value;
- a holding is pledged to at most one bank at a time and a pledged (locked) holding never
  moves: every split, transfer, merge or second pledge of it reverts and leaves it unchanged;
- every payment is routed exactly as ``fourflow.domain.debt.route_payment`` routes it (banks
  paid before holders within a pledged holding);
- the token's supply equals the banks' issuance minus their burns;
- a pledged warehouse receipt keeps its holder, and per lot held + released == issued.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from fourflow.domain.debt import HoldingClaim, PledgeState, route_payment
from tests.contracts.conftest import (
    DAY0,
    SECONDS_PER_DAY,
    TODAY,
    Consortium,
    b32,
    issue_item,
    new_op,
)

pytestmark = pytest.mark.contracts

ZERO = "0x" + "00" * 20
FACE = 100_000_000
LOT = 1_000
TNE = b"TNE".ljust(32, b"\x00")
fractions = st.integers(1, 100)


def _call(sender: str, fn: Any, *args: Any) -> bool:
    """Send the call; True if it was applied, False if it reverted."""
    try:
        with boa.env.prank(sender):
            fn(new_op(), *args)
    except boa.BoaError:
        return False
    return True


def _pledged(h: Any) -> bool:
    return bool(h.pledge_principal or h.pledge_interest)


def make_machine(c: Consortium) -> type[RuleBasedStateMachine]:
    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.anchor = boa.env.anchor()
            self.anchor.__enter__()
            boa.env.evm.patch.timestamp = TODAY * SECONDS_PER_DAY + 3_600
            self.item = issue_item(
                c, "inv", face_value=FACE, issue_day=DAY0, maturity_day=DAY0 + 200
            )
            self.holdings = [self.item.holding_id]
            self.day = DAY0
            self.banks = (c.bank, c.bank2)
            self.lot = b32("inv-lot")
            with boa.env.prank(c.warehouse):
                c.receipts.issue(
                    new_op(), self.lot, c.tier1, b32("g"), b32("d"), LOT, TNE, b32("l"), b32("e")
                )
            self.lot_receipts = [self.lot]
            self.sale: bytes | None = None
            self.n = 0
            # Each holding's pledge principal and what its bank was paid, as last seen; and
            # the holdings whose bank released or foreclosed its pledge since.
            self.seen: dict[bytes, tuple[int, int]] = {}
            self.released: set[bytes] = set()

        def teardown(self) -> None:
            self.anchor.__exit__(None, None, None)

        def _fresh(self) -> bytes:
            self.n += 1
            return b32(f"inv/h{self.n}")

        def _movement(self, sender: str, fn: Any, hid: bytes, *args: Any) -> bool:
            """A movement of a locked holding reverts and leaves it as it was."""
            before = c.debt.holding(hid)
            applied = _call(sender, fn, *args)
            if _pledged(before):
                assert not applied
                assert c.debt.holding(hid) == before
            return applied

        # ------------------------------------------------------------ debt item

        @rule(i=st.integers(0, 63), pct=fractions, to_tier2=st.booleans())
        def transfer(self, i: int, pct: int, to_tier2: bool) -> None:
            hid = self.holdings[i % len(self.holdings)]
            h = c.debt.holding(hid)
            to = c.tier2 if h.holder != c.tier2 else c.tier1
            if not to_tier2:
                to = c.bank2 if h.holder != c.bank2 else c.tier1
            new = self._fresh()
            amount = max(1, h.outstanding * pct // 100)
            if self._movement(h.holder, c.debt.transfer, hid, hid, new, to, amount):
                self.holdings.append(new)

        @rule(i=st.integers(0, 63), pct=fractions)
        def split(self, i: int, pct: int) -> None:
            hid = self.holdings[i % len(self.holdings)]
            h = c.debt.holding(hid)
            new = self._fresh()
            amount = max(1, h.outstanding * pct // 100)
            if self._movement(h.holder, c.debt.split, hid, hid, new, amount):
                self.holdings.append(new)

        @rule(i=st.integers(0, 63), j=st.integers(0, 63))
        def merge(self, i: int, j: int) -> None:
            a, b = self.holdings[i % len(self.holdings)], self.holdings[j % len(self.holdings)]
            h = c.debt.holding(a)
            other = c.debt.holding(b)
            applied = self._movement(h.holder, c.debt.merge, a, a, b)
            if _pledged(other):
                assert not applied

        @rule(
            i=st.integers(0, 63),
            pct=fractions,
            rate=st.sampled_from([0, 450, 1_200]),
            second=st.booleans(),
        )
        def pledge(self, i: int, pct: int, rate: int, second: bool) -> None:
            hid = self.holdings[i % len(self.holdings)]
            h = c.debt.holding(hid)
            bank = self.banks[int(second)]
            principal = max(1, h.outstanding * pct // 100)
            was_pledged = _pledged(h)
            offered = _call(h.holder, c.debt.pledge, hid, bank, principal, rate, self.day)
            applied = offered and _call(bank, c.debt.accept_pledge, hid, principal, rate)
            if was_pledged:  # no portion pledged twice
                assert not applied
                assert c.debt.holding(hid).pledge_bank == h.pledge_bank

        @rule(i=st.integers(0, 63))
        def release(self, i: int) -> None:
            hid = self.holdings[i % len(self.holdings)]
            h = c.debt.holding(hid)
            if _pledged(h):
                assert _call(h.pledge_bank, c.debt.release_pledge, hid)
                self.released.add(hid)

        def _claims(self) -> list[HoldingClaim]:
            claims = []
            for hid in c.debt.item_holdings(self.item.item_id):
                h = c.debt.holding(hid)
                pledge = None
                if h.pledge_bank != ZERO:
                    pledge = PledgeState(
                        bank=str(h.pledge_bank),
                        principal=h.pledge_principal,
                        interest=h.pledge_interest,
                        rate_bps=h.pledge_rate_bps,
                        accrued_to=h.pledge_accrued_to,
                    )
                claims.append(HoldingClaim(hid.hex(), str(h.holder), h.outstanding, pledge))
            return claims

        @rule(
            pct=fractions,
            days=st.integers(0, 60),
            how=st.sampled_from(["repay", "attest", "token"]),
        )
        def pay(self, pct: int, days: int, how: str) -> None:
            outstanding = c.debt.outstanding(self.item.item_id)
            if outstanding == 0:
                return
            amount = max(1, outstanding * pct // 100)
            day = min(self.day + days, TODAY)
            before = self._claims()
            expected, after = route_payment(before, amount, day)
            if how == "token":
                with boa.env.prank(c.bank):
                    c.token.mint(new_op(), c.core.address, amount, new_op())
                with boa.env.prank(c.core.address):
                    c.token.approve(c.debt.address, amount)
                    c.debt.pay_with_token(new_op(), self.item.item_id, amount, day)
            elif how == "attest" and any(
                _pledged(h) and h.outstanding and h.pledge_bank != c.bank
                for h in (c.debt.holding(x) for x in c.debt.item_holdings(self.item.item_id))
            ):
                # Another bank's pledge is paid in tokens or released by that bank, never
                # on the account bank's word.
                assert not _call(
                    c.bank, c.debt.attest_payment, self.item.item_id, amount, day, b32("ref")
                )
                with boa.env.prank(c.core.address):
                    c.debt.repay(new_op(), self.item.item_id, amount, day)
            elif how == "attest":
                with boa.env.prank(c.bank):
                    c.debt.attest_payment(new_op(), self.item.item_id, amount, day, b32("ref"))
            else:
                with boa.env.prank(c.core.address):
                    c.debt.repay(new_op(), self.item.item_id, amount, day)
            self.day = day
            for claim in after:
                h = c.debt.holding(bytes.fromhex(claim.holding_id))
                assert h.outstanding == claim.outstanding
                if claim.pledge is not None:
                    assert (h.pledge_principal, h.pledge_interest) == (
                        claim.pledge.principal,
                        claim.pledge.interest,
                    )
            routed = {(r.holding_id, r.to_bank, r.to_holder) for r in expected}
            assert sum(r.share for r in expected) == amount
            assert all(r.to_holder == 0 or r.to_bank == r.share - r.to_holder for r in expected)
            assert routed  # banks first: to_holder > 0 only once the bank is owed nothing
            for r, claim in zip(expected, [x for x in before if x.outstanding > 0], strict=True):
                if r.to_holder and claim.pledge is not None and claim.pledge.active:
                    interest, principal = claim.pledge.owed_at(day)
                    assert r.to_bank == interest + principal

        @rule(pct=fractions)
        def dilute(self, pct: int) -> None:
            self.n += 1
            note = b32(f"cn-{self.n}")
            amount = max(1, c.debt.outstanding(self.item.item_id) * pct // 200)
            if _call(c.tier1, c.debt.propose_dilution, self.item.item_id, amount, note):
                assert _call(
                    c.core.address, c.debt.accept_dilution, self.item.item_id, note, amount
                )

        @rule()
        def default(self) -> None:
            if c.debt.item(self.item.item_id).state != 1:
                return
            boa.env.evm.patch.timestamp = (TODAY + 200) * SECONDS_PER_DAY
            pledged = [h for h in self.holdings if _pledged(c.debt.holding(h))]
            banks = {h: c.debt.holding(h).pledge_bank for h in pledged}
            assert _call(c.operator, c.debt.mark_default, self.item.item_id)
            self.released.update(pledged)  # foreclosed: each bank now holds its holding
            for h in pledged:
                held = c.debt.holding(h)
                assert held.holder == banks[h] and not _pledged(held)

        @rule(i=st.integers(0, 63))
        def buy_back(self, i: int) -> None:
            hid = self.holdings[i % len(self.holdings)]
            r = c.debt.recourse(hid)
            if not r.open:
                return
            price = c.debt.buy_back_price(hid)
            with boa.env.prank(r.bank):
                c.token.mint(new_op(), r.pledgor, max(price, 1), new_op())
            with boa.env.prank(r.pledgor):
                c.token.approve(c.debt.address, price)
            assert _call(r.pledgor, c.debt.buy_back, hid)
            assert c.debt.holding(hid).holder == r.pledgor

        # ------------------------------------------------------------ token

        @rule(second=st.booleans(), amount=st.integers(1, 10**9))
        def mint(self, second: bool, amount: int) -> None:
            assert _call(self.banks[int(second)], c.token.mint, c.tier1, amount, new_op())

        @rule(second=st.booleans(), amount=st.integers(1, 10**9))
        def burn(self, second: bool, amount: int) -> None:
            bank = self.banks[int(second)]
            ok = amount <= c.token.balanceOf(bank) and c.token.burned(
                bank
            ) + amount <= c.token.issued(bank)
            assert _call(bank, c.token.burn, amount) == ok

        # ------------------------------------------------------------ warehouse

        @rule(amount=st.integers(1, 10_000), second=st.booleans())
        def pledge_lot(self, amount: int, second: bool) -> None:
            r = c.receipts.receipt(self.lot)
            bank, other = self.banks[int(second)], self.banks[1 - int(second)]
            applied = _call(r.holder, c.receipts.pledge, self.lot, bank, amount)
            if r.pledge_amount:
                assert not applied
            if applied:  # an offer pledges nothing until its own bank accepts it
                assert not _call(other, c.receipts.accept_pledge, self.lot, amount)
                assert c.receipts.receipt(self.lot).pledge_amount == 0
                assert _call(bank, c.receipts.accept_pledge, self.lot, amount)

        @rule(pct=fractions)
        def offer_lot(self, pct: int) -> None:
            r = c.receipts.receipt(self.lot)
            if self.sale is not None or r.quantity == 0:
                return
            self.n += 1
            sale, bought = b32(f"sale-{self.n}"), b32(f"bought-{self.n}")
            qty = max(1, r.quantity * pct // 100)
            if _call(
                r.holder,
                c.receipts.offer,
                sale,
                self.lot,
                c.tier2,
                bought,
                qty,
                max(r.pledge_amount, qty * 7),
            ):
                self.sale = sale
                self.lot_receipts.append(bought)

        @rule(pct=fractions)
        def pay_lot(self, pct: int) -> None:
            if self.sale is None:
                return
            s = c.receipts.sale(self.sale)
            amount = max(1, (s.price - s.paid) * pct // 100)
            r = c.receipts.receipt(self.lot)
            bank_before = c.token.balanceOf(r.pledge_bank) if r.pledge_amount else 0
            with boa.env.prank(c.bank):
                c.token.mint(new_op(), c.tier2, amount, new_op())
            with boa.env.prank(c.tier2):
                c.token.approve(c.receipts.address, amount)
                c.receipts.pay(new_op(), self.sale, amount)
            if r.pledge_amount:  # the bank first
                assert c.token.balanceOf(r.pledge_bank) - bank_before == min(
                    amount, r.pledge_amount
                )
            if c.receipts.sale(self.sale).state != 1:
                self.sale = None

        @rule()
        def release_lot(self) -> None:
            r = c.receipts.receipt(self.lot)
            applied = _call(c.warehouse, c.receipts.confirm_release, self.lot, 1, b32("ship"))
            if r.pledge_amount or r.sale_id != b"\x00" * 32:
                assert not applied

        # ------------------------------------------------------------ invariants

        # ------------------------------------------------------------ adversary

        @rule(
            who=st.sampled_from(["outsider", "tier2", "bank2", "operator", "regulator"]),
            what=st.sampled_from(
                ["attest", "repay", "release", "accept", "account_bank", "register", "confirm"]
            ),
            i=st.integers(0, 63),
            amount=st.integers(1, 10**8),
        )
        def adversary(self, who: str, what: str, i: int, amount: int) -> None:
            """A member (or outsider) with no authority over the item tries to settle it, take
            a pledge, move its account bank or mint an item: always refused, nothing changes."""
            attacker = getattr(c, who)
            hid = self.holdings[i % len(self.holdings)]
            before = (c.debt.item(self.item.item_id), c.debt.holding(hid))
            item_id = self.item.item_id
            calls: dict[str, tuple[Any, tuple[Any, ...]]] = {
                "attest": (c.debt.attest_payment, (item_id, amount, self.day, b32("x"))),
                "repay": (c.debt.repay, (item_id, amount, self.day)),
                "release": (c.debt.release_pledge, (hid,)),
                "accept": (c.debt.accept_pledge, (hid, amount, 0)),
                "account_bank": (c.debt.set_account_bank, (item_id, attacker)),
            }
            if what in calls:
                fn, args = calls[what]
                h = before[1]
                pledgee = _pledged(h) and h.pledge_bank == attacker
                offered = c.debt.pledge_offer(hid).bank == attacker
                if (what == "release" and pledgee) or (what == "accept" and offered):
                    return  # the pledgee's own acts are its right
                assert not _call(attacker, fn, *args)
            else:
                with boa.env.prank(attacker), pytest.raises(boa.BoaError):
                    if what == "register":
                        c.debt.register_issue(
                            b32(f"forged-{amount}"), b32(f"forged-{amount}/h"), attacker,
                            c.core.address, 156, amount, DAY0, DAY0 + 10, 1, b32("t"),
                            b32("r"), 1, c.bank,
                        )  # fmt: skip
                    else:
                        c.debt.mark_confirmed(item_id, 0)
            assert (c.debt.item(item_id), c.debt.holding(hid)) == before

        @invariant()
        def a_pledge_falls_only_by_payments_to_its_bank(self) -> None:
            """A pledge's principal is never reduced except by a payment to its bank (or the
            bank's own release or foreclosure): no other member's call touches it."""
            for hid in self.holdings:
                h = c.debt.holding(hid)
                before = self.seen.get(hid)
                if before is not None and hid not in self.released:
                    principal, paid = before
                    drop = principal - h.pledge_principal
                    if drop > 0:
                        assert h.paid_to_bank - paid >= drop, hid
                self.seen[hid] = (h.pledge_principal, h.paid_to_bank)
            self.released.clear()

        @invariant()
        def value_is_conserved(self) -> None:
            it = c.debt.item(self.item.item_id)
            life = c.debt.item_life(self.item.item_id)
            held = sum(c.debt.holding(h).outstanding for h in self.holdings)
            assert held + it.paid + life.diluted + life.cancelled == FACE

        @invariant()
        def supply_is_issuance_less_burns(self) -> None:
            issued = sum(c.token.issued(b) for b in self.banks)
            burned = sum(c.token.burned(b) for b in self.banks)
            assert c.token.totalSupply() == issued - burned

        @invariant()
        def title_and_pledge_never_diverge(self) -> None:
            r = c.receipts.receipt(self.lot)
            if r.pledge_amount:
                assert r.holder == c.tier1 and r.pledge_bank in self.banks
            receipts = [c.receipts.receipt(x) for x in self.lot_receipts]
            assert sum(x.quantity + x.released for x in receipts) == LOT
            assert all(x.pledge_amount == 0 for x in receipts[1:])

    return Ledger


def test_ledger_invariants(consortium: Consortium) -> None:
    run_state_machine_as_test(
        make_machine(consortium),
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
