"""Consortium network configuration: a Hyperledger Besu QBFT network, one validator per member.

``init_consortium`` reads the founding members (name, USCC, host, ports) and writes every file
the members need to start their validators (docs/consortium.md):

* ``genesis.json``: QBFT with the validators in ``extraData``, zero base fee (free gas), the
  london milestone from block 0 (runs FourFlow's paris bytecode: no PUSH0), a raised
  contract-size limit;
* ``static-nodes.json`` and the bootnodes: every validator's ``enode://`` URL;
* ``permissions_config.toml``: the nodes allowlist and the accounts allowlist;
* ``members/<slug>/``: the member's ``key`` (its secp256k1 node key, mode 0600, never printed),
  ``key.pub``, ``address`` and its Besu ``config.toml``;
* ``README.md``: how to start it and point FourFlow at it.

Node keys are generated here with a cryptographically secure random source.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from eth_keys.datatypes import PrivateKey, PublicKey
from eth_utils.exceptions import ValidationError as KeyValidationError

from fourflow.domain.errors import ConflictError, DomainValueError, FourFlowError
from fourflow.domain.identifiers import validate_uscc
from fourflow.services.demo import MEMBERS
from fourflow.services.ports import UnitOfWorkFactory

QBFT_VANITY = bytes(32)
# QBFT's genesis mixHash: "ctical byzantine fault tolerance" (Besu refuses other values).
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
DEFAULT_CHAIN_ID = 20_240
DEFAULT_P2P_PORT = 30_303
DEFAULT_RPC_PORT = 8_545
# DebtItem with snekmate modules is close to EIP-170's 24,576 bytes; consortium chains raise it.
CONTRACT_SIZE_LIMIT = 49_152
GAS_LIMIT = "0x1fffffffffffff"
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")


class ConsortiumConfigError(DomainValueError):
    """The members file cannot describe a network; the message says which entry and why."""


@dataclass(frozen=True, slots=True)
class FoundingMember:
    """A founding member of the consortium: who it is and where its validator listens.

    Attributes:
        name: legal name.
        uscc: Unified Social Credit Code.
        host: the IP address or DNS name other validators reach it at.
        p2p_port: its Besu peer-to-peer port (TCP and UDP).
        rpc_port: its JSON-RPC HTTP port (FourFlow connects here).
        accounts: transaction-signing accounts to allow from the start (0x addresses).
    """

    name: str
    uscc: str
    host: str
    p2p_port: int = DEFAULT_P2P_PORT
    rpc_port: int = DEFAULT_RPC_PORT
    accounts: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        """A directory name for the member: its USCC (unique and ASCII)."""
        return self.uscc.lower()


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """The network to configure.

    Attributes:
        members: the founding members, one validator each.
        chain_id: the chain id (FOURFLOW_CHAIN_ID elsewhere is for the local node only).
        block_period_seconds: QBFT block time.
        epoch_length: blocks per epoch (votes are reset at each epoch).
        request_timeout_seconds: QBFT round timeout.
        accounts: further accounts to allow (e.g. FourFlow's operator), 0x addresses.
    """

    members: tuple[FoundingMember, ...]
    chain_id: int = DEFAULT_CHAIN_ID
    block_period_seconds: int = 2
    epoch_length: int = 30_000
    request_timeout_seconds: int = 4
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Validator:
    """A generated validator of one member (no private key: that stays in its file).

    Attributes:
        member: whose validator it is.
        address: the validator (node) address, 0x checksummed.
        public_key: the 64-byte node public key, hex without 0x.
        enode: ``enode://<public key>@<host>:<p2p port>``.
        directory: the member's directory in the output.
    """

    member: FoundingMember
    address: str
    public_key: str
    enode: str
    directory: Path


@dataclass(frozen=True, slots=True)
class ConsortiumFiles:
    """What ``init_consortium`` wrote.

    Attributes:
        directory: the output directory.
        chain_id: the chain id in the genesis.
        extra_data: the genesis ``extraData`` (0x hex).
        validators: one per member, sorted by address (the order in ``extraData``).
        files: every file written, relative to ``directory``.
    """

    directory: Path
    chain_id: int
    extra_data: str
    validators: tuple[Validator, ...]
    files: tuple[str, ...]


# --------------------------------------------------------------------------- RLP and extraData


def rlp_encode(value: bytes | Sequence[Any]) -> bytes:
    """RLP-encode bytes or (nested) lists of bytes (Ethereum yellow paper, appendix B)."""
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
        if len(data) == 1 and data[0] < 0x80:
            return data
        return _rlp_length(len(data), 0x80) + data
    items: Sequence[Any] = value
    payload = b"".join(rlp_encode(v) for v in items)
    return _rlp_length(len(payload), 0xC0) + payload


def _rlp_length(length: int, offset: int) -> bytes:
    """The RLP prefix of a string (offset 0x80) or list (0xC0) payload of ``length`` bytes."""
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def qbft_extra_data(validators: Sequence[str]) -> str:
    """The QBFT genesis ``extraData`` for ``validators`` (0x addresses), as 0x hex.

    Besu's QBFT header extra data is ``RLP([vanity (32 bytes), [validator addresses], vote,
    round, [commit seals]])``; in the genesis there is no vote (an empty list), the round is 0
    (an empty scalar, ``0x80``) and there are no seals (an empty list). This is what
    ``besu rlp encode --type=QBFT_EXTRA_DATA`` produces.
    """
    if not validators:
        raise ConsortiumConfigError("a QBFT network needs at least one validator")
    raw = [_address_bytes(v) for v in validators]
    if len(set(raw)) != len(raw):
        raise ConsortiumConfigError("the same validator address is listed twice")
    return "0x" + rlp_encode([QBFT_VANITY, raw, [], b"", []]).hex()


def _address_bytes(value: str) -> bytes:
    """The 20 bytes of a 0x address, or ConsortiumConfigError naming the bad value."""
    text = value.removeprefix("0x").removeprefix("0X")
    if len(text) != 40:
        raise ConsortiumConfigError(f"{value!r} is not a 20-byte 0x address")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ConsortiumConfigError(f"{value!r} is not a hex address") from None


# --------------------------------------------------------------------------- members file


def load_members(path: Path) -> NetworkSpec:
    """Read a members file (JSON, or YAML by ``.yaml``/``.yml``) into a network spec.

    The file is ``{"chain_id": ..., "block_period_seconds": ..., "members": [{"name", "uscc",
    "host", "ports": {"p2p", "rpc"}, "accounts": [...]}, ...]}``; a bare list is the members.
    """
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConsortiumConfigError(f"members file {path} is not valid: {exc}") from None
    return parse_members(data, source=str(path))


def dev_members() -> NetworkSpec:
    """The four members of the development network when no members file is given.

    The demo's core enterprise, bank, tier-1 supplier and regulator, each with a node on
    127.0.0.1 (the production ports are placeholders: the development network picks free ones).
    """
    chosen = [m for key in ("core", "bank", "tier1", "regulator") for m in MEMBERS if m.key == key]
    return NetworkSpec(
        members=tuple(
            FoundingMember(m.name, m.uscc, "127.0.0.1", DEFAULT_P2P_PORT + i, DEFAULT_RPC_PORT + i)
            for i, m in enumerate(chosen)
        )
    )


def parse_members(data: Any, *, source: str = "members") -> NetworkSpec:
    """The network spec described by parsed members data (see ``load_members``)."""
    if isinstance(data, list):
        data = {"members": data}
    if not isinstance(data, Mapping) or not isinstance(data.get("members"), list):
        raise ConsortiumConfigError(f"{source}: expected a list under 'members'")
    members = tuple(
        _member(entry, f"{source}: member {i + 1}") for i, entry in enumerate(data["members"])
    )
    if not members:
        raise ConsortiumConfigError(f"{source}: no founding members")
    for attr in ("uscc", "name"):
        values = [getattr(m, attr) for m in members]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ConsortiumConfigError(f"{source}: {attr} listed twice: {', '.join(dupes)}")
    endpoints = [(m.host, m.p2p_port) for m in members]
    if len(set(endpoints)) != len(endpoints):
        raise ConsortiumConfigError(f"{source}: two members share a host and p2p port")
    return NetworkSpec(
        members=members,
        chain_id=_positive(data.get("chain_id", DEFAULT_CHAIN_ID), f"{source}: chain_id"),
        block_period_seconds=_positive(
            data.get("block_period_seconds", 2), f"{source}: block_period_seconds"
        ),
        epoch_length=_positive(data.get("epoch_length", 30_000), f"{source}: epoch_length"),
        request_timeout_seconds=_positive(
            data.get("request_timeout_seconds", 4), f"{source}: request_timeout_seconds"
        ),
        accounts=_accounts(data.get("accounts"), source),
    )


def _member(entry: Any, where: str) -> FoundingMember:
    """One founding member from its entry, or ConsortiumConfigError naming what is wrong."""
    if not isinstance(entry, Mapping):
        raise ConsortiumConfigError(f"{where}: expected a mapping with name, uscc, host")
    for key in ("name", "uscc", "host"):
        if not str(entry.get(key) or "").strip():
            raise ConsortiumConfigError(f"{where}: '{key}' is missing")
    try:
        uscc = validate_uscc(str(entry["uscc"]))
    except DomainValueError as exc:
        raise ConsortiumConfigError(f"{where} ({entry['name']}): {exc}") from None
    host = str(entry["host"]).strip()
    if not _HOST.match(host):
        raise ConsortiumConfigError(f"{where}: host {host!r} is not an IP address or DNS name")
    ports = entry.get("ports") or {}
    if not isinstance(ports, Mapping):
        raise ConsortiumConfigError(f"{where}: 'ports' must map p2p and rpc to numbers")
    p2p = _port(ports.get("p2p", entry.get("p2p_port", DEFAULT_P2P_PORT)), f"{where}: p2p port")
    rpc = _port(ports.get("rpc", entry.get("rpc_port", DEFAULT_RPC_PORT)), f"{where}: rpc port")
    accounts = _accounts(entry.get("accounts"), where)
    return FoundingMember(str(entry["name"]).strip(), uscc, host, p2p, rpc, accounts)


def _accounts(value: Any, where: str) -> tuple[str, ...]:
    """A list of 0x account addresses, or ConsortiumConfigError naming the bad one."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConsortiumConfigError(f"{where}: 'accounts' must be a list of 0x addresses")
    for account in value:
        try:
            _address_bytes(str(account))
        except ConsortiumConfigError as exc:
            raise ConsortiumConfigError(f"{where}: {exc}") from None
    return tuple(str(a) for a in value)


