"""A development consortium: go-ethereum v1.13.15 signers in a Clique proof-of-authority network.

One directory holds the whole network (``network.json`` describes it)::

    genesis.json            Clique, London rules from block 0, no Shanghai (paris bytecode)
    network.json            members: name, signer address, enode, ports, pid, datadir
    <slug>/                 the member's geth data directory
        nodekey             its secp256k1 key (p2p identity and Clique signer), mode 0600
        password            the keystore password of the imported signer key, mode 0600
        config.toml         its static (and trusted) peers: every other member
        geth.log            geth's output

Every node listens on 127.0.0.1 only (p2p, JSON-RPC, auth RPC), on ports free at ``up``, with
``--nodiscover``; JSON-RPC offers ``eth,net,web3,clique,admin,txpool,miner,personal,debug`` (admin
and clique are for the operator's and the tests' hands: adding and removing peers, votes; miner
and personal for ``up``, which unlocks the signers one by one; debug for ``wait_growing``, which
mends a tie fork). Nodes run in their own sessions and outlive the process that started them,
until ``down``.

Gas is free as on the production Besu network: base fee 0 from genesis, ``--miner.gasprice 0``.
geth admits a zero-price transaction only from its own JSON-RPC (a *local* one), not from
peers, so FourFlow's client sends each transaction to every node it can reach.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from eth_keys.datatypes import PrivateKey, PublicKey

from fourflow.adapters.chain.errors import NodeBinaryMissingError, NodeError
from fourflow.adapters.chain.node import _rpc, pid_alive
from fourflow.services.consortium import NetworkSpec, enode_public_key

GETH_VERSION = "v1.13.15"
GETH_MODULE = "github.com/ethereum/go-ethereum/cmd/geth"
DEFAULT_CHAIN_ID = 20_241
GAS_LIMIT = 1_000_000_000
START_TIMEOUT = 60.0
#: Seconds without a new block on any sealing node after which ``wait_growing`` looks for a
#: tie fork to mend (blocks come every period plus at most 1.5 s of out-of-turn delay).
STALL_S = 10.0
STOP_TIMEOUT = 20.0
EPOCH = 30_000


def default_geth_cache() -> Path:
    """Where ``make geth`` installs geth: ``~/.cache/fourflow/geth-v1.13.15/geth``."""
    return Path.home() / ".cache" / "fourflow" / f"geth-{GETH_VERSION}" / "geth"


def find_geth(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The geth v1.13.15 binary: ``explicit`` (FOURFLOW_GETH_BIN) or the build cache."""
    candidate = Path(explicit) if explicit is not None else default_geth_cache()
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise NodeBinaryMissingError(
        f"go-ethereum {GETH_VERSION} is not at {candidate}: run `make geth` (needs Go; it runs "
        f"`go install -ldflags=-checklinkname=0 {GETH_MODULE}@{GETH_VERSION}`), "
        "or set FOURFLOW_GETH_BIN"
    )


@dataclass(frozen=True, slots=True)
class CliqueMember:
    """One member's node of the development network.

    Attributes:
        name: the member's name.
        slug: its directory name.
        address: its Clique signer address (0x, checksummed).
        enode: ``enode://<public key>@127.0.0.1:<p2p port>``.
        p2p_port, rpc_port, auth_port: its loopback ports.
        pid: the running geth process (0 when stopped).
        uscc: the member's USCC when the network was made from a members description.
        joined: False for a member's node started apart, before the member's admission
            connects it (``connect_node``): no static peers either way until then.
    """

    name: str
    slug: str
    address: str
    enode: str
    p2p_port: int
    rpc_port: int
    auth_port: int
    pid: int = 0
    uscc: str = ""
    joined: bool = True

    @property
    def url(self) -> str:
        """Its JSON-RPC URL."""
        return f"http://127.0.0.1:{self.rpc_port}"


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What one node says about itself (``status``)."""

    name: str
    url: str
    running: bool
    block: int | None
    head: str | None
    peers: int | None
    signers: tuple[str, ...]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clique_extra_data(signers: Sequence[str]) -> str:
    """Clique's genesis extraData: 32 vanity bytes, the sorted signers, a 65-byte empty seal."""
    ordered = sorted(bytes.fromhex(a[2:]) for a in signers)
    return "0x" + (bytes(32) + b"".join(ordered) + bytes(65)).hex()


