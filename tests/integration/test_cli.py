"""The `fourflow` command on a fresh home with its own local node, as a user runs it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from fourflow.services.demo import MEMBERS
from tests.integration.conftest import Run

pytestmark = pytest.mark.chain


def test_init_onboard_list_status_and_chain_info(run: Run) -> None:
    code, out, _ = run("init", "--demo", "--json")
    assert code == 0
    init = json.loads(out)
    assert set(init["contracts"]) >= {"Registry", "Notary", "DebtItem"}
    assert init["operator"]["roles"] == ["operator"]

    core, supplier = MEMBERS[0], MEMBERS[1]
    code, out, _ = run("org", "add", "--name", core.name, "--uscc", core.uscc,
                       "--role", "core_enterprise", "--gln", "5790000435951",
                       "--account", core.account, "--json")  # fmt: skip
    assert code == 0, out
    added = json.loads(out)
    assert added["identifiers"] == ["gln:5790000435951"] and added["address"].startswith("0x")
    code, _, _ = run("org", "add", "--name", supplier.name, "--uscc", supplier.uscc,
                     "--role", "supplier")  # fmt: skip
    assert code == 0

    code, _, err = run("org", "add", "--name", "Bad", "--uscc", "91110000600037341X",
                       "--role", "supplier")  # fmt: skip
    assert code == 1 and "check character is 'X', expected 'L'" in err

    code, out, _ = run("org", "list", "--json")
    assert {o["uscc"] for o in json.loads(out)} >= {core.uscc, supplier.uscc}

    code, out, _ = run("status", "--json")
    status = json.loads(out)
    assert status["initialised"] and status["counts"]["organisations"] == 3
    assert status["counts"]["pending_chain_ops"] == 0

    code, first, _ = run("chain", "info", "--json")
    info = json.loads(first)
    assert info["chain_id"] == 1337 and info["managed_node"] is True
    assert info["contracts"] == init["contracts"]
    assert info["block_number"] > 0


def test_commands_before_init_say_what_to_do(run: Run) -> None:
    code, _, err = run("org", "add", "--name", "X", "--uscc", MEMBERS[0].uscc, "--role", "bank")
    assert code == 1 and "fourflow init" in err


def test_item_show_and_history_after_the_demo(run: Run) -> None:
    code, out, _ = run("demo", "--json")
    assert code == 0
    item_id = json.loads(out)["items"][0]["item_id"]
    code, out, _ = run("item", "show", item_id, "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["status"] == "settled" and shown["face_value"]["minor"] == 100_000_000
    values = [h["value"]["amount"] for h in shown["holdings"]]
    assert values == ["700000.00", "250000.00", "50000.00"]
    pledge = shown["holdings"][1]["pledge"]
    assert pledge["status"] == "released" and pledge["financed_principal"]["amount"] == "225000.00"
    settled = {p["party"]: p["minor"] for p in shown["settled_by_party"]}
    assert sum(settled.values()) == 100_000_000
    code, out, _ = run("item", "history", item_id, "--json")
    assert code == 0
    ops = [entry["op"] for entry in json.loads(out)]
    # the debtor's route is locked with its confirmation, right after the issuance
    assert ops[:3] == ["issue_item", "lock_route", "transfer"] and ops.count("repay") == 2


def test_finance_request_refer_decide_and_risk_commands_after_the_demo(
    run: Run, tmp_path: Path
) -> None:
    code, out, _ = run("demo", "--json")
    assert code == 0
    demo = json.loads(out)
    bank = next(m for m in MEMBERS if m.key == "bank").uscc
    open_item = demo["items"][1]["item_id"]

    # The demo's two requests were decided by the robot with the bootstrap champion.
    code, out, _ = run("finance", "list", "--json")
    listed = json.loads(out)
    assert [r["status"] for r in listed] == ["repaid", "declined"]
    assert "ADVANCE_LIMIT" in {r["code"] for r in listed[1]["decision"]["reasons"]}
    assert all(r["decision"]["model_version"] == "scorecard-1" for r in listed)
    code, out, _ = run("risk", "models", "--json")
    (model,) = json.loads(out)
    assert model["role"] == "champion" and model["note"].startswith("bootstrap")

    # The bank refers everything to a person; a credit officer approves with a reason.
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"refer_pd": 0.0, "max_pd": 1.0, "version": "manual-review"}))
    code, out, err = run("finance", "policy", "set", bank, str(policy))
    assert code == 0, err
    assert json.loads(out)["refer_pd"] == 0.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"refer_pdd": 0.1}))
    code, _, err = run("finance", "policy", "set", bank, str(bad))
    assert code == 1 and "unknown policy field(s): refer_pdd" in " ".join(err.split())

    code, out, err = run("finance", "request", open_item, "--bank", bank, "--amount", "1000",
                         "--json")  # fmt: skip
    assert code == 0, err
    referred = json.loads(out)
    assert referred["status"] == "referred"
    assert referred["decision"]["reasons"][0]["code"] == "PD_REFER"
    assert len(referred["decision"]["input_hash"]) == 64
    assert referred["decision"]["policy_version"] == "manual-review"
    code, out, err = run("finance", "decide", referred["request"], "--approve",
                         "--reason", "known debtor, paid every invoice", "--by", "wang.fang",
                         "--json")  # fmt: skip
    assert code == 0, err
    decided = json.loads(out)
    assert decided["status"] == "approved"
    assert decided["decision"]["decided_by"] == "person:wang.fang"
    assert decided["decision"]["note"] == "known debtor, paid every invoice"
    assert decided["decision"]["review"]["outcome"] == "refer"
    code, _, err = run("finance", "decide", referred["request"], "--decline", "--reason", "x")
    assert code == 1 and "only referred requests" in " ".join(err.split())

    code, out, err = run("risk", "value", open_item, "--bank", bank, "--json")
    assert code == 0, err
    value = json.loads(out)
    assert 0 < value["value"] < value["face"]

    code, _, err = run("risk", "train")
    assert code == 1 and "known outcomes" in " ".join(err.split())


def test_a_debtor_disputes_and_withdraws_from_the_cli(run: Run, tmp_path: Path) -> None:
    code, out, _ = run("demo", "--json")
    assert code == 0
    open_item = json.loads(out)["items"][1]["item_id"]
    code, out, _ = run("item", "show", open_item, "--json")
    shown = json.loads(out)
    debtor = next(m for m in MEMBERS if m.name == shown["debtor"]).uscc
    bank = next(m for m in MEMBERS if m.key == "bank").uscc
    on = (dt.date.fromisoformat(shown["issue_date"]) + dt.timedelta(days=3)).isoformat()
    # A request referred to a person before the dispute.
    policy = tmp_path / "refer.json"
    policy.write_text(json.dumps({"refer_pd": 0.0, "max_pd": 1.0}))
    code, _, err = run("finance", "policy", "set", bank, str(policy))
    assert code == 0, err
    code, out, err = run("finance", "request", open_item, "--bank", bank, "--amount", "1000",
                         "--json")  # fmt: skip
    assert code == 0, err
    referred = json.loads(out)
    assert referred["status"] == "referred"

    code, out, err = run("item", "dispute", open_item, "--as", debtor, "--reason",
                         "two gear housings cracked", "--as-of", on, "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {
        "item_id": open_item, "disputed": True, "on": on,
        "reason_hash": hashlib.sha256(b"two gear housings cracked").hexdigest(),
        "chain_refused": [], "status": "done",
    }  # fmt: skip
    code, out, _ = run("item", "show", open_item, "--json")
    assert json.loads(out)["disputed"] is True
    code, _, err = run("finance", "request", open_item, "--bank", bank, "--amount", "1000")
    assert code == 1 and "is disputed by its debtor" in " ".join(err.split())
    code, _, err = run("finance", "decide", referred["request"], "--approve", "--reason", "ok")
    assert code == 1 and "is disputed by its debtor" in " ".join(err.split())

    code, _, err = run("item", "dispute", open_item, "--as", debtor, "--withdraw", "--as-of", on)
    assert code == 1 and "--as-of dates a dispute" in " ".join(err.split())
    code, out, err = run("item", "dispute", open_item, "--as", debtor, "--withdraw", "--json")
    assert code == 0, err
    assert json.loads(out) == {
        "item_id": open_item, "disputed": False, "chain_refused": [], "status": "done",
    }  # fmt: skip
    code, out, _ = run("item", "history", open_item, "--json")
    assert [e["op"] for e in json.loads(out)][-2:] == ["dispute", "withdraw_dispute"]