def _port(value: Any, where: str) -> int:
    """A TCP port number, or ConsortiumConfigError."""
    port = _positive(value, where)
    if port > 65_535:
        raise ConsortiumConfigError(f"{where}: {port} is not a port number")
    return port


def _positive(value: Any, where: str) -> int:
    """A positive integer, or ConsortiumConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConsortiumConfigError(f"{where}: {value!r} is not a whole number")
    try:
        number = int(value)
    except ValueError:
        raise ConsortiumConfigError(f"{where}: {value!r} is not a whole number") from None
    if number <= 0:
        raise ConsortiumConfigError(f"{where}: must be positive, not {number}")
    return number


# --------------------------------------------------------------------------- files


def genesis(spec: NetworkSpec, validators: Sequence[str]) -> dict[str, Any]:
    """The Besu QBFT genesis for ``spec`` with ``validators`` (0x addresses) in extraData."""
    return {
        "config": {
            "chainId": spec.chain_id,
            "homesteadBlock": 0,
            "eip150Block": 0,
            "eip155Block": 0,
            "eip158Block": 0,
            "byzantiumBlock": 0,
            "constantinopleBlock": 0,
            "petersburgBlock": 0,
            "istanbulBlock": 0,
            "muirGlacierBlock": 0,
            "berlinBlock": 0,
            # london from genesis: every opcode paris bytecode uses (no PUSH0, no TSTORE).
            "londonBlock": 0,
            "zeroBaseFee": True,
            "contractSizeLimit": CONTRACT_SIZE_LIMIT,
            "qbft": {
                "blockperiodseconds": spec.block_period_seconds,
                "epochlength": spec.epoch_length,
                "requesttimeoutseconds": spec.request_timeout_seconds,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": GAS_LIMIT,
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "alloc": {},
        "extraData": qbft_extra_data(validators),
    }


def _toml_list(values: Sequence[str]) -> str:
    """A TOML array of strings."""
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def permissions_toml(*, enodes: Sequence[str], accounts: Sequence[str]) -> str:
    """Besu's ``permissions_config.toml``: the nodes and accounts allowlists."""
    return (
        "# Besu local permissioning (--permissions-*-config-file). Members add nodes and\n"
        "# accounts with perm_addNodesToAllowlist / perm_addAccountsToAllowlist on every node.\n"
        f"nodes-allowlist={_toml_list(enodes)}\n"
        f"accounts-allowlist={_toml_list(accounts)}\n"
    )


