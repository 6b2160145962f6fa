"""FourFlow's main path on a 4-signer Clique network of go-ethereum v1.13.15, through faults.

One platform (SQLite store) talks to all four nodes (``chain_url`` lists them) and counts an
operation done only 2 blocks deep. The main path runs through the real services: onboarding,
ingest, anchoring, verification, issue (debtor-confirmed), transfer, financing (pledge), the
debtor's payment, each relayed to the chain. After each fault nothing is lost or doubled: every
queued operation is done and applied exactly once on the canonical chain (one
``OperationApplied`` log per op id), and ``audit`` finds the store and the chain agree.
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fourflow.adapters.chain.clique import CliqueMember, CliqueNetwork
from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.node import _rpc
from fourflow.adapters.chain.ops import build_call
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.debt import DebtItem
from fourflow.domain.documents import DocumentKind
from fourflow.domain.financing import Outcome
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.scenarios import Scenario
from fourflow.services import financing, ingest, items, linking, onboarding, relay
from fourflow.services.audit import audit
from fourflow.services.demo import MEMBERS, demo_uscc, trade_bundle
from fourflow.services.ports import ChainOp, OpStatus
from fourflow.services.verification import verify

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("clique")]

CONFIRMATIONS = 2
YUAN = 100
PASSWORD = "consortium-test"


def _settings(home: Path, urls: list[str], confirmations: int = CONFIRMATIONS) -> Settings:
    return Settings(
        home=home,
        database_url=f"sqlite:///{home / 'fourflow.db'}",
        chain_url=",".join(urls),
        keystore_password=PASSWORD,
        confirmations=confirmations,
        # A loaded 2-core machine runs four geth nodes and other tests: one signer down or cut
        # off leaves three that must seal in turn, which can take far longer than on a server.
        receipt_timeout=180.0,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("platform")


@pytest.fixture(scope="module")
def platform(network: CliqueNetwork, home: Path) -> Iterator[Platform]:
    """The platform on all four nodes: contracts deployed, the demo members onboarded."""
    with Platform(_settings(home, network.urls(), confirmations=0)) as setup:
        setup.initialise()  # the setup's six deployment steps at depth 0, to save time
    with Platform(_settings(home, network.urls())) as p:
        for m in MEMBERS:
            onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=m.name, uscc=m.uscc,
                roles=m.roles, accounts=[m.account],
            )  # fmt: skip
        _relay(p)
        # The operations ``initialise`` applied directly, without the outbox.
        p.settings.home.joinpath("direct-ops").write_text(
            str(sum(_applied_counts(p.require_contracts()).values()) - len(_ops(p)))
        )
        yield p


@pytest.fixture(scope="module")
def org(platform: Platform) -> dict[str, Organisation]:
    with platform.uow_factory() as uow:
        return {m.key: uow.organisations.by_uscc(m.uscc) for m in MEMBERS}  # type: ignore[misc]


def _relay(p: Platform) -> None:
    result = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert not result.failed, result.failed


class MainPath:
    """Rounds of the main path: ``n`` trades each, from ingest to the debtor's payment."""

    def __init__(self, p: Platform, org: dict[str, Organisation]) -> None:
        self.p, self.org = p, org
        self.items: list[DebtItem] = []
        self.rounds = 0

    def round(self, n: int) -> None:
        p, org = self.p, self.org
        member = {m.key: m for m in MEMBERS}
        start = p.clock.today() - dt.timedelta(days=110)
        invoices = []
        for _ in range(n):
            tag = uuid.uuid4().hex[:8]
            raw = trade_bundle(
                prefix=f"CQ-{tag}", seller=member["tier1"], buyer=member["core"],
                carrier=member["logistics"], day0=start, terms_days=90, received_factor="1",
                lines=[("GEAR-HOUSING-Φ320", "500", "EA", "1200.00"),
                       ("DRIVE-SHAFT-S45C", "225", "EA", "1266.47")],
                scenario=Scenario.MANUFACTURING,
            )  # fmt: skip
            outcomes = ingest.ingest_bytes(
                uow_factory=p.uow_factory, reader=p.reader_for(org["tier1"].id), clock=p.clock,
                raw=raw, source=f"{tag}.json", submitter_id=org["tier1"].id,
            )  # fmt: skip
            assert all(o.status == "accepted" for o in outcomes)
            invoices.append(f"INV-CQ-{tag}")
        ingest.anchor_pending(uow_factory=p.uow_factory, clock=p.clock, operator_id=p.operator_id())
        linking.link_documents(uow_factory=p.uow_factory)
        issue_day = start + dt.timedelta(days=8)
        issued = []
        for number in invoices:
            with p.uow_factory() as uow:
                (invoice,) = uow.documents.by_number(DocumentKind.INVOICE, number)
            assert invoice.trade_id is not None
            verify(uow_factory=p.uow_factory, trade_id=invoice.trade_id, as_of=issue_day)
            issued.append(
                items.issue_item(
                    uow_factory=p.uow_factory,
                    ledger=p.require_contracts(),
                    clock=p.clock,
                    trade_id=invoice.trade_id,
                    as_of=issue_day,
                    confirm=True,
                )
            )
            _relay(p)  # a debtor's confirmations are issued one after another (its nonce)
        passed = []
        for item in issued:
            with p.uow_factory() as uow:
                (first,) = uow.items.holdings(item.id)
            passed.append(
                items.transfer(
                    uow_factory=p.uow_factory,
                    holding_id=first.id,
                    amount=300_000 * YUAN,
                    to_org_id=org["tier2"].id,
                    actor_id=org["tier1"].id,
                )
            )
        _relay(p)
        for item, holding in zip(issued, passed, strict=True):
            fin = financing.request_financing(
                uow_factory=p.uow_factory, cold_start=p.cold_start, holding_id=holding.id,
                bank_id=org["bank"].id, amount=270_000 * YUAN, actor_id=org["tier2"].id,
                as_of=item.issue_date + dt.timedelta(days=5),
            )  # fmt: skip
            assert fin.decision is not None and fin.decision.outcome is Outcome.APPROVE
        _relay(p)
        for item in issued:
            items.pay(
                ledger=p.require_contracts(), uow_factory=p.uow_factory, item_id=item.id,
                amount=1_000_000 * YUAN, value_date=item.maturity_date,
                reference=f"CAMT054-{uuid.uuid4().hex[:10]}", payer_id=org["core"].id,
                method="debtor",
            )  # fmt: skip
        _relay(p)
        self.items += issued
        self.rounds += 1


