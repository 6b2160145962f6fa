"""Members and signers on the 4-signer Clique network, through ``fourflow consortium join`` and
``vote``: a new member's node joins as a static peer; it becomes a signer only when a majority
of the signers vote it in (``clique_propose``), and a majority votes it out again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fourflow.adapters.chain.clique import CliqueNetwork
from fourflow.adapters.chain.node import _rpc
from fourflow.bootstrap import Platform, Settings
from fourflow.entrypoints.api.app import create_app
from fourflow.entrypoints.cli.main import app
from fourflow.services.demo import MEMBERS
from tests.api.world import API, KYC, PASSWORD, ok, operator_admin
from tests.consortium.conftest import geth_or_skip

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("clique")]


def _until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.2)


def _block(url: str) -> int:
    return int(_rpc(url, "eth_blockNumber", []), 16)


def _sealers(url: str, first: int, last: int) -> set[str]:
    return {str(_rpc(url, "clique_getSigner", [hex(n)])).lower() for n in range(first, last + 1)}


def test_a_fifth_node_is_voted_in_as_signer_by_a_majority_and_voted_out(
    network: CliqueNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOURFLOW_GETH_BIN", str(geth_or_skip()))
    runner = CliRunner()

    def run(*args: str) -> tuple[int, dict[str, object], str]:
        result = runner.invoke(app, ["consortium", *args, "--dir", str(network.dir), "--json"])
        text = result.stdout + result.stderr
        start = result.stdout.find("{")
        return result.exit_code, json.loads(result.stdout[start:]) if start >= 0 else {}, text

    code, joined, out = run("join", "--name", "Fifth bank node", "--uscc", "91320000MA1FF0009X")
    assert code == 0, out
    new = network.member("Fifth bank node")
    assert joined["address"] == new.address and joined["url"] == new.url
    address = new.address.lower()
    # It runs its own node, peered with every member (static and trusted peers both ways).
    network.wait_peers(4, timeout=30)
    assert all(f'"{new.enode}"' in (network.dir / m.slug / "config.toml").read_text()
               for m in network.members()[:4])  # fmt: skip
    _until("the new node syncing", lambda: _block(new.url) >= _block(network.urls()[0]) - 1)
    assert address not in network.signers()

    # Two of four votes are not a majority: after every signer sealed again, still no signer.
    code, result, out = run("vote", new.address, "--add", "--by", "node1,node2", "--wait", "8")
    assert code == 1 and "not decided within 8 s: 2 of 4 signers voted" in out, out
    assert result["decided"] is False and address not in network.signers()
    # The third vote decides (3 of 4 > half).
    code, result, out = run("vote", new.address, "--add", "--by", "node3", "--wait", "120")
    assert code == 0 and result["decided"] is True, out
    _until("every node counting it", lambda: all(address in network.signers(i) for i in range(5)))
    joined_at = _block(network.urls()[0])
    _until("a block sealed by the new signer", lambda: address in _sealers(
        network.urls()[0], joined_at, _block(network.urls()[0])), timeout=30)  # fmt: skip
    code, status, out = run("status")
    assert code == 0, out
    nodes = {n["name"]: n for n in status["nodes"]}  # type: ignore[attr-defined]
    assert nodes["Fifth bank node"]["signer"] and len(nodes["Fifth bank node"]["signers"]) == 5

    # Voting out: every signer votes by default; 3 of the 5 would be a majority.
    code, result, out = run("vote", new.address, "--remove", "--wait", "120")
    assert code == 0 and result["decided"] is True and result["signers"] == 5, out
    assert len(network.signers(0)) == 4
    left = _block(network.urls()[0])
    _until("five blocks after", lambda: _block(network.urls()[0]) >= left + 5)
    assert address not in _sealers(network.urls()[0], left + 1, left + 5)
    assert _block(new.url) >= left + 3  # it still follows the chain, as a plain node


def test_admitting_a_member_with_its_node_and_the_registry_following_the_votes(
    network: CliqueNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18 item 3: a member admitted with its node (`org add --node-enode`) brings the
    node onto the network as a static peer and the Registry records it; the signers' votes
    go to the Registry only once decided (`consortium record`, or the worker's pass on its own);
    `consortium status` shows where the Registry and the network disagree."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "consortium").symlink_to(network.dir)  # the network of FOURFLOW_HOME
    founders = [m for m in network.members() if m.joined][:4]
    for name, value in {
        "FOURFLOW_HOME": str(home),
        "FOURFLOW_CHAIN_URL": ",".join(m.url for m in founders),
        "FOURFLOW_CHAIN_CONFIRMATIONS": "1",
        "FOURFLOW_CHAIN_RECEIPT_TIMEOUT": "180",  # a loaded 2-core machine (see the faults)
        "FOURFLOW_GETH_BIN": str(geth_or_skip()),
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, dict[str, Any], str]:
        result = runner.invoke(app, [*args, "--json"])
        text = result.stdout + result.stderr
        start = result.stdout.find("{")
        return result.exit_code, json.loads(result.stdout[start:]) if start >= 0 else {}, text

    def registry() -> dict[str, Any]:
        code, status, out = run("consortium", "status")
        assert code == 0, out
        assert status["registry"] is not None, out
        return status["registry"]  # type: ignore[no-any-return]

    code, _, out = run("init")
    assert code == 0, out
    signers = sorted(network.signers())
    assert registry() == {"agrees": False, "signers": signers, "not_recorded": signers,
                          "not_signing": [], "elsewhere": 0, "members": {}}  # fmt: skip

    # The founding members, admitted with their nodes: recorded as the signers they are.
    for member, node in zip(MEMBERS[:4], founders, strict=True):
        roles = [a for r in member.roles for a in ("--role", r.value)]
        code, org, out = run("org", "add", "--name", member.name, "--uscc", member.uscc,
                             *roles, "--node-enode", node.enode)  # fmt: skip
        assert code == 0, out
        assert org["node"]["node"].lower() == node.address.lower() and org["node"]["signer"]
    assert registry()["agrees"] is True

    # A bank starts its own node apart; a malformed enode is refused before anything changes.
    bank = next(m for m in MEMBERS if m.key == "bank")
    new = network.add_member("Bank's own node", join=False)
    assert network.peer_count(new) == 0
    add = ("org", "add", "--name", bank.name, "--uscc", bank.uscc, "--role", "bank")
    code, _, out = run(*add, "--node-enode", "enode://1234@127.0.0.1:30303")
    assert code == 1 and "not an enode URL" in out, out
    code, org, out = run(*add, "--node-enode", new.enode)
    assert code == 0, out  # the same USCC again: the refused admission changed nothing
    assert org["node"] == {**org["node"], "node": new.address, "signer": False, "recorded": True}
    _until(
        "the bank's node peering with every founder", lambda: (network.peer_count(new) or 0) >= 4
    )
    assert all(new.enode in (network.dir / m.slug / "config.toml").read_text() for m in founders)
    code, result, out = run("consortium", "record", bank.uscc)
    assert code == 0 and result["already"] is True and result["signer"] is False, out

    # Two votes of four are pending: the Registry is not to follow yet.
    address = new.address.lower()
    code, _, out = run("consortium", "vote", new.address, "--add", "--by", "node1,node2",
                       "--wait", "0")  # fmt: skip
    assert code == 0, out
    _until("both votes sealed", lambda: all(
        v is None or v[1].get(address) == 2 for v in network.views()[:4]), timeout=60)  # fmt: skip
    code, _, out = run("consortium", "record", bank.uscc)
    assert code == 1 and "has not decided" in out and "2 of 4 signers voted" in out, out
    # The worker leaves an open vote for a later pass too.
    code, report, out = run("worker", "--once")
    assert code == 0 and report["signers"]["recorded"] == [], out
    assert [o["node"] for o in report["signers"]["open"]] == [address], out
    # The third decides: the network and the Registry now disagree until it is recorded.
    code, _, out = run("consortium", "vote", new.address, "--add", "--by", "node3", "--wait", "120")
    assert code == 0, out
    _until(  # every node, the bank's own too (`record` refuses while one lags behind)
        "every node counting it",
        lambda: all(v is not None and address in v[0] for v in network.views()),
        timeout=90,
    )
    seen = registry()
    assert seen["agrees"] is False and seen["not_recorded"] == [address], seen
    code, result, out = run("consortium", "record", bank.uscc)
    assert code == 0 and result["recorded"] is True and result["signer"] is True, out
    assert registry()["agrees"] is True

    # Voted out by the signers (every one votes): the Registry follows once recorded.
    code, _, out = run("consortium", "vote", new.address, "--remove", "--wait", "120")
    assert code == 0, out
    _until("every node dropping it", lambda: all(
        v is not None and address not in v[0] for v in network.views()), timeout=90)  # fmt: skip
    seen = registry()
    assert seen["agrees"] is False and seen["not_signing"] == [address], seen
    # Nobody runs `consortium record` this time: the worker's pass records the decision.
    code, report, out = run("worker", "--once")
    assert code == 0 and not report["errors"], out
    assert report["signers"] == {
        "recorded": [{"node": address, "org": org["id"], "signer": False}],
        "open": [],
        "unknown": [],
    }, out
    code, report, out = run("worker", "--once")  # idempotent: nothing left to record
    assert code == 0 and report["signers"]["recorded"] == [], out
    final = registry()
    assert final["agrees"] is True and final["members"][address] == org["address"], final

    # Over the API: the operator's admission takes the member's node too (issue 18 item 4).
    their = network.add_member("Logistics node", join=False)
    m = next(m for m in MEMBERS if m.key == "logistics")
    with Platform(Settings.from_env()) as p, TestClient(create_app(p)) as client:
        operator = operator_admin(client, p)
        body = {"name": m.name, "uscc": m.uscc, "org_type": "logistics",
                "licence": {"address": "1 Xinghu Street", "legal_representative": "Legal Rep"},
                "accounts": [m.account], "admin_email": "admin@logistics.example.cn",
                "admin_name": "logistics admin", "admin_password": PASSWORD}  # fmt: skip
        app_id = ok(client.post(f"{API}/registrations", json=body), 201)["application"]["id"]
        review = {"admit": True, "checks": KYC, "note": "licence checked"}
        path = f"{API}/registrations/{app_id}/review"
        bad = client.post(path, json={**review, "node_enode": "enode://12@127.0.0.1:1"},
                          headers=operator.auth)  # fmt: skip
        assert bad.status_code == 422 and "not an enode URL" in bad.text, bad.text
        listed = ok(client.get(f"{API}/registrations", headers=operator.auth))
        assert next(a for a in listed if a["id"] == app_id)["status"] == "pending"  # unchanged
        admitted = ok(client.post(path, json={**review, "node_enode": their.enode},
                                  headers=operator.auth))  # fmt: skip
    assert admitted["status"] == "admitted", admitted
    node = admitted["node"]
    assert node["node"].lower() == their.address.lower() and node["signer"] is False, admitted
    assert node["recorded"] is True and node["org"] == admitted["org_id"], admitted
    _until("the logistics node peering with every founder",
           lambda: (network.peer_count(their) or 0) >= 4)  # fmt: skip
    assert registry()["agrees"] is True