def besu_config(
    member: FoundingMember, bootnodes: Sequence[str], *, accounts_allowlist: bool
) -> str:
    """The member's Besu ``config.toml`` (paths relative to the network directory).

    Account permissioning is switched on only with a non-empty accounts allowlist: Besu
    refuses every transaction under an empty one, FourFlow's deployment included.
    """
    accounts = "" if accounts_allowlist else "# "
    return "\n".join(
        [
            f"# Besu validator of {member.name} ({member.uscc}); run from the network directory:",
            f"#   besu --config-file=members/{member.slug}/config.toml",
            f'data-path="members/{member.slug}/data"',
            'genesis-file="genesis.json"',
            f'node-private-key-file="members/{member.slug}/key"',
            'static-nodes-file="static-nodes.json"',
            f"bootnodes={_toml_list(bootnodes)}",
            "# the address the other validators reach this node at (advertised in its enode)",
            f'p2p-host="{member.host}"',
            f"p2p-port={member.p2p_port}",
            "# JSON-RPC for the member's own FourFlow on this machine only; put a TLS proxy with",
            "# client certificates in front of it to serve FourFlow from another host",
            "rpc-http-enabled=true",
            'rpc-http-host="127.0.0.1"',
            f"rpc-http-port={member.rpc_port}",
            'rpc-http-api=["ETH","NET","WEB3","QBFT","TXPOOL","PERM"]',
            'host-allowlist=["localhost","127.0.0.1"]',
            "# free gas: zero minimum gas price (the genesis sets zeroBaseFee)",
            "min-gas-price=0",
            "permissions-nodes-config-file-enabled=true",
            'permissions-nodes-config-file="permissions_config.toml"',
            "# accounts permissioning: on once the allowlist names FourFlow's accounts",
            f"{accounts}permissions-accounts-config-file-enabled=true",
            f'{accounts}permissions-accounts-config-file="permissions_config.toml"',
            "sync-min-peers=1",
            "",
        ]
    )


