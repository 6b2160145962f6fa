"""`fourflow ingest` and `fourflow validate` on real public documents, as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from fourflow.adapters.documents.standards import standards_dir
from tests.integration.conftest import Run

pytestmark = pytest.mark.chain

SAMPLES = {
    "invoice.xml": ("en16931", "ubl-examples", "ubl-tc434-example1.xml"),
    "cii.xml": ("en16931", "cii-examples", "CII_example1.xml"),
    "camt054.xml": ("iso20022", "samples-genkgo", "camt054.v4.xml"),
    "event.jsonld": ("epcis", "json", "Example_9.6.2-ObjectEvent.jsonld"),
}


def _samples(folder: Path) -> Path:
    folder.mkdir()
    for name, parts in SAMPLES.items():
        source = standards_dir().joinpath(*parts)
        if not source.exists():
            pytest.fail(f"public sample {source} is missing")
        shutil.copy(source, folder / name)
    (folder / "hostile.xml").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    )
    return folder


def test_ingest_a_folder_of_standard_documents(run: Run, tmp_path: Path) -> None:
    code, _, _ = run("init", "--demo")
    assert code == 0
    code, _, _ = run("org", "add", "--name", "Submitter", "--uscc", "91110000600037341L",
                     "--role", "supplier")  # fmt: skip
    assert code == 0
    folder = _samples(tmp_path / "in")
    code, out, _ = run("ingest", str(folder), "--as", "91110000600037341L", "--json")
    assert code == 1  # one file was refused
    rows = [json.loads(line) for line in out.splitlines()]
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_path.setdefault(Path(row["path"]).name, []).append(row)
    (hostile,) = by_path["hostile.xml"]
    assert hostile["status"] == "rejected" and hostile["errors"][0]["code"] == "DTD_FORBIDDEN"
    (invoice,) = by_path["invoice.xml"]
    assert invoice["status"] == "accepted" and invoice["format"] == "ubl-2.1"
    assert invoice["kind"] == "invoice" and invoice["number"] == "12115118"
    assert invoice["currency"] == "EUR" and invoice["total"] == "250.33"
    assert invoice["fingerprint"].startswith("sha256:") and invoice["business_key"]
    assert by_path["cii.xml"][0]["format"].startswith("cii")
    assert {r["kind"] for r in by_path["camt054.xml"]} == {"payment"}
    assert by_path["event.jsonld"][0]["kind"] in {"transport_event", "warehouse_receipt"}
    assert set(rows[0]) == {
        "path", "status", "format", "kind", "number", "issue_date", "seller", "buyer",
        "currency", "total", "document_id", "fingerprint", "business_key", "errors", "findings",
        "trade", "trade_status", "waits",
    }  # fmt: skip

    code, out, _ = run(
        "ingest", str(folder / "invoice.xml"), "--as", "91110000600037341L", "--json"
    )
    assert code == 0 and json.loads(out)["status"] == "duplicate"

    code, out, _ = run("prove", invoice["document_id"])
    assert code == 0
    (tmp_path / "proof.json").write_text(out)
    code, out, _ = run("verify-proof", str(tmp_path / "proof.json"), str(folder / "invoice.xml"),
                       "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["ok"] is True


def test_validate_lists_failed_rules_and_stores_nothing(run: Run, tmp_path: Path) -> None:
    good = standards_dir().joinpath(*SAMPLES["invoice.xml"]).read_bytes()
    bad = good.replace(
        b'<cbc:PayableAmount currencyID="EUR">250.33',
        b'<cbc:PayableAmount currencyID="EUR">999.99',
        1,
    )
    assert bad != good
    (tmp_path / "good.xml").write_bytes(good)
    (tmp_path / "bad.xml").write_bytes(bad)
    code, out, _ = run("validate", str(tmp_path / "good.xml"), "--json")
    assert code == 0 and json.loads(out)["valid"] is True
    code, out, _ = run("validate", str(tmp_path / "bad.xml"), "--json")
    row = json.loads(out)
    assert code == 1 and row["valid"] is False
    assert any(i["rule"].startswith("BR-CO") and i["flag"] == "fatal" for i in row["issues"])
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").glob("*.db"))
