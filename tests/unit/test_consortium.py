"""Consortium configuration: the QBFT extraData decodes back, and every file says what it must."""

from __future__ import annotations

import json
import stat
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import rlp  # type: ignore[import-untyped]  # rlp ships no type information
import yaml
from eth_keys.datatypes import PrivateKey

from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.identifiers import uscc_check_character
from fourflow.domain.parties import Organisation, Role
from fourflow.services import consortium
from fourflow.services.consortium import (
    QBFT_MIX_HASH,
    ConsortiumConfigError,
    init_consortium,
    load_members,
    parse_members,
    qbft_extra_data,
    rlp_encode,
)
from fourflow.services.demo import demo_uscc
from tests.fakes import FakeUnitOfWorkFactory


def _uscc(n: int) -> str:
    first17 = f"91320500MA1FF{n:04d}"
    return first17 + uscc_check_character(first17)


MEMBERS = {
    "chain_id": 20250,
    "block_period_seconds": 3,
    "members": [
        {"name": "华东重工装备集团有限公司", "uscc": _uscc(1), "host": "192.0.2.1",
         "ports": {"p2p": 30303, "rpc": 8545}, "accounts": ["0x" + "11" * 20]},
        {"name": "苏州精工零部件有限公司", "uscc": _uscc(2), "host": "192.0.2.2"},
        {"name": "江南商业银行股份有限公司", "uscc": _uscc(3), "host": "node3.bank.example",
         "ports": {"p2p": 30313, "rpc": 8555}},
        {"name": "FourFlow 平台运营方", "uscc": _uscc(4), "host": "192.0.2.4"},
    ],
}  # fmt: skip


def test_extra_data_decodes_back_to_vanity_validators_and_empty_vote_round_seals() -> None:
    validators = ["0x" + "ab" * 20, "0x" + "01" * 20]
    extra = qbft_extra_data(validators)
    vanity, decoded, vote, round_, seals = rlp.decode(bytes.fromhex(extra[2:]))
    assert vanity == bytes(32)
    assert [v.hex() for v in decoded] == ["ab" * 20, "01" * 20]
    assert vote == [] and round_ == b"" and seals == []


def test_extra_data_matches_besu_for_one_validator() -> None:
    # `besu rlp encode --type=QBFT_EXTRA_DATA` of one validator: f83a a0<32 zero bytes>
    # d5 94<address> c0 80 c0 (vanity, [validator], no vote, round 0, no seals).
    address = "c2ab482b506de561668e07f04547232a72897daf"
    assert qbft_extra_data(["0x" + address]) == (
        "0xf83aa0" + "00" * 32 + "d594" + address + "c080c0"
    )


def test_rlp_encoding_agrees_with_the_reference_library() -> None:
    value = [b"", b"\x01", b"\x7f", b"\x80", b"x" * 55, b"y" * 56, [b"a" * 100, []], b"z" * 300]
    assert rlp_encode(value) == rlp.encode(value)


def test_extra_data_refuses_no_validators_and_duplicates() -> None:
    with pytest.raises(ConsortiumConfigError, match="at least one validator"):
        qbft_extra_data([])
    with pytest.raises(ConsortiumConfigError, match="listed twice"):
        qbft_extra_data(["0x" + "ab" * 20, "0x" + "AB" * 20])
    with pytest.raises(ConsortiumConfigError, match="not a 20-byte"):
        qbft_extra_data(["0x1234"])


def test_init_writes_a_qbft_network_with_one_validator_per_member(tmp_path: Path) -> None:
    out = tmp_path / "net"
    result = init_consortium(spec=parse_members(MEMBERS), out_dir=out)

    genesis = json.loads((out / "genesis.json").read_text())
    config = genesis["config"]
    assert config["chainId"] == 20250
    assert config["qbft"] == {
        "blockperiodseconds": 3, "epochlength": 30000, "requesttimeoutseconds": 4,
    }  # fmt: skip
    assert config["londonBlock"] == 0 and config["zeroBaseFee"] is True
    assert config["contractSizeLimit"] > 24_576
    assert "shanghaiTime" not in config  # paris bytecode; no PUSH0 needed
    assert genesis["mixHash"] == QBFT_MIX_HASH and genesis["difficulty"] == "0x1"

    _, validators, _, _, _ = rlp.decode(bytes.fromhex(genesis["extraData"][2:]))
    addresses = ["0x" + v.hex() for v in validators]
    assert len(addresses) == 4 and addresses == sorted(addresses)
    assert [v.address.lower() for v in result.validators] == addresses

    enodes = json.loads((out / "static-nodes.json").read_text())
    assert len(enodes) == 4
    for validator in result.validators:
        member_dir = out / "members" / validator.member.uscc.lower()
        key_file = member_dir / "key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = PrivateKey(bytes.fromhex(key_file.read_text().strip()[2:]))
        assert key.public_key.to_checksum_address() == validator.address
        assert (member_dir / "address").read_text().strip() == validator.address
        host, port = validator.member.host, validator.member.p2p_port
        assert f"enode://{key.public_key.to_bytes().hex()}@{host}:{port}" in enodes
        cfg = tomllib.loads((member_dir / "config.toml").read_text())
        assert cfg["genesis-file"] == "genesis.json"
        assert cfg["p2p-port"] == port and cfg["rpc-http-port"] == validator.member.rpc_port
        assert cfg["min-gas-price"] == 0
        assert cfg["bootnodes"] == enodes
        assert cfg["permissions-nodes-config-file"] == "permissions_config.toml"
        assert "QBFT" in cfg["rpc-http-api"]

    permissions = tomllib.loads((out / "permissions_config.toml").read_text())
    assert sorted(permissions["nodes-allowlist"]) == sorted(enodes)
    assert permissions["accounts-allowlist"] == ["0x" + "11" * 20]
    readme = (out / "README.md").read_text()
    assert "FOURFLOW_CHAIN_URL=http://" in readme and "fourflow init" in readme
    assert "genesis.json" in result.files and "README.md" in result.files