def _new_node_key() -> PrivateKey:
    """A fresh secp256k1 node key from the OS's secure random source."""
    while True:
        secret = secrets.token_bytes(32)
        if 0 < int.from_bytes(secret, "big") < _SECP256K1_ORDER:
            return PrivateKey(secret)


def _write_private(path: Path, text: str) -> None:
    """Write a secret file readable by its owner only (mode 0600 from creation)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def init_consortium(*, spec: NetworkSpec, out_dir: Path) -> ConsortiumFiles:
    """Write the Besu QBFT network of ``spec`` into ``out_dir`` (which must be empty or new).

    Generates one node key per member (its validator); refuses to overwrite an existing
    network so that no validator key is ever replaced by accident.
    """
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConflictError(f"{out_dir} is not empty: refusing to overwrite a network's keys")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    generated: list[tuple[FoundingMember, PrivateKey]] = []
    for member in spec.members:
        generated.append((member, _new_node_key()))
    validators: list[Validator] = []
    for member, key in generated:
        directory = out_dir / "members" / member.slug
        directory.mkdir(parents=True)
        public = key.public_key.to_bytes().hex()
        enode = f"enode://{public}@{member.host}:{member.p2p_port}"
        address = key.public_key.to_checksum_address()
        _write_private(directory / "key", "0x" + key.to_bytes().hex())
        (directory / "key.pub").write_text("0x" + public + "\n", encoding="utf-8")
        (directory / "address").write_text(address + "\n", encoding="utf-8")
        written += [f"members/{member.slug}/{n}" for n in ("key", "key.pub", "address")]
        validators.append(Validator(member, address, public, enode, directory))
    validators.sort(key=lambda v: bytes.fromhex(v.address[2:]))
    addresses = [v.address for v in validators]
    enodes = [v.enode for v in validators]
    accounts = sorted({a for m in spec.members for a in m.accounts} | set(spec.accounts))
    doc = genesis(spec, addresses)
    files: dict[str, str] = {
        "genesis.json": json.dumps(doc, indent=2) + "\n",
        "static-nodes.json": json.dumps(enodes, indent=2) + "\n",
        "bootnodes.txt": ",".join(enodes) + "\n",
        "permissions_config.toml": permissions_toml(enodes=enodes, accounts=accounts),
        "validators.json": json.dumps(
            [
                {"name": v.member.name, "uscc": v.member.uscc, "address": v.address,
                 "enode": v.enode, "rpc": f"http://{v.member.host}:{v.member.rpc_port}"}
                for v in validators
            ],
            indent=2,
            ensure_ascii=False,
        ) + "\n",
    }  # fmt: skip
    for v in validators:
        files[f"members/{v.member.slug}/config.toml"] = besu_config(
            v.member, enodes, accounts_allowlist=bool(accounts)
        )
    files["README.md"] = _readme(spec, validators, doc["extraData"])
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(name)
    return ConsortiumFiles(
        directory=out_dir,
        chain_id=spec.chain_id,
        extra_data=str(doc["extraData"]),
        validators=tuple(validators),
        files=tuple(sorted(written)),
    )


def _readme(spec: NetworkSpec, validators: Sequence[Validator], extra_data: str) -> str:
    """The README of the generated network directory."""
    rows = "\n".join(
        f"| {v.member.name} | {v.member.uscc} | `{v.address}` | {v.member.host}:{v.member.p2p_port}"
        f" | http://{v.member.host}:{v.member.rpc_port} |"
        for v in validators
    )
    first = validators[0].member
    faults = (len(validators) - 1) // 3
    return f"""# FourFlow consortium network (Hyperledger Besu, QBFT)

