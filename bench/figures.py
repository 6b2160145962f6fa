"""The benchmarks. Each yields JSON lines: {"bench", "value", "unit", ...context}."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import api, consortium, documents, fraud, risk, rule_engine, web_pages
from bench import relay as relay_bench
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.debt import HoldingClaim, PledgeState, route_payment
from fourflow.domain.scenarios import Scenario
from fourflow.domain.trades import Trade
from fourflow.services import commands as cmd
from fourflow.services import ingest, relay
from fourflow.services.demo import MEMBERS, DemoContext, run_demo, trade_bundle
from fourflow.services.onboarding import onboard
from fourflow.services.ports import ChainOp
from fourflow.verification.rules import TradeContext, verify_trade

MACHINE = {"cpus": os.cpu_count(), "python": platform.python_version()}


def line(name: str, value: float, unit: str, **context: object) -> str:
    """One JSON figure."""
    return json.dumps({"bench": name, "value": round(value, 2), "unit": unit, **context, **MACHINE})


def _timed(fn: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return time.perf_counter() - start


def bench_routing() -> Iterator[str]:
    """Payments routed per second over an item of 8 holdings, 2 of them pledged."""
    claims = [
        HoldingClaim(f"h{i}", f"o{i}", 10_000_00 * (i + 1),
                     PledgeState("bank", 5_000_00 * (i + 1), 0, 450, 0) if i % 4 == 0 else None)
        for i in range(8)
    ]  # fmt: skip
    n = 20_000
    seconds = _timed(lambda: route_payment(claims, 123_456_78, 90), n)
    yield line("routing.payments_per_s", n / seconds, "payments/s", holdings=8)


_HOMES: list[Path] = []


def _home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="fourflow-bench-"))
    _HOMES.append(home)
    return home


def cleanup() -> None:
    """Remove the temporary homes the benchmarks made."""
    for home in _HOMES:
        shutil.rmtree(home, ignore_errors=True)


def bench_verification() -> Iterator[str]:
    """Trades verified per second by the basic rules (pure, no I/O)."""
    with Platform(Settings(_home(), f"sqlite:///{_home()}/b.db", None, "bench")) as p:
        m = {x.key: x for x in MEMBERS}
        for x in MEMBERS:
            onboard(uow_factory=p.uow_factory, keystore=p.keystore, name=x.name, uscc=x.uscc,
                    roles=x.roles, accounts=[x.account], admit=False)  # fmt: skip
        raw = trade_bundle(
            prefix="B", seller=m["tier1"], buyer=m["core"], carrier=m["logistics"],
            lines=[(f"SKU-{i}", "100", "EA", "12.50") for i in range(10)], received_factor="1",
            day0=dt.date(2026, 1, 5), terms_days=90, scenario=Scenario.MANUFACTURING,
        )  # fmt: skip
        docs = [pd.document for pd in p.reader_for("x").read(raw, source="b")]
        with p.uow_factory() as uow:
            parties = {k: o for o in uow.organisations.list() for k in o.known_as()}
        org = {o.uscc: o for o in parties.values()}
        trade = Trade("t", Scenario.MANUFACTURING, org[m["tier1"].uscc].id,
                      org[m["core"].uscc].id, tuple(docs))  # fmt: skip
        ctx = TradeContext(trade, parties, dt.date(2026, 1, 20))
        n = 5_000
        seconds = _timed(lambda: verify_trade(ctx), n)
        yield line("verification.trades_per_s", n / seconds, "trades/s", documents=5, lines=10)


def bench_ingest() -> Iterator[str]:
    """Native documents ingested per second into SQLite (parse, schema, fingerprint, store)."""
    home = _home()
    with Platform(Settings(home, f"sqlite:///{home}/b.db", None, "bench")) as p:
        m = {x.key: x for x in MEMBERS}
        org = onboard(uow_factory=p.uow_factory, keystore=p.keystore, name=m["tier1"].name,
                      uscc=m["tier1"].uscc, roles=m["tier1"].roles, admit=False)  # fmt: skip
        files = []
        for i in range(200):
            raw = trade_bundle(
                prefix=f"I{i}", seller=m["tier1"], buyer=m["core"], carrier=m["logistics"],
                lines=[("SKU-1", "100", "EA", "12.50")], received_factor="1",
                day0=dt.date(2026, 1, 5), terms_days=90,
                scenario=Scenario.MANUFACTURING,
            )  # fmt: skip
            files.append((f"f{i}.json", raw))
        start, cpu = time.perf_counter(), time.process_time()
        outcomes = ingest.ingest_many(uow_factory=p.uow_factory, reader=p.reader_for(org.id),
                                      clock=p.clock, files=files, submitter_id=org.id)  # fmt: skip
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        accepted = sum(o.status == "accepted" for o in outcomes)
        yield line("ingest.native_docs_per_s.sqlite", accepted / seconds, "documents/s",
                   documents=accepted, files=len(files),
                   cpu_ms_per_document=round(1000 * cpu / accepted, 3),
                   load=round(os.getloadavg()[0], 2))  # fmt: skip


def bench_chain() -> Iterator[str]:
    """Chain operations per second from one process against the local anvil node."""
    home = _home()
    with Platform(Settings(home, f"sqlite:///{home}/b.db", None, "bench")) as p:
        p.initialise()
        ledger = p.require_contracts()
        operator = p.operator_id()
        ops = [
            ChainOp(f"bench-{i}-{time.time_ns()}",
                    cmd.RegisterFingerprints((os.urandom(32).hex(),)), operator)
            for i in range(500)
        ]  # fmt: skip
        start = time.perf_counter()
        ledger.apply_many(ops)
        seconds = time.perf_counter() - start
        yield line("chain.ops_per_s.register_fingerprint", len(ops) / seconds, "tx/s", ops=len(ops))


def _mixed_item_ops(orgs: dict[str, Any], n_items: int, today: int) -> list[list[ChainOp]]:
    """Phases of debt-item ops over ``n_items`` items: issue; split + transfer; pledge; repay.

    Each phase is one pipelined ``apply_many``; an op only depends on ops of earlier phases or
    on earlier ops of its own sender in the same phase (nonce order), as the relay guarantees.
    """
    tag = time.time_ns()
    core, tier1, tier2, bank = (orgs[k] for k in ("core", "tier1", "tier2", "bank"))
    phases: list[list[ChainOp]] = [[], [], [], []]
    for i in range(n_items):
        item, h0, h1, h2 = (f"bench-{tag}-{i}-{x}" for x in ("item", "h0", "h1", "h2"))
        phases[0].append(
            ChainOp(
                f"{item}-issue",
                cmd.IssueItem(
                    item_id=item,
                    holding_id=h0,
                    debtor_address=core.chain_address,
                    creditor_address=tier1.chain_address,
                    currency="CNY",
                    face_value=1_000_000_00,
                    issue_day=today - 30,
                    maturity_day=today + 60,
                    asset_type=1,
                    trade_hash=os.urandom(32).hex(),
                    report_hash=os.urandom(32).hex(),
                ),
                tier1.id,
            )
        )
        phases[1].append(ChainOp(f"{item}-split", cmd.Split(h0, h1, 100_000_00), tier1.id))
        phases[1].append(
            ChainOp(
                f"{item}-transfer",
                cmd.Transfer(h0, h2, tier2.chain_address, 300_000_00),
                tier1.id,
            )
        )
        phases[2].append(
            ChainOp(
                f"{item}-pledge",
                cmd.Pledge(h2, bank.chain_address, 270_000_00, 450, today - 20),
                tier2.id,
            )
        )
        phases[3].append(ChainOp(f"{item}-repay", cmd.Repay(item, 500_000_00, today - 1), core.id))
    return phases  # fmt: skip


def bench_chain_items() -> Iterator[str]:
    """Mixed debt-item chain operations per second (issue, split, transfer, pledge, repay).

    One Python process against the local anvil node: local signing (coincurve), pipelined sends
    through ``apply_many`` as the relay does.
    """
    home = _home()
    with Platform(Settings(home, f"sqlite:///{home}/b.db", None, "bench")) as p:
        p.initialise()
        ledger = p.require_contracts()
        wanted = {"core", "tier1", "tier2", "bank"}
        orgs = {
            m.key: onboard(uow_factory=p.uow_factory, keystore=p.keystore, name=m.name,
                           uscc=m.uscc, roles=m.roles, accounts=[m.account])
            for m in MEMBERS if m.key in wanted
        }  # fmt: skip
        relay.relay(uow_factory=p.uow_factory, ledger=ledger)
        today = int(time.time()) // 86_400
        n_items = int(os.environ.get("FOURFLOW_BENCH_ITEMS", "200"))
        phases = _mixed_item_ops(orgs, n_items, today)
        for org in orgs.values():
            ledger.account(org.id)  # decrypt keys before timing
        start = time.perf_counter()
        for phase in phases:
            ledger.apply_many(phase)
        seconds = time.perf_counter() - start
        ops = sum(len(phase) for phase in phases)
        yield line("chain.ops_per_s.mixed_debt_items", ops / seconds, "tx/s", ops=ops,
                   items=n_items, mix="issue+split+transfer+pledge+repay")  # fmt: skip


def bench_demo() -> Iterator[str]:
    """Wall time of the whole demo (main path) on a fresh home, node already running."""
    home = _home()
    with Platform(Settings(home, f"sqlite:///{home}/b.db", None, "bench")) as p:
        p.initialise()
        ctx = DemoContext(
            uow_factory=p.uow_factory, keystore=p.keystore, ledger=p.require_contracts(),
            clock=p.clock, reader_for=p.reader_for, operator_id=p.operator_id(),
            cold_start=p.cold_start, govern=p.govern,
        )  # fmt: skip
        start = time.perf_counter()
        report = run_demo(ctx, today=p.clock.today())
        seconds = time.perf_counter() - start
        result = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        assert not result.failed
        yield line("demo.main_path_seconds", seconds, "s", block=report.chain["block_number"])


def bench_ubl() -> Iterator[str]:
    """UBL invoices end to end on SQLite and PostgreSQL, one and two processes."""
    yield from documents.bench_ubl_ingest(line)


def bench_rules() -> Iterator[str]:
    """EN 16931 rule validation throughput."""
    yield from documents.bench_en16931(line)


def bench_rule_engine() -> Iterator[str]:
    """The native rule engine beside parse + XSD and the official XSLT; ingest with rules on."""
    yield from rule_engine.bench_rule_engine(line)


def bench_fraud() -> Iterator[str]:
    """The platform-wide fraud scan over 100,000 synthetic trades."""
    yield from fraud.bench_fraud_scan(line)


def bench_risk() -> Iterator[str]:
    """Batch scoring (scorecard, LightGBM) and single-decision latency."""
    yield from risk.bench_risk(line)


BENCHMARKS: list[tuple[str, Callable[[], Iterator[str]]]] = [
    ("routing", bench_routing),
    ("verification", bench_verification),
    ("ingest", bench_ingest),
    ("chain", bench_chain),
    ("chain_items", bench_chain_items),
    ("demo", bench_demo),
    ("ubl", bench_ubl),
    ("rules", bench_rules),
    ("rule_engine", bench_rule_engine),
    ("fraud", bench_fraud),
    ("risk", bench_risk),
    ("consortium", consortium.bench_consortium),
    ("api", lambda: api.bench_api(line)),
    ("relay", lambda: relay_bench.bench_relay(line)),
    ("web_pages", lambda: web_pages.bench_web_pages(line)),
]
