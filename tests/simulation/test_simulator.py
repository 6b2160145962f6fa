"""The simulator: reproducible, readable by FourFlow, valid identifiers, labelled frauds."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fourflow.adapters.documents.registry import DetectingReader, detect
from fourflow.domain.documents import Document, DocumentKind, business_key_text
from fourflow.domain.fraud import FraudType
from fourflow.domain.identifiers import validate_gln, validate_uscc
from fourflow.entrypoints.cli import simulate_cmd
from fourflow.entrypoints.cli.simulate_cmd import run_simulation
from fourflow.simulation.generator import SimulationParams


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    run_simulation(SimulationParams(seed=7, trades=1200, fraud_rate=0.1), out, show_progress=False)
    return out


def _read(path: Path) -> list[Document]:
    return [p.document for p in DetectingReader().read(path.read_bytes(), source=str(path))]


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    params = SimulationParams(seed=3, trades=150)
    run_simulation(params, tmp_path / "a", show_progress=False)
    run_simulation(params, tmp_path / "b", show_progress=False)
    run_simulation(SimulationParams(seed=4, trades=150), tmp_path / "c", show_progress=False)
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")
    assert _tree_hash(tmp_path / "a") != _tree_hash(tmp_path / "c")


def test_sampled_documents_are_read_and_schema_valid(run: Path) -> None:
    files = sorted(p for p in (run / "documents").rglob("*") if p.is_file())
    by_prefix: dict[str, list[Path]] = {}
    for path in files:
        by_prefix.setdefault(path.name.split("-")[0], []).append(path)
    rng = random.Random(1)
    sample = [p for group in by_prefix.values() for p in rng.sample(group, min(50, len(group)))]
    kinds: Counter[str] = Counter()
    for path in sample:
        raw = path.read_bytes()
        spec = detect(raw)
        assert spec is not None, path
        if spec.validate is not None:
            assert spec.validate(raw, source=str(path), rules=False) == [], path
        for doc in _read(path):
            kinds[doc.kind.value] += 1
    assert set(kinds) >= {"order", "despatch_advice", "receipt_advice", "invoice", "credit_note",
                          "payment", "transport_event", "warehouse_receipt"}  # fmt: skip


def test_invoices_pass_en16931_rules(run: Path) -> None:
    invoices = sorted((run / "documents").rglob("INV-*.xml"))[:4]
    notes = sorted((run / "documents").rglob("CN-*.xml"))[:2]
    for path in invoices + notes:
        raw = path.read_bytes()
        spec = detect(raw)
        assert spec is not None and spec.validate is not None
        fatal = [i for i in spec.validate(raw, source=str(path), rules=True) if i.flag == "fatal"]
        assert fatal == [], (path, fatal)


def test_parties_have_valid_unique_identifiers(run: Path) -> None:
    parties = json.loads((run / "parties.json").read_text(encoding="utf-8"))
    usccs = [validate_uscc(p["uscc"]) for p in parties]
    glns = [validate_gln(p["gln"]) for p in parties]
    assert len(set(usccs)) == len(usccs) and len(set(glns)) == len(glns)
    roles = Counter(r for p in parties for r in p["roles"])
    assert {"core_enterprise", "supplier", "distributor", "logistics", "warehouse", "bank"} <= set(
        roles
    )
    clean = [p for p in parties if "shell_of" not in p]
    for fact in ("address", "legal_representative", "phone"):
        values = [p["profile"][fact] for p in clean]
        assert len(set(values)) == len(values), fact


def test_labels_match_the_fraud_rate_and_every_type(run: Path) -> None:
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    labels = _jsonl(run / "labels.jsonl")
    truth = _jsonl(run / "truth.jsonl")
    affected = sum(1 for row in truth if row["frauds"])
    assert affected == len(labels) == sum(manifest["labels"].values())
    assert 0.08 <= affected / len(truth) <= 0.12
    assert {lab["fraud"] for lab in labels} == {f.value for f in FraudType}
    invoices = {n for row in truth for n in row["invoices"]}
    near = {
        n
        for lab in labels
        if lab["fraud"] == "NEAR_DUPLICATE_INVOICE"
        for n in lab["invoice_numbers"]
    }
    assert all(n for n in near) and not near & invoices  # copies have no trade behind them
    others = [lab for lab in labels if lab["fraud"] != "NEAR_DUPLICATE_INVOICE"]
    assert all(set(lab["invoice_numbers"]) <= invoices for lab in others)


def _documents(run: Path, pattern: str) -> dict[str, list[Document]]:
    out: dict[str, list[Document]] = {}
    for path in sorted((run / "documents").rglob(pattern)):
        for doc in _read(path):
            out.setdefault(doc.number, []).append(doc)
    return out


def test_duplicates_share_the_business_key(run: Path) -> None:
    labels = [lab for lab in _jsonl(run / "labels.jsonl") if lab["fraud"] == "DUPLICATE_INVOICE"]
    invoices = _documents(run, "INV-*")
    for lab in labels:
        (number,) = lab["invoice_numbers"]
        copies = invoices[number]
        assert len(copies) == 2
        assert business_key_text(copies[0]) == business_key_text(copies[1])


def test_payments_of_third_party_and_round_trip_cases(run: Path) -> None:
    labels = _jsonl(run / "labels.jsonl")
    payments = [d for docs in _documents(run, "PAY-*").values() for d in docs]
    by_invoice: dict[str, list[Document]] = {}
    for pay in payments:
        for ref in pay.refs_to(DocumentKind.INVOICE):
            by_invoice.setdefault(ref, []).append(pay)
    truth = {n: row for row in _jsonl(run / "truth.jsonl") for n in row["invoices"]}
    parties = {p["uscc"]: p for p in json.loads((run / "parties.json").read_text(encoding="utf-8"))}
    for lab in labels:
        number = lab["invoice_numbers"][0]
        if lab["fraud"] == "THIRD_PARTY_PAYER":
            (pay,) = by_invoice[number]
            assert pay.buyer.account not in parties[truth[number]["buyer"]]["accounts"]
        if lab["fraud"] == "ROUND_TRIP_PAYMENT":
            row = truth[number]
            back = [p for p in payments if p.number in row["payments"] and not p.references]
            assert len(back) == 1 and back[0].seller.account in parties[row["buyer"]]["accounts"]
            assert back[0].total is not None
            assert back[0].total.amount >= Decimal(row["paid_total"]) * Decimal("0.9")


def test_cli_writes_a_readable_directory(tmp_path: Path) -> None:
    app = typer.Typer()
    simulate_cmd.register(app)
    app.command("noop")(lambda: None)  # keep "simulate" a subcommand
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["simulate", "--out", str(out), "--seed", "5",
                                      "--trades", "60", "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"documents", "parties.json", "labels.jsonl",
                                               "truth.jsonl", "manifest.json",
                                               "senders.jsonl"}  # fmt: skip
    files = [p for p in (out / "documents").rglob("*") if p.is_file()]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents_total"] == len(files)
    assert sum(len(_read(p)) for p in files) == len(files)
    # every file has one sender, a member of the network
    senders = [json.loads(line) for line in (out / "senders.jsonl").read_text("utf-8").splitlines()]
    assert sorted(r["file"] for r in senders) == sorted(
        f.relative_to(out).as_posix() for f in files
    )
    usccs = {p["uscc"] for p in json.loads((out / "parties.json").read_text("utf-8"))}
    assert {r["sender"] for r in senders} <= usccs


def test_each_document_is_sent_by_its_issuer_and_a_self_asserted_trade_by_its_seller(
    tmp_path: Path,
) -> None:
    run_simulation(SimulationParams(seed=8, trades=200, fraud_rate=0.2), tmp_path,
                   show_progress=False)  # fmt: skip
    parties = {p["uscc"]: p for p in json.loads((tmp_path / "parties.json").read_text("utf-8"))}
    senders = {
        r["file"]: r["sender"]
        for r in map(json.loads, (tmp_path / "senders.jsonl").read_text("utf-8").splitlines())
    }
    roles = {f: parties[u]["roles"][0] for f, u in senders.items()}
    labels = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text("utf-8").splitlines()]
    selfish = [lb for lb in labels if lb["fraud"] == "SELF_ASSERTED_EVIDENCE"]
    assert selfish
    truth = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text("utf-8").splitlines()]
    selfish_rows = [t for t in truth if t["frauds"] == ["SELF_ASSERTED_EVIDENCE"]]
    # events come from a carrier or warehouse, payment notifications from a bank, except in
    # the self-asserted trades, whose seller sends them
    events = [f for f in senders if "/EV-" in f]
    camt = [f for f in senders if f.endswith(".xml") and b"camt.054" in (tmp_path / f).read_bytes()]
    assert events and camt
    assert sum(roles[f] not in ("logistics", "warehouse") for f in events) == sum(
        len(t["events"]) for t in selfish_rows
    )
    assert sum(roles[f] != "bank" for f in camt) == sum(len(t["payments"]) for t in selfish_rows)
    for label in selfish:
        row = next(t for t in truth if set(label["invoice_numbers"]) <= set(t["invoices"]))
        assert row["frauds"] == ["SELF_ASSERTED_EVIDENCE"]
        mine = [f for f in senders if any(n.replace("/", "_") in f for n in
                                          [row["order"], *row["receipts"]])]  # fmt: skip
        assert mine and {senders[f] for f in mine} == {row["seller"]}


@pytest.mark.parametrize("scenario", ["medical", "bulk_commodities"])
def test_the_scenario_sets_the_goods_and_the_industries(tmp_path: Path, scenario: str) -> None:
    from fourflow.simulation.network import SCENARIOS

    run_simulation(SimulationParams(seed=5, trades=60, fraud_rate=0.0, scenario=scenario),
                   tmp_path, show_progress=False)  # fmt: skip
    core, supplier, goods = SCENARIOS[scenario]
    parties = json.loads((tmp_path / "parties.json").read_text(encoding="utf-8"))
    industries = {p["profile"]["industry"] for p in parties}
    assert core[1] in industries and supplier[1] in industries
    names = {name for name, _unit, _price in goods}
    invoices = [f.read_text(encoding="utf-8") for f in tmp_path.glob("documents/*/*/INV-*.xml")]
    assert invoices
    assert all(any(name in text for name in names) for text in invoices)