Chain id **{spec.chain_id}**, block period {spec.block_period_seconds} s, epoch
{spec.epoch_length} blocks, round timeout {spec.request_timeout_seconds} s. With
{len(validators)} validators the network tolerates {faults} faulty validator(s); it stalls if
more than a third stop.

| member | USCC | validator address | p2p | JSON-RPC |
|---|---|---|---|---|
{rows}

`extraData` (validators in address order): `{extra_data}`

## Files
* `genesis.json` — the same file on every node. Never edit it after the first block.
* `static-nodes.json`, `bootnodes.txt` — every validator's enode URL.
* `permissions_config.toml` — nodes and accounts allowlists (the same on every node).
* `members/<uscc>/key` — the validator's **private** node key (mode 0600). Give each member
  its own directory only, over a secure channel; never copy another member's key.
* `members/<uscc>/config.toml` — that member's Besu configuration.

## Run a validator
Each member copies `genesis.json`, `static-nodes.json`, `permissions_config.toml` and its own
`members/<uscc>/` to its host, opens its p2p port (TCP+UDP) to the other members, and runs
from that directory:

```sh
besu --config-file=members/{first.slug}/config.toml
```

or with Docker:

```sh
docker run -d --name besu -v "$PWD:/net" -w /net \\
  -p {first.p2p_port}:{first.p2p_port} -p {first.p2p_port}:{first.p2p_port}/udp \\
  -p {first.rpc_port}:{first.rpc_port} \\
  hyperledger/besu:latest --config-file=members/{first.slug}/config.toml
```

Check it: `curl -s -X POST -H 'content-type: application/json' --data
'{{"jsonrpc":"2.0","method":"qbft_getValidatorsByBlockNumber","params":["latest"],"id":1}}'
http://{first.host}:{first.rpc_port}`.