def clique_genesis(
    signers: Sequence[str],
    *,
    chain_id: int,
    period: int,
    base_fee: int = 0,
    alloc: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A Clique genesis: London rules from block 0, no Shanghai, base fee ``base_fee`` (wei;
    0: free gas), ``alloc`` funding accounts (address -> wei)."""
    forks = [
        "homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
        "constantinopleBlock", "petersburgBlock", "istanbulBlock", "muirGlacierBlock",
        "berlinBlock", "londonBlock",
    ]  # fmt: skip
    config: dict[str, Any] = {"chainId": chain_id, **dict.fromkeys(forks, 0)}
    config["clique"] = {"period": period, "epoch": EPOCH}
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(int(time.time())),
        "extraData": clique_extra_data(signers),
        "gasLimit": hex(GAS_LIMIT),
        "difficulty": "0x1",
        "baseFeePerGas": hex(base_fee),
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "alloc": {a: {"balance": hex(v)} for a, v in (alloc or {}).items()},
    }


class CliqueNetwork:
    """Creates, starts, inspects, breaks and stops a Clique network in one directory."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        geth: str | os.PathLike[str] | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.dir = Path(directory).resolve()
        self.record_path = self.dir / "network.json"
        self._geth = Path(geth) if geth is not None else None
        self.start_timeout = start_timeout

    # ----------------------------------------------------------------- description

    def exists(self) -> bool:
        """True when the network was created here."""
        return self.record_path.is_file()

    def members(self) -> list[CliqueMember]:
        """The members as ``network.json`` records them."""
        if not self.exists():
            raise NodeError(f"no consortium network in {self.dir} (run `fourflow consortium up`)")
        data = json.loads(self.record_path.read_text(encoding="utf-8"))
        return [CliqueMember(**m) for m in data["members"]]

    def chain_id(self) -> int:
        """The network's chain id."""
        return int(json.loads(self.record_path.read_text(encoding="utf-8"))["chain_id"])

    def min_tip(self) -> int:
        """The least tip (wei) its signers take; 0 on a free-gas network."""
        return int(json.loads(self.record_path.read_text(encoding="utf-8")).get("min_tip", 0))

    def urls(self) -> list[str]:
        """Every member's JSON-RPC URL, in member order."""
        return [m.url for m in self.members()]

    def member(self, which: int | str) -> CliqueMember:
        """A member by index or name."""
        members = self.members()
        if isinstance(which, int):
            return members[which]
        for m in members:
            if which in (m.name, m.slug):
                return m
        raise NodeError(f"no member {which!r} in the network in {self.dir}")

    # ----------------------------------------------------------------- create

    def create(
        self,
        names: Sequence[str],
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        period: int = 1,
        min_tip: int = 0,
        base_fee: int = 0,
        alloc: Mapping[str, int] | None = None,
    ) -> list[CliqueMember]:
        """Generate keys, genesis and data directories for ``names`` (one signer each).

        Free gas by default. A priced network (for the stuck-transaction tests): ``base_fee``
        in the genesis, ``alloc`` funding accounts, and signers that take only transactions
        paying a tip of at least ``min_tip`` wei (``--miner.gasprice``), their own JSON-RPC's
        included (``--txpool.nolocals``).
        """
        if self.exists():
            raise NodeError(f"a consortium network already exists in {self.dir}")
        if len(names) < 1 or len(set(names)) != len(names):
            raise NodeError("the network needs distinct member names")
        self.dir.mkdir(parents=True, exist_ok=True)
        members: list[CliqueMember] = []
        for index, name in enumerate(names):
            slug = f"node{index + 1}"
            datadir = self.dir / slug
            datadir.mkdir()
            key = PrivateKey(_random_key())
            _write_private(datadir / "nodekey", key.to_bytes().hex())
            _write_private(datadir / "password", secrets.token_urlsafe(24))
            p2p = free_port()
            members.append(
                CliqueMember(
                    name=name,
                    slug=slug,
                    address=key.public_key.to_checksum_address(),
                    enode=f"enode://{key.public_key.to_bytes().hex()}@127.0.0.1:{p2p}",
                    p2p_port=p2p,
                    rpc_port=free_port(),
                    auth_port=free_port(),
                )
            )
        genesis = clique_genesis(
            [m.address for m in members], chain_id=chain_id, period=period, base_fee=base_fee,
            alloc=alloc,
        )  # fmt: skip
        (self.dir / "genesis.json").write_text(json.dumps(genesis, indent=2), encoding="utf-8")
        for m in members:
            self._init_datadir(self.dir / m.slug)
        self._write(members, chain_id=chain_id, period=period, min_tip=min_tip)
        for m in members:
            self._write_config(m, members)
        return members

    def create_for(
        self, spec: NetworkSpec, *, chain_id: int = DEFAULT_CHAIN_ID, period: int = 1
    ) -> list[CliqueMember]:
        """The development network of the members description the Besu generator reads.

        Each founding member of ``spec`` gets one signer node here, on loopback ports free
        now (the description's hosts and ports are those of production); its name and USCC
        are kept in ``network.json``. ``spec.members`` order is the member order.
        """
        members = self.create([m.name for m in spec.members], chain_id=chain_id, period=period)
        members = [replace(c, uscc=f.uscc) for c, f in zip(members, spec.members, strict=True)]
        self._write(members)
        return members

    def add_member(self, name: str, *, uscc: str = "", join: bool = True) -> CliqueMember:
        """A new member's node joins the network (not a signer until the signers vote it in).

        It gets its own key and data directory, the network's genesis, every member as a
        static and trusted peer, and every running node adds it as one too. With
        ``join=False`` the node is started apart (no peers either way) until the member's
        admission connects it (``connect_node``).
        """
        members = self.members()
        if any(name == m.name for m in members):
            raise NodeError(f"{name!r} already runs a node in the network in {self.dir}")
        slug = f"node{max(int(m.slug.removeprefix('node')) for m in members) + 1}"
        datadir = self.dir / slug
        datadir.mkdir()
        key = PrivateKey(_random_key())
        _write_private(datadir / "nodekey", key.to_bytes().hex())
        _write_private(datadir / "password", secrets.token_urlsafe(24))
        p2p = free_port()
        member = CliqueMember(
            name=name,
            slug=slug,
            address=key.public_key.to_checksum_address(),
            enode=f"enode://{key.public_key.to_bytes().hex()}@127.0.0.1:{p2p}",
            p2p_port=p2p,
            rpc_port=free_port(),
            auth_port=free_port(),
            uscc=uscc,
            joined=join,
        )
        self._init_datadir(datadir)
        everyone = [*members, member]
        self._write(everyone)
        for m in everyone:
            self._write_config(m, everyone)
        started = self._start(member)
        self._write([*members, started])
        self._wait_rpc(started)
        if join:
            self.connect_all()
        self._release(started)
        return started

    def connect_node(self, enode: str) -> str:
        """A member admitted with its node ``enode``: every member writes it into its static
        and trusted peers and every running node connects to it (a node started apart with
        ``add_member(join=False)`` gets the members as peers too). Returns the node's address.
        """
        public = enode_public_key(enode)
        address = PublicKey(bytes.fromhex(public)).to_checksum_address()
        members = self.members()
        data = json.loads(self.record_path.read_text(encoding="utf-8"))
        mine = [m for m in members if enode_public_key(m.enode) == public]
        if mine:
            members = [replace(m, joined=True) if m in mine else m for m in members]
            self._write(members)
        elif enode not in data.get("peers", []):
            data["peers"] = [*data.get("peers", []), enode]
            tmp = self.record_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.record_path)
        for m in members:
            self._write_config(m, members)
        self.connect_all()
        return address

    def node_addresses(self) -> list[str]:
        """The address of every node of the network: the joined members' and the connected
        outside nodes' (lower-case 0x)."""
        data = json.loads(self.record_path.read_text(encoding="utf-8"))
        joined = [m.address.lower() for m in self.members() if m.joined]
        outside = [
            PublicKey(bytes.fromhex(enode_public_key(e))).to_checksum_address().lower()
            for e in data.get("peers", [])
        ]
        return [*joined, *outside]

    # ----------------------------------------------------------------- run

    def up(self) -> list[CliqueMember]:
        """Start every member's node that is not running, peer them all, then let them seal.

        Every node starts sealing (``--mine``) with its signer key locked, so it accepts the
        blocks its peers propagate (geth 1.13 discards them while not mining: "Syncing,
        discarded propagated block") but cannot seal one itself. When no node was running,
        one signer allowed to seal the next block is unlocked first; only once every node has
        its block are the others unlocked. Signers that each sealed their own block 1 before
        seeing each other's would fork, and no fork could grow (a signer of 4 seals one block
        in 3). When some node was running already, the started ones simply join and seal.
        """
        members = self.members()
        live = any(self._running(m) for m in members)
        started = []
        for i, m in enumerate(members):
            if not self._running(m):
                members[i] = self._start(m)
                started.append(members[i])
                self._write(members)
        for m in members:
            self._wait_rpc(m)
        self.connect_all()
        self.wait_peers(sum(m.joined for m in members) - 1)
        if live:
            for m in started:
                self._release(m)
        elif started:
            self._first_block(started)
        return members

    def _first_block(self, members: Sequence[CliqueMember]) -> None:
        """One eligible signer seals the next block while the others wait, then all seal.

        Only the joined nodes take part; a node started apart is released with the others.
        """
        every = list(members)
        members = [m for m in every if m.joined]
        if not members:
            for m in every:
                self._release(m)
            return
        heads = self._wait_same_head(members)
        number = max(heads.values())
        source = next(m for m in members if heads[m.slug] == number)
        snap = _rpc(source.url, "clique_getSnapshot", [hex(number)], timeout=5.0)
        if not isinstance(snap, dict):
            raise NodeError(f"{source.name}'s node gave no Clique snapshot at block {number}")
        signers = sorted(str(a).lower() for a in snap.get("signers", {}))
        limit = len(signers) // 2 + 1
        blocked = {
            str(who).lower()
            for seen, who in snap.get("recents", {}).items()
            if int(seen) > number + 1 - limit
        }
        in_turn = signers[(number + 1) % len(signers)] if signers else ""
        eligible = [a for a in (m.address.lower() for m in members) if a not in blocked]
        eligible = sorted((a for a in eligible if a in signers), key=lambda a: a != in_turn)
        if not eligible:
            for m in every:
                self._release(m)
            return
        first = next(m for m in members if m.address.lower() == eligible[0])
        self._release(first)
        deadline = time.monotonic() + self.start_timeout
        while True:
            behind = [
                m.name for m in members
                if not _block_at_least(m.url, number + 1)
            ]  # fmt: skip
            if not behind:
                break
            if time.monotonic() > deadline:
                raise NodeError(
                    f"block {number + 1}, sealed by {first.name}'s node, did not reach "
                    f"{', '.join(behind)} within {self.start_timeout:.0f} s"
                )
            time.sleep(0.2)
        for m in every:
            if m.slug != first.slug:
                self._release(m)

    def _wait_same_head(self, members: Sequence[CliqueMember]) -> dict[str, int]:
        """Each node's head number, once all agree on the head (or after a bounded wait)."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            heads = {}
            hashes = set()
            for m in members:
                head = _rpc(m.url, "eth_getBlockByNumber", ["latest", False], timeout=5.0)
                if isinstance(head, dict):
                    heads[m.slug] = int(head["number"], 16)
                    hashes.add(head["hash"])
            if len(heads) == len(members) and (len(hashes) == 1 or time.monotonic() > deadline):
                return heads
            if time.monotonic() > deadline:
                raise NodeError(f"nodes did not answer within {self.start_timeout:.0f} s")
            time.sleep(0.2)

    def _release(self, m: CliqueMember) -> None:
        """Unlock the node's signer key and restart its sealing, so it seals from now on."""
        password = (self.dir / m.slug / "password").read_text(encoding="utf-8")
        unlocked = _rpc(m.url, "personal_unlockAccount", [m.address, password, 0], timeout=10.0)
        if unlocked is not True:
            raise NodeError(f"{m.name}'s node did not unlock its signer: {self._log_tail(m)}")
        # Sealing failed while the key was locked; the miner tries again only on new work,
        # and skips work whose seal hash it tried last: new extra data makes it new.
        _rpc(m.url, "miner_setExtra", [f"fourflow {secrets.token_hex(4)}"], timeout=5.0)
        _rpc(m.url, "miner_stop", [], timeout=5.0)
        deadline = time.monotonic() + self.start_timeout
        while _rpc(m.url, "eth_mining", [], timeout=5.0) is not False:
            if time.monotonic() > deadline:
                raise NodeError(f"{m.name}'s node did not stop sealing")
            time.sleep(0.05)
        _rpc(m.url, "miner_start", [], timeout=5.0)  # answers null
        while _rpc(m.url, "eth_mining", [], timeout=5.0) is not True:
            if time.monotonic() > deadline:
                raise NodeError(f"{m.name}'s node did not start sealing: {self._log_tail(m)}")
            time.sleep(0.05)

    def down(self) -> int:
        """Stop every node (SIGTERM, then SIGKILL after a timeout); how many were running."""
        if not self.exists():
            return 0
        members = self.members()
        stopped = 0
        for m in members:
            if self._running(m):
                stopped += 1
                with contextlib.suppress(ProcessLookupError):
                    os.kill(m.pid, signal.SIGTERM)
        for m in members:
            if m.pid and not _wait_gone(m.pid, STOP_TIMEOUT):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(m.pid, signal.SIGKILL)
                _wait_gone(m.pid, 5.0)
        self._write([replace(m, pid=0) for m in members])
        return stopped

    def kill(self, which: int | str) -> None:
        """SIGKILL one member's node (a crash: no clean shutdown)."""
        member = self.member(which)
        if self._running(member):
            os.kill(member.pid, signal.SIGKILL)
            _wait_gone(member.pid, 10.0)

    def start(self, which: int | str) -> CliqueMember:
        """Start one member's node again (after ``kill``) and reconnect it."""
        member = self.member(which)
        if not self._running(member):
            member = self._start(member)
            self._write([member if m.slug == member.slug else m for m in self.members()])
        self._wait_rpc(member)
        self.connect_all()
        self._release(member)
        return member

    def isolate(self, which: int | str) -> None:
        """Cut one member off: it and every other node drop each other as (trusted) peers."""
        member = self.member(which)
        others = [o for o in self.members() if o.slug != member.slug]
        # Repeated: a dial already in flight when a peer was removed can connect afterwards.
        for _ in range(20):
            for other in others:
                for a, b in ((member, other), (other, member)):
                    for method in ("admin_removeTrustedPeer", "admin_removePeer"):
                        _rpc(a.url, method, [b.enode], timeout=5.0)
            time.sleep(0.5)
            if self.peer_count(member) in (0, None):
                time.sleep(0.5)
                if self.peer_count(member) in (0, None):
                    return
        raise NodeError(f"{member.name}'s node could not be cut off from its peers")

    def wait_growing(
        self,
        nodes: Sequence[CliqueMember] | None = None,
        *,
        blocks: int = 3,
        timeout: float = 120.0,
    ) -> list[int]:
        """Wait until every node of ``nodes`` (default: every running joined one) is ``blocks``
        blocks past the highest head now; mend a tie fork when they stall. Returns the heads.

        With 4 signers a signer seals at most one block in 3, so 3 signers left (one down or
        cut off) must seal in strict turn. Right after the fourth stopped, two of them may be
        allowed to seal the same block; if both do, out of turn (equal difficulty), and each
        keeps its own, no chain has a signer allowed to extend it and no new block ever comes
        (geth breaks equal-difficulty ties by chance, once). ``_mend_tie`` then rewinds the
        nodes off the chain most nodes hold onto it.
        """
        chosen = list(nodes) if nodes is not None else [
            m for m in self.members() if m.joined and self._running(m)
        ]  # fmt: skip
        heads = self._heads(chosen)
        target = max(n for n, _ in heads.values()) + blocks
        deadline = time.monotonic() + timeout
        changed, last = time.monotonic(), heads
        while True:
            heads = self._heads(chosen)
            if len(heads) == len(chosen) and all(n >= target for n, _ in heads.values()):
                return [heads[m.slug][0] for m in chosen]
            now = time.monotonic()
            if heads != last:
                changed, last = now, heads
            elif now - changed > STALL_S:
                self._mend_tie(chosen, heads)
                changed = time.monotonic()
            if now > deadline:
                raise NodeError(
                    f"the network did not grow {blocks} blocks within {timeout:.0f} s: "
                    + ", ".join(f"{m.name} at {heads.get(m.slug, (None,))[0]}" for m in chosen)
                )
            time.sleep(0.2)

    def _heads(self, nodes: Sequence[CliqueMember]) -> dict[str, tuple[int, str]]:
        out = {}
        for m in nodes:
            head = _rpc(m.url, "eth_getBlockByNumber", ["latest", False], timeout=5.0)
            if isinstance(head, dict):
                out[m.slug] = (int(head["number"], 16), str(head["hash"]))
        return out

    def _mend_tie(
        self, nodes: Sequence[CliqueMember], heads: dict[str, tuple[int, str]]
    ) -> list[str]:
        """The stalled ``nodes`` hold different heads: those off the head most of them hold
        (then the lowest hash) stop sealing, rewind to where they left it (``debug_setHead``),
        meet a node on it again (a new handshake tells them its total difficulty, and they
        sync to it) and seal again. Returns the names of the nodes moved."""
        counts = collections.Counter(h for _, h in heads.values())
        if len(counts) < 2:
            return []  # one chain: slow, not forked
        best = min(counts, key=lambda h: (-counts[h], h))
        winner = next(m for m in nodes if heads.get(m.slug, (0, ""))[1] == best)
        moved = []
        for m in nodes:
            if m.slug not in heads or heads[m.slug][1] == best:
                continue
            ancestor = self._common_ancestor(
                m, winner, min(heads[m.slug][0], heads[winner.slug][0])
            )
            _rpc(m.url, "miner_stop", [], timeout=5.0)
            stop_by = time.monotonic() + 10.0
            while _rpc(m.url, "eth_mining", [], timeout=5.0) and time.monotonic() < stop_by:
                time.sleep(0.05)
            _rpc(m.url, "debug_setHead", [hex(ancestor)], timeout=10.0)
            for a, b in ((m, winner), (winner, m)):
                for method in ("admin_removeTrustedPeer", "admin_removePeer"):
                    _rpc(a.url, method, [b.enode], timeout=5.0)
            for a, b in ((m, winner), (winner, m)):
                for method in ("admin_addPeer", "admin_addTrustedPeer"):
                    _rpc(a.url, method, [b.enode], timeout=5.0)
            deadline = time.monotonic() + 45.0
            while self._heads([m]).get(m.slug, (0, ""))[0] < heads[winner.slug][0]:
                if time.monotonic() > deadline:
                    break  # sealing again below: the next stall tries again
                time.sleep(0.2)
            _rpc(m.url, "miner_start", [], timeout=5.0)
            moved.append(m.name)
        return moved

    def _common_ancestor(self, a: CliqueMember, b: CliqueMember, number: int) -> int:
        """The highest block number at or below ``number`` where ``a`` and ``b`` agree."""
        for n in range(number, max(number - 64, 0), -1):
            ha = _rpc(a.url, "eth_getBlockByNumber", [hex(n), False], timeout=5.0)
            hb = _rpc(b.url, "eth_getBlockByNumber", [hex(n), False], timeout=5.0)
            if isinstance(ha, dict) and isinstance(hb, dict) and ha["hash"] == hb["hash"]:
                return n
        return max(number - 64, 0)

    def connect_all(self) -> None:
        """Every running joined node adds every other joined node and every connected
        outside node as a static and trusted peer."""
        members = [m for m in self.members() if m.joined]
        outside = json.loads(self.record_path.read_text(encoding="utf-8")).get("peers", [])
        for a in members:
            for enode in [*(b.enode for b in members if b.slug != a.slug), *outside]:
                _rpc(a.url, "admin_addPeer", [enode], timeout=5.0)
                _rpc(a.url, "admin_addTrustedPeer", [enode], timeout=5.0)

    def wait_peers(self, count: int, timeout: float = 60.0) -> None:
        """Wait until every running joined node has at least ``count`` peers."""
        deadline = time.monotonic() + timeout
        while True:
            counts = [self.peer_count(m) for m in self.members() if m.joined and self._running(m)]
            if all(c is not None and c >= count for c in counts):
                return
            if time.monotonic() > deadline:
                raise NodeError(f"nodes did not peer within {timeout:.0f} s: {counts}")
            time.sleep(0.25)

    def peer_count(self, member: CliqueMember) -> int | None:
        """How many peers a node has, or None when it does not answer."""
        peers = _rpc(member.url, "admin_peers", [], timeout=5.0)
        return len(peers) if isinstance(peers, list) else None

    def status(self) -> list[NodeStatus]:
        """Each node's head, peers and signers (None where it does not answer)."""
        out = []
        for m in self.members():
            running = self._running(m)
            head = _rpc(m.url, "eth_getBlockByNumber", ["latest", False]) if running else None
            signers = _rpc(m.url, "clique_getSigners", []) if running else None
            out.append(
                NodeStatus(
                    name=m.name,
                    url=m.url,
                    running=running,
                    block=int(head["number"], 16) if isinstance(head, dict) else None,
                    head=str(head["hash"]) if isinstance(head, dict) else None,
                    peers=self.peer_count(m) if running else None,
                    signers=tuple(signers) if isinstance(signers, list) else (),
                )
            )
        return out

    def signers(self, which: int | str = 0) -> list[str]:
        """The signers as one node sees them (lower-case 0x addresses)."""
        result = _rpc(self.member(which).url, "clique_getSigners", [])
        return [str(a).lower() for a in result] if isinstance(result, list) else []

    def views(self) -> list[tuple[list[str], dict[str, int]] | None]:
        """What each node sees (None: it does not answer): the signers (lower-case) and the
        pending votes about each address (its Clique snapshot's tally)."""
        out: list[tuple[list[str], dict[str, int]] | None] = []
        for m in self.members():
            snap = _rpc(m.url, "clique_getSnapshot", [None], timeout=5.0) if m.joined else None
            if not isinstance(snap, dict):
                out.append(None)
                continue
            tally = {
                str(a).lower(): int(t.get("votes", 0)) for a, t in snap.get("tally", {}).items()
            }
            out.append(([str(a).lower() for a in snap.get("signers", {})], tally))
        return out

    def propose(self, address: str, authorize: bool, voters: Sequence[int | str]) -> None:
        """``clique_propose`` (add when ``authorize``, else remove) on each voter's node."""
        for which in voters:
            member = self.member(which)
            result = _rpc(member.url, "clique_propose", [address, authorize], timeout=5.0)
            if result is None and not self._running(member):
                raise NodeError(f"{member.name}'s node did not take the vote on {address}")

    def discard(self, address: str, voters: Sequence[int | str]) -> None:
        """Withdraw the voters' pending proposals about ``address`` (after a decision)."""
        for which in voters:
            _rpc(self.member(which).url, "clique_discard", [address], timeout=5.0)

    # ----------------------------------------------------------------- internals

    def binary(self) -> Path:
        """The geth executable."""
        return find_geth(self._geth)

    def command(self, m: CliqueMember) -> list[str]:
        """The geth command line of one member's node: sealing from the start, with its
        signer key locked until ``_release`` unlocks it (so it cannot seal a block yet)."""
        datadir = self.dir / m.slug
        return [
            str(self.binary()),
            "--config", str(datadir / "config.toml"),
            "--datadir", str(datadir),
            "--networkid", str(self.chain_id()),
            "--nodekey", str(datadir / "nodekey"),
            "--port", str(m.p2p_port),
            "--nat", "none",
            "--nodiscover",
            "--ipcdisable",
            "--http", "--http.addr", "127.0.0.1", "--http.port", str(m.rpc_port),
            "--http.api", "eth,net,web3,clique,admin,txpool,miner,personal,debug",
            "--http.vhosts", "localhost,127.0.0.1",
            "--authrpc.addr", "127.0.0.1", "--authrpc.port", str(m.auth_port),
            "--syncmode", "full",
            "--mine", "--miner.etherbase", m.address,
            # The signer is unlocked over the loopback JSON-RPC (personal_unlockAccount).
            "--allow-insecure-unlock", "--rpc.enabledeprecatedpersonal",
            "--miner.gasprice", str(self.min_tip()),
            *(["--txpool.nolocals"] if self.min_tip() else []),
            "--miner.gaslimit", str(GAS_LIMIT),
            "--rpc.gascap", str(GAS_LIMIT),
            "--txpool.globalslots", "20000", "--txpool.accountslots", "5000",
            "--cache", "128",
            "--verbosity", "3",
        ]  # fmt: skip

    def _start(self, m: CliqueMember) -> CliqueMember:
        datadir = self.dir / m.slug
        with (datadir / "geth.log").open("ab") as log:
            log.write(f"\n--- start {time.ctime()}\n".encode())
            log.flush()
            process = subprocess.Popen(
                self.command(m),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=datadir,
            )
        return replace(m, pid=process.pid)

    def _wait_rpc(self, m: CliqueMember) -> None:
        deadline = time.monotonic() + self.start_timeout
        while _rpc(m.url, "eth_chainId", []) is None:
            if not self._running(m):
                raise NodeError(f"{m.name}'s geth exited: {self._log_tail(m)}")
            if time.monotonic() > deadline:
                raise NodeError(f"{m.name}'s geth did not answer within {self.start_timeout} s")
            time.sleep(0.1)

    def _running(self, m: CliqueMember) -> bool:
        if not m.pid or not pid_alive(m.pid):
            return False
        with contextlib.suppress(OSError):
            args = Path(f"/proc/{m.pid}/cmdline").read_bytes().split(b"\0")
            return str(self.dir / m.slug).encode() in args
        return True

    def _log_tail(self, m: CliqueMember, lines: int = 10) -> str:
        try:
            text = (self.dir / m.slug / "geth.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _init_datadir(self, datadir: Path) -> None:
        """``geth init`` the genesis into ``datadir`` and import its node key as the signer."""
        self._geth_run(["init", "--datadir", str(datadir), str(self.dir / "genesis.json")])
        keyfile = datadir / "signer.key"
        _write_private(keyfile, (datadir / "nodekey").read_text(encoding="utf-8"))
        try:
            self._geth_run(
                ["account", "import", "--lightkdf", "--datadir", str(datadir),
                 "--password", str(datadir / "password"), str(keyfile)]
            )  # fmt: skip
        finally:
            keyfile.unlink()

    def _geth_run(self, args: list[str]) -> None:
        done = subprocess.run(
            [str(self.binary()), *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise NodeError(f"geth {args[0]} failed: {done.stderr.strip()[-600:]}")

    def _write(
        self,
        members: Sequence[CliqueMember],
        *,
        chain_id: int | None = None,
        period: int = 0,
        min_tip: int = 0,
    ) -> None:
        data: dict[str, Any] = {}
        if self.exists():
            data = json.loads(self.record_path.read_text(encoding="utf-8"))
        if chain_id is not None:
            data.update(chain_id=chain_id, period=period, geth=GETH_VERSION)
            if min_tip:
                data["min_tip"] = min_tip
        data["members"] = [asdict(m) for m in members]
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.record_path)

    def _write_config(self, m: CliqueMember, members: Sequence[CliqueMember]) -> None:
        outside = json.loads(self.record_path.read_text(encoding="utf-8")).get("peers", [])
        others = [o.enode for o in members if o.slug != m.slug and o.joined] + list(outside)
        peers = ", ".join(json.dumps(e) for e in others) if m.joined else ""
        text = f"[Node.P2P]\nStaticNodes = [{peers}]\nTrustedNodes = [{peers}]\n"
        (self.dir / m.slug / "config.toml").write_text(text, encoding="utf-8")


def _random_key() -> bytes:
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    while True:
        key = secrets.token_bytes(32)
        if 0 < int.from_bytes(key, "big") < order:
            return key


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _block_at_least(url: str, number: int) -> bool:
    head = _rpc(url, "eth_blockNumber", [], timeout=5.0)
    return isinstance(head, str) and int(head, 16) >= number


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False
