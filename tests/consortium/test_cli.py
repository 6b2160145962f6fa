"""``fourflow consortium up | status | down``: one members file gives the Clique development
network and the Besu QBFT production files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fourflow.adapters.chain.client import ChainClient
from fourflow.entrypoints.cli.main import app
from fourflow.services.demo import MEMBERS
from tests.consortium.conftest import geth_or_skip

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("clique")]


def _members_file(path: Path) -> Path:
    """Four founding members, as a bank's lawyer would write them for production."""
    chosen = [m for m in MEMBERS if m.key in ("core", "bank", "tier1", "logistics")]
    path.write_text(
        json.dumps(
            {
                "chain_id": 20240,
                "members": [
                    {
                        "name": m.name,
                        "uscc": m.uscc,
                        "host": f"node{i}.example",
                        "ports": {"p2p": 30303, "rpc": 8545},
                    }
                    for i, m in enumerate(chosen)
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def test_up_status_down_from_the_members_file_of_the_besu_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    geth = geth_or_skip()
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOURFLOW_GETH_BIN", str(geth))
    members = _members_file(tmp_path / "members.json")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout + result.stderr

    # Production: the Besu QBFT files of these members.
    code, out = run("consortium", "init", "--members", str(members), "--out",
                    str(tmp_path / "besu"), "--json")  # fmt: skip
    assert code == 0, out
    besu = json.loads(out)
    # Development: the same members, one geth signer each, under FOURFLOW_HOME/consortium.
    try:
        code, out = run("consortium", "up", "--members", str(members), "--json")
        assert code == 0, out
        up = json.loads(out)
        assert Path(up["directory"]) == (tmp_path / "home" / "consortium").resolve()
        assert sorted((m["name"], m["uscc"]) for m in up["members"]) == sorted(
            (v["name"], v["uscc"]) for v in besu["validators"]
        )
        urls = up["chain_url"].split(",")
        assert len(urls) == 4 and all(u.startswith("http://127.0.0.1:") for u in urls)
        client = ChainClient(up["chain_url"])
        assert client.chain_id == up["chain_id"]
        assert client.client_version().startswith("Geth/v1.13.15")
        assert client.gas_price() == 0  # free gas: base fee 0

        code, out = run("consortium", "status", "--json")
        assert code == 0, out
        nodes = json.loads(out)["nodes"]
        signers = {m["signer"].lower() for m in up["members"]}
        assert [n["url"] for n in nodes] == urls
        for node in nodes:
            assert node["running"] and node["peers"] == 3 and node["signer"]
            assert set(node["signers"]) == signers
            assert node["block"] is not None
        code, out = run("consortium", "status")
        assert code == 0 and "consortium network in" in out, out

        # A second `up` of a running network starts nothing new and keeps the same nodes.
        code, out = run("consortium", "up", "--json")
        assert code == 0, out
        again = json.loads(out)
        assert again["created"] is False and again["chain_url"] == up["chain_url"]
    finally:
        code, out = run("consortium", "down", "--json")
    assert code == 0, out
    assert json.loads(out)["stopped"] == 4
    code, out = run("consortium", "status", "--json")
    assert code == 0, out
    assert not any(n["running"] for n in json.loads(out)["nodes"])


def test_down_and_status_without_a_network_say_where_they_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    for command in ("down", "status"):
        result = runner.invoke(app, ["consortium", command, "--dir", str(tmp_path / "none")])
        assert result.exit_code == 1
        assert "no consortium network in" in result.stderr
        assert str(tmp_path / "none") in result.stderr