## Allow FourFlow's accounts
Every organisation on FourFlow signs with its own account; the accounts allowlist must list
them before they can send transactions. On each node:

```sh
fourflow org list --json   # the "address" of every organisation
curl -s -X POST -H 'content-type: application/json' --data \\
  '{{"jsonrpc":"2.0","method":"perm_addAccountsToAllowlist","params":[["0x..."]],"id":1}}' \\
  http://127.0.0.1:{first.rpc_port}
```

## Point FourFlow at the network

```sh
export FOURFLOW_CHAIN_URL=http://{first.host}:{first.rpc_port}
fourflow init      # deploys FourFlow's contracts from the operator's account (once)
fourflow chain info
```
"""


def enode_public_key(enode: str) -> str:
    """The 64-byte public key (hex) of ``enode://<public key>@<host>:<port>``; DomainValueError
    naming the URL when it is not one."""
    head = enode.strip().removeprefix("enode://").split("@")[0]
    if not enode.strip().startswith("enode://") or "@" not in enode or len(head) != 128:
        raise DomainValueError(
            f"not an enode URL (enode://<128 hex digits>@<host>:<port>): {enode!r}"
        )
    try:
        PublicKey(bytes.fromhex(head))
    except (ValueError, KeyValidationError) as exc:
        raise DomainValueError(f"enode {enode!r}: not a secp256k1 public key ({exc})") from None
    return head


# ----------------------------------------------------------------- signers and the Registry

NodeView = tuple[Sequence[str], Mapping[str, int]] | None
"""What one node sees: the signers (0x addresses) and the pending votes per address."""


class NotSettledError(ConflictError):
    """The nodes do not count a node the same way yet (one of them is a block behind)."""


def decided_signer(views: Sequence[NodeView], node: str) -> bool:
    """Whether the network's signers decided that ``node`` signs (True) or not (False).

    Decided means: every node that answers counts it the same way and no vote about it is
    pending. Otherwise ConflictError names what is open (nothing is to be recorded yet).
    """
    wanted = node.lower()
    answers = [v for v in views if v is not None]
    if not answers:
        raise ConflictError("no node of the network answers: is it running?")
    counted = [wanted in {a.lower() for a in signers} for signers, _ in answers]
    pending = max(tally.get(wanted, 0) for _, tally in answers)
    if pending:
        signers = max(len(s) for s, _ in answers)
        raise ConflictError(
            f"the network has not decided on {node}: {pending} of {signers} signers voted "
            "and more than half must; record it once the vote is decided"
        )
    if len(set(counted)) != 1:
        raise NotSettledError(
            f"the network has not settled on {node}: {sum(counted)} of {len(counted)} "
            "nodes count it as a signer; try again after a few blocks"
        )
    return counted[0]


@dataclass(frozen=True, slots=True)
class SignerAgreement:
    """The network's signers beside the Registry's record of them.

    Attributes:
        agrees: True when both name the same signers.
        not_recorded: signers of the network the Registry does not record as signers.
        not_signing: nodes of the network the Registry records as signers that do not sign.
        elsewhere: recorded signers that are no node of this network.
    """

    agrees: bool
    not_recorded: tuple[str, ...]
    not_signing: tuple[str, ...]
    elsewhere: int


def compare_signers(
    network_signers: Sequence[str],
    recorded: Mapping[str, tuple[str | None, bool]],
    recorded_signers: int,
) -> SignerAgreement:
    """Compare the signers a node of the network counts with the Registry's record
    (``recorded``: node address -> (member, signer?) for every node of the network)."""
    signing = {a.lower() for a in network_signers}
    not_recorded = sorted(a for a in signing if not recorded.get(a, (None, False))[1])
    not_signing = sorted(a for a, (_, s) in recorded.items() if s and a not in signing)
    here = sum(1 for _, s in recorded.values() if s)
    elsewhere = max(recorded_signers - here, 0)
    return SignerAgreement(
        agrees=not not_recorded and not not_signing and not elsewhere,
        not_recorded=tuple(not_recorded),
        not_signing=tuple(not_signing),
        elsewhere=elsewhere,
    )


# ----------------------------------------------------------------- the Registry follows votes


class SignerNetwork(Protocol):
    """The consortium's nodes as the Registry's follower sees them
    (``fourflow.adapters.chain.clique.CliqueNetwork``)."""

    def views(self) -> Sequence[NodeView]:
        """Each node's signers and pending votes (None: it does not answer)."""
        ...

    def node_addresses(self) -> list[str]:
        """The address of every node of the network (lower-case 0x)."""
        ...


