"""The simulator's output directory: documents, parties, labels, truth and the manifest.

``DirectorySink`` serialises each record as it arrives and appends labels and truth rows to
their JSON Lines files, so memory stays bounded however many documents are written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from fourflow.adapters.documents.writers.camt import camt054_xml
from fourflow.adapters.documents.writers.epcis import event_json
from fourflow.adapters.documents.writers.native import invoice_json
from fourflow.adapters.documents.writers.ubl import (
    despatch_xml,
    invoice_xml,
    order_xml,
    receipt_xml,
)
from fourflow.domain.fraud import FraudLabel
from fourflow.domain.issued import (
    Despatch,
    Event,
    Invoice,
    Order,
    Party,
    Payment,
    Receipt,
    Record,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def serialise(record: Record, *, native: bool = False) -> tuple[bytes, str, str, dt.date]:
    """The bytes of a record, its file extension, file stem and own date."""
    match record:
        case Order():
            return order_xml(record), "xml", record.number, record.issue_date
        case Despatch():
            return despatch_xml(record), "xml", record.number, record.issue_date
        case Receipt():
            return receipt_xml(record), "xml", record.number, record.issue_date
        case Invoice() if native:
            return invoice_json(record), "json", record.number, record.issue_date
        case Invoice():
            return invoice_xml(record), "xml", record.number, record.issue_date
        case Payment():
            return camt054_xml(record), "xml", record.number, record.booking_date
        case Event():
            stem = record.event_id.rsplit(":", 1)[-1]
            return event_json(record), "jsonld", f"EV-{stem}", record.event_time.date()


def party_json(party: Party) -> dict[str, Any]:
    """A party as ``parties.json`` lists it."""
    row: dict[str, Any] = {
        "id": party.id,
        "name": party.name,
        "uscc": party.uscc,
        "roles": list(party.roles),
        "accounts": list(party.accounts),
        "gln": party.gln,
        "tier": party.tier,
        "bank_bic": party.bank_bic,
        "profile": {
            "address": party.address,
            "legal_representative": party.legal_representative,
            "phone": party.phone,
            "industry": party.industry,
        },
    }
    if party.shell_of:
        row["shell_of"] = party.shell_of
    return row


def label_json(label: FraudLabel) -> dict[str, Any]:
    """A label as one line of ``labels.jsonl``."""
    return {"fraud": label.fraud.value, "seller_uscc": label.seller_uscc,
            "invoice_numbers": list(label.invoice_numbers), "note": label.note}  # fmt: skip


class DirectorySink:
    """Writes the simulation into ``out`` (docs/simulator.md, "Output layout")."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.docs = out / "documents"
        self.docs.mkdir(parents=True, exist_ok=True)
        self._dirs: set[Path] = set()
        self._labels: IO[str] = (out / "labels.jsonl").open("w", encoding="utf-8", newline="\n")
        self._truth: IO[str] = (out / "truth.jsonl").open("w", encoding="utf-8", newline="\n")
        self._senders: IO[str] = (out / "senders.jsonl").open("w", encoding="utf-8", newline="\n")
        self.written = 0

    def __enter__(self) -> DirectorySink:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the JSON Lines files."""
        self._labels.close()
        self._senders.close()
        self._truth.close()

    def parties(self, parties: Sequence[Party]) -> None:
        """Write ``parties.json``."""
        rows = [party_json(p) for p in parties]
        text = json.dumps(rows, ensure_ascii=False, indent=1)
        (self.out / "parties.json").write_text(text + "\n", encoding="utf-8")

    def document(self, record: Record, *, filed_on: dt.date | None = None, copy: int = 0,
                 native: bool = False, sender: str = "") -> None:  # fmt: skip
        """Write one document file into the folder of its date (or ``filed_on``), and who
        submits it (a line of ``senders.jsonl``: the file's path and the sender's USCC)."""
        raw, ext, stem, day = serialise(record, native=native)
        day = filed_on or day
        folder = self.docs / f"{day:%Y-%m}" / f"{day:%d}"
        if folder not in self._dirs:
            folder.mkdir(parents=True, exist_ok=True)
            self._dirs.add(folder)
        name = _UNSAFE.sub("_", stem) + (f".dup{copy}" if copy else "") + f".{ext}"
        (folder / name).write_bytes(raw)
        self.written += 1
        if sender:
            path = (folder / name).relative_to(self.out).as_posix()
            self._senders.write(json.dumps({"file": path, "sender": sender}) + "\n")

    def label(self, label: FraudLabel) -> None:
        """Append one label line."""
        self._labels.write(json.dumps(label_json(label), ensure_ascii=False) + "\n")

    def truth(self, row: dict[str, Any]) -> None:
        """Append one truth line."""
        self._truth.write(json.dumps(row, ensure_ascii=False) + "\n")

    def manifest(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json``."""
        text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
        (self.out / "manifest.json").write_text(text + "\n", encoding="utf-8")
