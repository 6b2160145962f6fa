"""`fourflow item split|transfer|dilute|pledge|pay` on the demo's open item, as a user runs
them: amounts in the item's currency, organisations by USCC, one service call per action."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fourflow.services.demo import MEMBERS
from tests.integration.conftest import Run

pytestmark = pytest.mark.chain

USCC = {m.key: m.uscc for m in MEMBERS}


def test_moves_dilution_pledge_and_payment_of_an_open_item(run: Run) -> None:
    code, out, _ = run("demo", "--json")
    assert code == 0
    item_id = json.loads(out)["items"][1]["item_id"]  # tier 2's item on tier 1, still open
    code, out, _ = run("item", "show", item_id, "--json")
    shown = json.loads(out)
    (root,) = shown["holdings"]
    face = shown["face_value"]["minor"]

    code, out, err = run("item", "split", root["holding_id"], "1000.00", "--as", USCC["tier2"],
                         "--json")  # fmt: skip
    assert code == 0, err
    split = json.loads(out)
    assert (split["minor"], split["parent_id"], split["status"]) == (
        100_000,
        root["holding_id"],
        "done",
    )
    code, out, err = run("item", "transfer", split["holding_id"], "400.50", "--to",
                         USCC["tier3"], "--as", USCC["tier2"], "--json")  # fmt: skip
    assert code == 0, err
    passed = json.loads(out)
    assert passed["minor"] == 40_050
    code, _, err = run("item", "split", root["holding_id"], "0.001", "--as", USCC["tier2"])
    assert code == 1 and "more than 2 decimal places" in " ".join(err.split())

    code, out, err = run("item", "dilute", item_id, "50.00", "--credit-note", "CN-CLI-1",
                         "--as", USCC["tier2"], "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["state"] == "proposed"
    code, _, err = run("item", "dilute", item_id, "50.00", "--credit-note", "CN-CLI-1",
                       "--as", USCC["bank"])  # fmt: skip
    assert code == 1 and "only the creditor (proposing) or the debtor" in " ".join(err.split())
    code, out, err = run("item", "dilute", item_id, "50.00", "--credit-note", "CN-CLI-1",
                         "--as", USCC["tier1"], "--json")  # fmt: skip
    assert code == 0, err
    applied = json.loads(out)
    assert applied["state"] == "applied"
    assert [h["minor"] for h in applied["holdings"]] == [5_000]

    code, out, err = run("item", "pledge", root["holding_id"], "--bank", USCC["bank"],
                         "--amount", "1000", "--as", USCC["tier2"], "--json")  # fmt: skip
    assert code == 0, err
    pledged = json.loads(out)
    assert pledged["status"] in ("approved", "referred", "declined") and pledged["reasons"]
    if pledged["status"] == "approved":
        assert pledged["principal"]["minor"] == 100_000

    today = dt.date.today().isoformat()
    code, out, err = run("item", "pay", item_id, "200.00", "--value-date", today, "--reference",
                         "CLI-PAY-1", "--as", USCC["tier1"], "--method", "debtor", "--json")  # fmt: skip
    assert code == 0, err
    paid = json.loads(out)
    assert (paid["minor"], paid["currency"]) == (20_000, "CNY")
    assert sum(p["minor"] for p in paid["parts"]) == 20_000
    code, out, _ = run("item", "show", item_id, "--json")
    after = json.loads(out)
    assert after["outstanding"]["minor"] == face - 5_000 - 20_000