class NodeRegistry(Protocol):
    """The Registry contract's record of members' nodes
    (``fourflow.adapters.chain.ledger.ChainLedger``)."""

    def node_record(self, member_address: str) -> tuple[str | None, bool]:
        """The node recorded for a member (None: none) and whether it is a signer."""
        ...

    def recorded_nodes(
        self, nodes: Sequence[str]
    ) -> tuple[dict[str, tuple[str | None, bool]], int]:
        """Per node: its recorded member (None) and signer state; the recorded signers."""
        ...

    def record_node(
        self, operator_org_id: str, member_address: str, node: str, signer: bool
    ) -> str:
        """The operator records a member's node and its signer state; the tx hash."""
        ...

    def propose_node(self, org_id: str, member_address: str, node: str, signer: bool) -> int:
        """A councillor proposes that record; the proposal id."""
        ...


#: How long ``record_decided_node`` waits for a node a block behind to count a node like the
#: others (``consortium record``; the worker does not wait: it tries again next pass).
SETTLE_SECONDS = 20.0


def decided_on_network(network: SignerNetwork, node: str, *, settle_s: float) -> bool:
    """The network's decision on ``node`` (ConflictError when it has none yet, or when the
    node is not on the network; NotSettledError after ``settle_s`` while nodes disagree)."""
    if node.lower() not in network.node_addresses():
        raise ConflictError(
            f"{node} is no node of the network: admit its member with "
            "`fourflow org add ... --node-enode` (or `fourflow consortium join`) first"
        )
    deadline = time.monotonic() + settle_s
    while True:  # a node a block behind the others settles within a few blocks
        try:
            return decided_signer(network.views(), node)
        except NotSettledError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def record_decided_node(
    *,
    uow_factory: UnitOfWorkFactory,
    registry: NodeRegistry,
    network: SignerNetwork,
    operator_id: str,
    org_id: str,
    node: str | None = None,
    as_org_id: str | None = None,
    settle_s: float = SETTLE_SECONDS,
) -> dict[str, Any]:
    """Record on the Registry the node organisation ``org_id`` runs and the network's decided
    signer vote on it (``fourflow consortium record`` and the worker). Nothing is sent when
    the Registry already says so, or when the network has not decided (ConflictError).
    Governed Registry: ``as_org_id`` (a councillor) proposes instead."""
    with uow_factory() as uow:
        org = uow.organisations.get(org_id)
    if org is None or not org.chain_address:
        raise ConflictError(f"organisation {org_id} has no chain account")
    recorded, recorded_signer = registry.node_record(org.chain_address)
    node = node or recorded
    if node is None:
        raise ConflictError(f"the Registry records no node for {org.name}: name it with --node")
    if recorded is not None and recorded.lower() != node.lower():
        raise ConflictError(f"the Registry records node {recorded} for {org.name}, not {node}")
    signer = decided_on_network(network, node, settle_s=settle_s)
    data: dict[str, Any] = {"org": org_id, "member": org.chain_address, "node": node,
                            "signer": signer, "recorded": False}  # fmt: skip
    if recorded is not None and recorded_signer == signer:
        data["already"] = True
        return data
    if as_org_id:
        data["proposal"] = registry.propose_node(as_org_id, org.chain_address, node, signer)
        return data
    data["tx_hash"] = registry.record_node(operator_id, org.chain_address, node, signer)
    data["recorded"] = True
    return data