def test_node_keys_are_fresh_and_never_in_the_public_files(tmp_path: Path) -> None:
    a = init_consortium(spec=parse_members(MEMBERS), out_dir=tmp_path / "a")
    b = init_consortium(spec=parse_members(MEMBERS), out_dir=tmp_path / "b")
    assert {v.address for v in a.validators}.isdisjoint({v.address for v in b.validators})
    secrets = [(p.read_text().strip()[2:]) for p in (tmp_path / "a").rglob("key")]
    public = "".join(
        p.read_text() for p in (tmp_path / "a").rglob("*") if p.is_file() and p.name != "key"
    )
    assert len(secrets) == 4 and not any(s in public for s in secrets)


def test_init_refuses_to_overwrite_a_network(tmp_path: Path) -> None:
    init_consortium(spec=parse_members(MEMBERS), out_dir=tmp_path)
    with pytest.raises(ConflictError, match="refusing to overwrite"):
        init_consortium(spec=parse_members(MEMBERS), out_dir=tmp_path)


def test_members_file_in_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(MEMBERS, allow_unicode=True))
    (tmp_path / "m.json").write_text(json.dumps(MEMBERS))
    assert load_members(tmp_path / "m.yaml") == load_members(tmp_path / "m.json")
    spec = load_members(tmp_path / "m.yaml")
    assert spec.members[2].p2p_port == 30313 and spec.members[1].rpc_port == 8545


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"uscc": "91320500MA1FF00010"}, "member 1"),
        ({"host": ""}, "'host' is missing"),
        ({"host": "a b"}, "not an IP address"),
        ({"ports": {"p2p": 70000}}, "not a port number"),
        ({"accounts": ["0x12"]}, "not a 20-byte"),
    ],
)
def test_a_bad_member_entry_is_named(change: dict[str, object], message: str) -> None:
    data = json.loads(json.dumps(MEMBERS))
    data["members"][0].update(change)
    with pytest.raises(ConsortiumConfigError, match=message):
        parse_members(data)


def test_duplicate_members_are_refused() -> None:
    data = json.loads(json.dumps(MEMBERS))
    data["members"].append(dict(data["members"][0]))
    with pytest.raises(ConsortiumConfigError, match="listed twice"):
        parse_members(data)


# ----------------------------------------------------------------- signers and the Registry

NODE = "0x" + "ab" * 20
FOUNDERS = ["0x" + f"{i:02x}" * 20 for i in range(1, 5)]


def test_a_vote_is_decided_only_with_no_pending_tally_and_every_node_agreeing() -> None:
    plain: consortium.NodeView = (FOUNDERS, {})
    assert consortium.decided_signer([plain, plain, None], NODE) is False  # a node down: fine
    voted_in: consortium.NodeView = ([*FOUNDERS, NODE], {})
    assert consortium.decided_signer([voted_in, voted_in], "0x" + NODE[2:].upper()) is True
    with pytest.raises(ConflictError, match="2 of 4 signers voted"):
        consortium.decided_signer([(FOUNDERS, {NODE: 2}), plain], NODE)
    with pytest.raises(consortium.NotSettledError, match="1 of 2 nodes count it as a signer"):
        consortium.decided_signer([voted_in, plain], NODE)
    with pytest.raises(ConflictError, match="no node of the network answers"):
        consortium.decided_signer([None, None], NODE)


