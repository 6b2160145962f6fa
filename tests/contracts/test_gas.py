"""Execution gas per operation (titanoboa ``_computation.get_gas_used()``: the gas the call
itself uses, without the 21,000 intrinsic and calldata gas of a transaction), held under the
budgets of the gas table in docs/contracts.md."""

from __future__ import annotations

import json
import os
from typing import Any

import boa
import pytest

from tests.contracts.conftest import (
    DAY0,
    TODAY,
    Consortium,
    b32,
    issue_item,
    new_op,
)

pytestmark = pytest.mark.contracts

TNE = b"TNE".ljust(32, b"\x00")


def _gas(contract: Any, sender: str, fn: str, *args: Any) -> int:
    with boa.env.prank(sender):
        getattr(contract, fn)(new_op(), *args)
    return int(contract._computation.get_gas_used())


def measure(c: Consortium) -> dict[str, int]:
    """Gas of each operation on a small worked case."""
    g: dict[str, int] = {}
    d, t, w = c.debt, c.token, c.receipts
    g["Registry.set_account"] = _gas(c.registry, c.core.address, "set_account", c.bank, b32("a"))
    issue_item(c, "gas")  # names the registered account bank
    g["Issuer.issue (verifier's signed report)"] = int(c.issuer._computation.get_gas_used())
    item, h0 = b32("gas"), b32("gas/h0")
    g["DebtItem.split"] = _gas(d, c.tier1, "split", h0, b32("g/s"), 10_000_000)
    g["DebtItem.merge"] = _gas(d, c.tier1, "merge", h0, b32("g/s"))
    g["DebtItem.transfer"] = _gas(d, c.tier1, "transfer", h0, b32("g/t2"), c.tier2, 30_000_000)
    g["DebtItem.pledge (offer)"] = _gas(
        d, c.tier2, "pledge", b32("g/t2"), c.bank, 27_000_000, 450, DAY0 + 10
    )
    g["DebtItem.accept_pledge"] = _gas(d, c.bank, "accept_pledge", b32("g/t2"), 27_000_000, 450)
    g["DebtItem.repay (2 holdings, 1 pledged)"] = _gas(
        d, c.core.address, "repay", item, 10_000_000, DAY0 + 50
    )
    g["DebtItem.attest_payment (same)"] = _gas(
        d, c.bank, "attest_payment", item, 10_000_000, DAY0 + 60, b32("ref")
    )
    with boa.env.prank(c.bank):
        t.mint(new_op(), c.core.address, 20_000_000, new_op())
    with boa.env.prank(c.core.address):
        t.approve(d.address, 20_000_000)
    g["DebtItem.pay_with_token (same, 2 transfers)"] = _gas(
        d, c.core.address, "pay_with_token", item, 10_000_000, DAY0 + 70
    )
    g["DebtItem.release_pledge"] = _gas(d, c.bank, "release_pledge", b32("g/t2"))
    g["DebtItem.dispute"] = _gas(d, c.core.address, "dispute", item, b32("r"))
    g["DebtItem.withdraw_dispute"] = _gas(d, c.core.address, "withdraw_dispute", item)
    g["DebtItem.propose_dilution"] = _gas(d, c.tier1, "propose_dilution", item, 1_000, b32("cn"))
    g["DebtItem.accept_dilution"] = _gas(
        d, c.core.address, "accept_dilution", item, b32("cn"), 1_000
    )
    g["DebtItem.pledge (again)"] = _gas(
        d, c.tier2, "pledge", b32("g/t2"), c.bank, 1_000_000, 450, TODAY
    )
    _gas(d, c.bank, "accept_pledge", b32("g/t2"), 1_000_000, 450)
    g["DebtItem.mark_default (1 pledged, by its pledgee)"] = _gas(d, c.bank, "mark_default", item)
    price = d.buy_back_price(b32("g/t2"))
    with boa.env.prank(c.bank):
        t.mint(new_op(), c.tier2, price, new_op())
    with boa.env.prank(c.tier2):
        t.approve(d.address, price)
    g["DebtItem.buy_back"] = _gas(d, c.tier2, "buy_back", b32("g/t2"))
    issue_item(c, "gas-cancel")
    g["DebtItem.cancel (first)"] = _gas(d, c.core.address, "cancel", b32("gas-cancel"))
    g["DebtItem.cancel (second)"] = _gas(d, c.tier1, "cancel", b32("gas-cancel"))
    g["SettlementToken.mint"] = _gas(t, c.bank, "mint", c.bank, 1_000, b32("gas-deposit"))
    g["SettlementToken.burn"] = _gas(t, c.bank, "burn", 1_000)
    with boa.env.prank(c.tier1):
        t.transfer(c.tier2, 1)
    g["SettlementToken.transfer"] = int(t._computation.get_gas_used())
    lot = b32("gas-lot")
    g["WarehouseReceipt.issue"] = _gas(
        w, c.warehouse, "issue", lot, c.tier1, b32("g"), b32("d"), 100, TNE, b32("l"), b32("e")
    )
    g["WarehouseReceipt.pledge (offer)"] = _gas(w, c.tier1, "pledge", lot, c.bank, 400)
    g["WarehouseReceipt.accept_pledge"] = _gas(w, c.bank, "accept_pledge", lot, 400)
    g["WarehouseReceipt.offer"] = _gas(
        w, c.tier1, "offer", b32("gs"), lot, c.tier2, b32("gb"), 80, 1_000
    )
    with boa.env.prank(c.bank):
        t.mint(new_op(), c.tier2, 1_000, new_op())
    with boa.env.prank(c.tier2):
        t.approve(w.address, 1_000)
    g["WarehouseReceipt.pay (first, bank and seller paid)"] = _gas(
        w, c.tier2, "pay", b32("gs"), 500
    )
    g["WarehouseReceipt.pay (final)"] = _gas(w, c.tier2, "pay", b32("gs"), 500)
    g["WarehouseReceipt.request_release"] = _gas(w, c.tier1, "request_release", lot, 10)
    g["WarehouseReceipt.confirm_release"] = _gas(
        w, c.warehouse, "confirm_release", lot, 10, b32("s")
    )
    return g


# A ceiling per operation: the measured figure (docs/contracts.md) with some room, so that a
# change that makes an operation markedly dearer is noticed.
BUDGET = 600_000


def test_gas_per_operation(consortium: Consortium) -> None:
    gas = measure(consortium)
    if path := os.environ.get("FOURFLOW_GAS_TABLE"):
        with open(path, "w") as out:
            json.dump(gas, out, indent=1)
    for name, used in gas.items():
        assert 0 < used < BUDGET, name