def _applied_counts(ledger: ChainLedger) -> collections.Counter[tuple[str, str]]:
    """How many ``OperationApplied`` logs each (contract, op key) has on the canonical chain."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for name in (
        "Registry", "Notary", "Issuer", "DebtItem", "SettlementToken", "WarehouseReceipt",
        "Repayment",  # a confirmed item's route is locked with its confirmation
    ):  # fmt: skip
        topic = ledger.abi(name).event_topic("OperationApplied")
        for log in ledger.client.logs(ledger.addresses[name], [topic], ledger.from_block):
            counts[(name, str(log["topics"][1]).lower())] += 1
    return counts


def _ops(p: Platform) -> list[ChainOp]:
    with p.uow_factory() as uow:
        return uow.outbox.list()


def assert_nothing_lost_or_doubled(p: Platform) -> int:
    """Every queued op is done and applied once on the chain; audit clean. Returns the ops."""
    ledger = p.require_contracts()
    ops = _ops(p)
    statuses = collections.Counter(op.status for op in ops)
    assert statuses == {OpStatus.DONE: len(ops)}, statuses
    counts = _applied_counts(ledger)
    keys = []
    for op in ops:
        call = build_call(op)
        keys.append((call.contract, "0x" + bytes(call.args[0]).hex()))
    assert len(set(keys)) == len(ops)
    assert [counts[k] for k in keys] == [1] * len(ops)
    # Nothing on the chain that the store does not know of (beside initialise's own ops).
    direct = int(p.settings.home.joinpath("direct-ops").read_text())
    assert sum(counts.values()) == len(ops) + direct
    report = audit(uow_factory=p.uow_factory, ledger=ledger, reader_for=p.reader_for)
    assert report.ok, report.discrepancies
    assert report.pending_ops == 0
    return len(ops)


def _others(network: CliqueNetwork, index: int) -> list[CliqueMember]:
    return [m for i, m in enumerate(network.members()) if i != index]


def _heads(network: CliqueNetwork) -> list[int | None]:
    return [s.block for s in network.status()]


def _wait_caught_up(network: CliqueNetwork, timeout: float = 60.0) -> list[int | None]:
    deadline = time.monotonic() + timeout
    while True:
        heads = _heads(network)
        known = [h for h in heads if h is not None]
        if len(known) == len(heads) and min(known) >= max(known) - 1:
            return heads
        if time.monotonic() > deadline:
            return heads
        time.sleep(0.5)


def test_a_killed_signer_under_the_main_path_loses_and_doubles_nothing(
    network: CliqueNetwork, platform: Platform, org: dict[str, Organisation]
) -> None:
    ledger = platform.require_contracts()
    active = ledger.client.urls.index(ledger.client.url)  # the node the platform talks to
    failovers = ledger.client.failovers
    path = MainPath(platform, org)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            path.round(2)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(4.0)
    network.kill(active)  # kill -9 of the signer FourFlow is sending to, mid-path
    killed_at = max(h for h in _heads(network) if h is not None)
    # The 3 left seal in strict turn; a tie fork right after the kill is mended.
    network.wait_growing(_others(network, active), blocks=3)
    worker.join(150)
    assert not worker.is_alive(), "the main path did not finish within 150 s"
    assert errors == []
    assert path.rounds == 1 and len(path.items) == 2
    assert ledger.client.failovers > failovers
    for item in path.items:  # paid in full on the chain, read through the failed-over client
        chain_item = ledger.read("item", item.id)
        assert int(chain_item["paid"]) == 1_000_000 * YUAN and int(chain_item["state"]) == 2
    # Sealing went on without the dead signer (3 of 4 sign in turn).
    assert max(h for h in _heads(network) if h is not None) > killed_at + 3
    assert_nothing_lost_or_doubled(platform)
    # The node restarts and catches up with the others.
    network.start(active)
    heads = _wait_caught_up(network)
    known = [h for h in heads if h is not None]
    assert len(known) == 4 and known[active] >= max(known) - 1, heads
    # Every node is back, peered, and sees the same four signers; blocks come from several.
    assert all(s.peers == 3 and len(s.signers) == 4 for s in network.status())
    head = ledger.client.block_number()
    sealers = {
        _rpc(network.urls()[0], "clique_getSigner", [hex(n)]) for n in range(head - 7, head + 1)
    }
    assert len(sealers) >= 3
    assert ledger.client.client_version().startswith("Geth/v1.13.15")
    assert ledger.client.gas_price() == 0 and ledger.client.confirmations == CONFIRMATIONS


def test_partition_and_heal_of_one_node_under_the_main_path(
    network: CliqueNetwork, platform: Platform, org: dict[str, Organisation]
) -> None:
    ledger = platform.require_contracts()
    cut = (ledger.client.urls.index(ledger.client.url) + 1) % 4  # not the active node
    network.isolate(cut)
    try:
        # The 3 left seal in strict turn; a tie fork right after the cut is mended.
        network.wait_growing(_others(network, cut), blocks=3)
        MainPath(platform, org).round(1)  # the other three signers go on sealing
        cut_head = _heads(network)[cut]
        assert cut_head is not None and cut_head < ledger.client.block_number() - 3
    finally:
        network.connect_all()
    network.wait_peers(3)
    heads = _wait_caught_up(network)
    known = [h for h in heads if h is not None]
    assert len(known) == 4 and known[cut] >= max(known) - 1, heads
    assert_nothing_lost_or_doubled(platform)
    # The healed node has the same chain: FourFlow reading from it alone finds every op.
    with Platform(_settings(platform.settings.home, [network.member(cut).url])) as alone:
        report = audit(
            uow_factory=alone.uow_factory, ledger=alone.require_contracts(),
            reader_for=alone.reader_for,
        )  # fmt: skip
        assert report.ok, report.discrepancies


def _block(url: str) -> int:
    return int(_rpc(url, "eth_blockNumber", []), 16)


def _until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.1)


def test_an_op_whose_block_is_reorganised_away_is_applied_again_once(
    network: CliqueNetwork, platform: Platform
) -> None:
    """A minority's block holding an op leaves the canonical chain; the client applies it again.

    Node X stops sealing and is cut off; FourFlow (talking to X only) relays an onboarding; X
    seals the op alone into one block (a lone signer of 4 may seal one block in 3) that the
    client sees mined but not yet 2 deep. The three others seal on; healed, X takes their
    heavier chain, its block is gone, and the client sends the same signed transaction again:
    applied once, by its op id.
    """
    x = 3
    x_url = network.member(x).url
    others = [u for i, u in enumerate(network.urls()) if i != x]
    _rpc(x_url, "miner_stop", [])
    try:
        stopped_at = _block(x_url)
        # X is absent from the last sealers, so alone it may seal the next block.
        network.wait_growing(_others(network, x), blocks=3)
        assert _block(others[0]) >= stopped_at + 3
        network.isolate(x)
        with Platform(_settings(platform.settings.home, [x_url])) as on_x:
            onboarding.onboard(
                uow_factory=on_x.uow_factory, keystore=on_x.keystore,
                name=f"Reorg Test Trading Co. {uuid.uuid4().hex[:6]}",
                uscc=demo_uscc("320500", f"{secrets.randbelow(10**9):09d}"), roles=[Role.SUPPLIER],
            )  # fmt: skip
            relayed: list[relay.RelayResult] = []
            errors: list[BaseException] = []

            def relay_on_x() -> None:
                try:
                    relayed.append(
                        relay.relay(uow_factory=on_x.uow_factory, ledger=on_x.require_contracts())
                    )
                except BaseException as exc:
                    errors.append(exc)

            worker = threading.Thread(target=relay_on_x)
            worker.start()
            _until(
                "the op in X's pool", lambda: _rpc(x_url, "txpool_status", [])["pending"] != "0x0"
            )
            fork = _block(x_url)
            _rpc(x_url, "miner_start", [])
            _until("X's lone block", lambda: _block(x_url) > fork)
            minority = _rpc(x_url, "eth_getBlockByNumber", [hex(fork + 1), False])
            assert len(minority["transactions"]) == 1
            _until("the majority 3 blocks past the fork", lambda: _block(others[0]) >= fork + 4)
            assert _block(x_url) == fork + 1  # X alone seals no second block
            network.connect_all()
            worker.join(60)
            assert not worker.is_alive(), "the relay did not finish within 60 s of healing"
            assert errors == [] and relayed and relayed[0].applied == 1 and not relayed[0].failed
            assert on_x.ledger.client.reorgs >= 1
            canonical = _rpc(x_url, "eth_getBlockByNumber", [hex(fork + 1), False])
            assert canonical["hash"] != minority["hash"]
    finally:
        _rpc(x_url, "miner_start", [])
        network.connect_all()
    network.wait_peers(3)
    assert_nothing_lost_or_doubled(platform)