def test_the_networks_signers_beside_the_registry() -> None:
    recorded = {a: ("0xmember", True) for a in FOUNDERS}
    agree = consortium.compare_signers(FOUNDERS, {**recorded, NODE: ("0xbank", False)}, 4)
    assert agree.agrees and agree == consortium.SignerAgreement(True, (), (), 0)
    voted_in = consortium.compare_signers([*FOUNDERS, NODE], recorded, 4)
    assert not voted_in.agrees and voted_in.not_recorded == (NODE,)
    voted_out = consortium.compare_signers(FOUNDERS[:3], recorded, 5)
    assert voted_out.not_signing == (FOUNDERS[3],) and voted_out.elsewhere == 1


@pytest.mark.parametrize(
    "enode",
    [
        "enode://1234@127.0.0.1:30303",
        "http://" + "ab" * 64 + "@h:1",
        "enode://" + "zz" * 64 + "@h:1",
    ],
)
def test_a_malformed_enode_is_refused_naming_it(enode: str) -> None:
    with pytest.raises(DomainValueError, match="enode"):
        consortium.enode_public_key(enode)


# ----------------------------------------------------------------- the worker follows the votes

BANK = "0x" + "bb" * 20
BANK_USCC = demo_uscc("320000", "MA1FB0001")


class _Network:
    def __init__(self, views: list[consortium.NodeView]) -> None:
        self.seen = views

    def views(self) -> list[consortium.NodeView]:
        return self.seen

    def node_addresses(self) -> list[str]:
        return [*FOUNDERS, NODE]


class _Registry:
    """The Registry's node records: node -> (member, signer?)."""

    def __init__(self, governed: bool = False) -> None:
        self.records = {a: (f"0x{i:040x}", True) for i, a in enumerate(FOUNDERS, 1)}
        self.records[NODE] = (BANK, False)
        self.sent: list[tuple[str, str, bool]] = []
        self.governed = governed

    def node_record(self, member: str) -> tuple[str | None, bool]:
        return next(((n, s) for n, (m, s) in self.records.items() if m == member), (None, False))

    def recorded_nodes(
        self, nodes: Sequence[str]
    ) -> tuple[dict[str, tuple[str | None, bool]], int]:
        out = {n: self.records.get(n, (None, False)) for n in nodes}
        return {n: (m, s) for n, (m, s) in out.items()}, sum(s for _, s in self.records.values())

    def record_node(self, operator: str, member: str, node: str, signer: bool) -> str:
        if self.governed:
            raise ConflictError("the Registry is governed by the council")
        self.sent.append((member, node, signer))
        self.records[node] = (member, signer)
        return "0x" + "00" * 32

    def propose_node(self, org_id: str, member: str, node: str, signer: bool) -> int:
        raise AssertionError("the worker never proposes")


def _bank_store() -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    with factory() as uow:
        uow.organisations.add(Organisation("org-bank", "Bank", BANK_USCC, (Role.BANK,),
                                           chain_address=BANK))  # fmt: skip
        uow.commit()
    return factory


def test_the_worker_records_only_decided_votes_once() -> None:
    factory, registry = _bank_store(), _Registry()

    def follow(net: _Network) -> dict[str, Any]:
        return consortium.follow_signers(
            uow_factory=factory, registry=registry, network=net, operator_id="operator"
        )

    # Two of four voted: open, nothing sent.
    pending = follow(_Network([(FOUNDERS, {NODE: 2})] * 4))
    assert pending["recorded"] == [] and [o["node"] for o in pending["open"]] == [NODE]
    # One node a block behind: not settled, nothing sent (the next pass tries again).
    voted_in: consortium.NodeView = ([*FOUNDERS, NODE], {})
    lagging = follow(_Network([voted_in, voted_in, (FOUNDERS, {NODE: 2}), voted_in]))
    assert lagging["recorded"] == [] and registry.sent == []
    # Decided: recorded once; the next pass sends nothing.
    done = follow(_Network([voted_in] * 4))
    assert done == {"recorded": [{"node": NODE, "org": "org-bank", "signer": True}],
                    "open": [], "unknown": []}  # fmt: skip
    assert registry.sent == [(BANK, NODE, True)]
    assert follow(_Network([voted_in] * 4))["recorded"] == [] and len(registry.sent) == 1
    # A signer no admitted member runs is named, not recorded.
    stranger = "0x" + "cc" * 20
    odd = follow(_Network([([*FOUNDERS, NODE, stranger], {})] * 4))
    assert odd["unknown"] == [stranger] and len(registry.sent) == 1


def test_the_worker_leaves_a_vote_open_when_the_registry_is_governed() -> None:
    factory, registry = _bank_store(), _Registry(governed=True)
    voted_in: consortium.NodeView = ([*FOUNDERS, NODE], {})
    result = consortium.follow_signers(
        uow_factory=factory, registry=registry, network=_Network([voted_in] * 4),
        operator_id="operator",
    )  # fmt: skip
    assert result["recorded"] == [] and "governed" in result["open"][0]["reason"]
