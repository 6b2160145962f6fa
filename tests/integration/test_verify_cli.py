"""`fourflow verify` as a user runs it: ingest a trade, verify it, the report anchored once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from typer.testing import CliRunner

from fourflow.bootstrap import open_platform
from fourflow.domain.scenarios import Scenario
from fourflow.entrypoints.cli.main import app
from fourflow.services.commands import RegisterFingerprints
from fourflow.services.demo import MEMBERS, trade_bundle
from fourflow.services.ports import OpStatus

pytestmark = pytest.mark.chain

M = {m.key: m for m in MEMBERS}
ROW_KEYS = {
    "trade_id", "order_numbers", "invoice_numbers", "seller", "buyer", "status", "score",
    "findings", "fraud_signals", "report_hash", "payment_state",
}  # fmt: skip


class Run(Protocol):
    """This module's ``run``: ``fourflow`` with these arguments, answering (code, stdout + stderr)."""

    def __call__(self, *args: str) -> tuple[int, str]: ...


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    for name in ("FOURFLOW_DATABASE_URL", "FOURFLOW_CHAIN_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOURFLOW_KEYSTORE_PASSWORD", "cli-test")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout + result.stderr

    yield invoke
    invoke("chain", "node", "stop")


def _report_ops() -> list[tuple[str, OpStatus, list[str]]]:
    with open_platform() as p, p.uow_factory() as uow:
        return [
            (o.op_id, o.status, list(o.command.fingerprints))
            for o in uow.outbox.list()
            if isinstance(o.command, RegisterFingerprints)
            and (o.subject_id or "").startswith("report")
        ]


def test_verify_a_trade_and_anchor_its_report_once(run: Run, tmp_path: Path) -> None:
    assert run("init", "--demo")[0] == 0
    for key, role in (
        ("tier1", "supplier"),
        ("core", "core_enterprise"),
        ("logistics", "logistics"),
    ):
        m = M[key]
        code, out = run("org", "add", "--name", m.name, "--uscc", m.uscc, "--role", role,
                        "--account", m.account)  # fmt: skip
        assert code == 0, out
    today = dt.date.today()
    good = trade_bundle(
        prefix="V1", seller=M["tier1"], buyer=M["core"], carrier=M["logistics"],
        lines=[("GEAR-1", "10", "EA", "100.00")], received_factor="1",
        day0=today - dt.timedelta(days=30), terms_days=90, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    inflated = trade_bundle(
        prefix="V2", seller=M["tier1"], buyer=M["core"], carrier=M["logistics"],
        lines=[("GEAR-2", "10", "EA", "100.00")], received_factor="0.5",
        day0=today - dt.timedelta(days=20), terms_days=90, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    # each document submitted by the party whose evidence it is (docs/verification.md,
    # "Provenance"): the buyer its order and receipt advice, the carrier its events
    issuer = {"order": "core", "receipt_advice": "core", "transport_event": "logistics"}
    parts: dict[str, list[Path]] = {}
    for name, raw in (("good", good), ("inflated", inflated)):
        bundle = json.loads(raw)
        by: dict[str, list[object]] = {}
        for d in bundle["documents"]:
            by.setdefault(issuer.get(d["kind"], "tier1"), []).append(d)
        for key, docs in by.items():
            path = tmp_path / f"{name}-{key}.json"
            path.write_text(json.dumps({**bundle, "documents": docs}), encoding="utf-8")
            parts.setdefault(key, []).append(path)
    for key, paths in parts.items():
        code, out = run("ingest", *map(str, paths), "--as", M[key].uscc)
        assert code == 0, out

    code, out = run("verify", "--all", "--json", "--as-of", today.isoformat())
    assert code == 0, out
    rows = {r["invoice_numbers"][0]: r for r in map(json.loads, out.splitlines())}
    assert set(rows) == {"INV-V1", "INV-V2"}
    ok, bad = rows["INV-V1"], rows["INV-V2"]
    assert set(ok) == ROW_KEYS
    assert ok["status"] == "verified" and ok["score"] == 100
    assert ok["payment_state"] == "open"  # owed, not yet due (issue 15: beside the status)
    assert ok["order_numbers"] == ["PO-V1"]
    assert (ok["seller"], ok["buyer"]) == (M["tier1"].uscc, M["core"].uscc)
    assert [f["code"] for f in ok["findings"]] == ["PAYMENT_NOT_YET_DUE"]
    assert isinstance(ok["fraud_signals"], list)
    assert bad["status"] == "failed"
    qty = next(f for f in bad["findings"] if f["code"] == "QTY_EXCEEDS")
    assert qty["severity"] == "error" and qty["documents"]

    ops = _report_ops()
    assert len(ops) == 1 and ops[0][1] is OpStatus.DONE
    assert sorted(ops[0][2]) == sorted(f"sha256:{r['report_hash']}" for r in rows.values())

    # The same reports again: nothing new to register; one trade alone, by id, in words.
    code, out = run("verify", ok["trade_id"], "--as-of", today.isoformat())
    assert code == 0 and "verified" in out and "PO-V1" in out
    assert len(_report_ops()) == 1
    assert run("audit")[0] == 0


def test_verify_needs_a_trade_or_all(run: Run) -> None:
    code, out = run("verify")
    assert code == 2 and "TRADE_ID or --all" in out