def follow_signers(
    *,
    uow_factory: UnitOfWorkFactory,
    registry: NodeRegistry,
    network: SignerNetwork,
    operator_id: str,
) -> dict[str, Any]:
    """The Registry follows the signers' decided votes (the worker's ``signers`` step).

    For every node of the network that the Registry records for a member, when the network's
    decision (every answering node counting it the same way, no vote about it pending)
    differs from the record, the decision is recorded with ``record_decided_node``, as
    ``consortium record`` does. Idempotent (a record that already agrees sends nothing) and
    bounded (one record per node, no waiting: an open vote or a node a block behind is left
    for the next run). Returns what was recorded and what was left open.
    """
    views = network.views()
    seen = next((v for v in views if v is not None), None)
    if seen is None:
        raise ConflictError("no node of the network answers: is it running?")
    nodes = sorted({*network.node_addresses(), *(a.lower() for v in views if v for a in v[0])})
    recorded, _ = registry.recorded_nodes(nodes)
    out: dict[str, Any] = {"recorded": [], "open": [], "unknown": []}
    with uow_factory() as uow:
        members = {o.chain_address.lower(): o for o in uow.organisations.list() if o.chain_address}
    for node in nodes:
        member, signer = recorded.get(node, (None, False))
        if member is None:
            if any(v is not None and node in {a.lower() for a in v[0]} for v in views):
                out["unknown"].append(node)  # a signer no admitted member runs
            continue
        try:
            decided = decided_signer(views, node)
        except ConflictError as exc:  # a vote pending, or nodes not agreeing yet
            out["open"].append({"node": node, "reason": str(exc)})
            continue
        if decided == signer:
            continue
        org = members.get(member.lower())
        if org is None:
            out["unknown"].append(node)
            continue
        try:
            done = record_decided_node(
                uow_factory=uow_factory, registry=registry, network=network,
                operator_id=operator_id, org_id=org.id, node=node, settle_s=0.0,
            )  # fmt: skip
        except ConflictError as exc:  # it changed since, or the Registry is governed
            out["open"].append({"node": node, "reason": str(exc)})
            continue
        if done["recorded"]:
            out["recorded"].append({"node": node, "org": org.id, "signer": done["signer"]})
    return out


# ----------------------------------------------------------------- a member admitted with its node


class NodeNetwork(SignerNetwork, Protocol):
    """The development network a member's node joins on admission (``CliqueNetwork``)."""

    dir: Path

    def exists(self) -> bool:
        """True when the network was created."""
        ...

    def connect_node(self, enode: str) -> str:
        """Every member's node takes ``enode`` as a static and trusted peer; its address."""
        ...

    def wait_peers(self, count: int, timeout: float = 60.0) -> None:
        """Wait until every running node has at least ``count`` peers."""
        ...


def check_admitted_node(network: NodeNetwork, enode: str) -> str:
    """Before a member is admitted with its node (``fourflow org add --node-enode``, the API's
    admission): the enode URL is well formed (DomainValueError) and the development network
    exists (ConflictError), so a refused admission changes nothing. Returns the public key."""
    public = enode_public_key(enode)
    if not network.exists():
        raise ConflictError(
            f"no consortium network in {network.dir} (run `fourflow consortium up`): a member's "
            "node joins the development network of this home"
        )
    return public


def connect_admitted_node(
    *,
    uow_factory: UnitOfWorkFactory,
    registry: NodeRegistry,
    network: NodeNetwork,
    operator_id: str,
    org_id: str,
    enode: str,
    peer_timeout: float = 30.0,
) -> dict[str, Any]:
    """The member ``org_id`` was admitted (its Registry admission applied) with its node
    ``enode``: every member's node takes it as a static and trusted peer, and the Registry
    records the node with the network's decision on it (a new node: not a signer;
    ``record_decided_node``). A node slow to peer is named in ``warning``."""
    node = network.connect_node(enode)
    warning = None
    try:
        network.wait_peers(1, timeout=peer_timeout)
    except FourFlowError as exc:
        warning = str(exc)
    data = record_decided_node(
        uow_factory=uow_factory, registry=registry, network=network, operator_id=operator_id,
        org_id=org_id, node=node,
    )  # fmt: skip
    if warning:
        data["warning"] = warning
    return data
