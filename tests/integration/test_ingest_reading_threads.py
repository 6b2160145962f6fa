"""Ingest on two reading threads stores exactly what one reading thread stores.

The reading threads parse, validate, apply the business rules (the native pass runs without
the GIL, one walk at a time) and fingerprint at the same time while the calling thread stores.
The same files — CEN's UBL examples, copies of one with other numbers, and invoices the rules
refuse — are ingested with one reading thread into a SQLite reference and with two into the
store under test (SQLite, PostgreSQL): every outcome, stored row and finding is the same.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from fourflow.adapters.documents import native_rules
from fourflow.adapters.documents.standards import standards_dir
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.services import ingest
from fourflow.services.ingest import SubmittedFile
from fourflow.services.onboarding import onboard
from tests.fakes import FixedClock
from tests.store.fixtures import sqlite_url, store_url  # noqa: F401  (fixture)

TODAY = dt.date(2026, 12, 6)
EXAMPLES = standards_dir() / "en16931" / "ubl-examples"
SAMPLE_ID = "<cbc:ID>12115118</cbc:ID>"


def _files() -> list[SubmittedFile]:
    files = [SubmittedFile(p.name, p.read_bytes()) for p in sorted(EXAMPLES.iterdir())]
    sample = (EXAMPLES / "ubl-tc434-example1.xml").read_text(encoding="utf-8")
    assert SAMPLE_ID in sample
    for i in range(48):
        text = sample.replace(SAMPLE_ID, f"<cbc:ID>T{i}</cbc:ID>", 1)
        if i % 6 == 5:  # refused: BR-CO-16 (the payable amount is not the totals' sum)
            text, n = re.subn(r"(<cbc:PayableAmount\b[^>]*>)[^<]*<", r"\g<1>1.00<", text)
            assert n == 1
        files.append(SubmittedFile(f"copy-{i}.xml", text.encode("utf-8")))
    return files


def _ingest(url: str, home: Path, threads: int) -> tuple[list[Any], list[Any]]:
    p = Platform(Settings(home, url, None, "pw"), clock=FixedClock(TODAY))
    with p:
        submitter = onboard(uow_factory=p.uow_factory, keystore=p.keystore, name="Threads",
                            uscc="91110000600037341L", roles=[Role.SUPPLIER], admit=False).id  # fmt: skip
        outcomes = ingest.ingest_files(
            uow_factory=p.uow_factory, reader=p.reader_for(submitter), clock=p.clock,
            files=_files(), submitter_id=submitter, read_threads=threads, batch_size=8,
        )  # fmt: skip
        seen = [
            (o.source, o.status, o.fingerprint, o.business_key, o.errors, o.findings)
            for o in outcomes
        ]
        rows = []
        with p.uow_factory() as uow:
            for o in outcomes:
                if o.document_id is None:
                    continue
                stored = uow.documents.get(o.document_id)
                assert stored is not None
                findings = [
                    (f.code, f.flag, f.message, f.location)
                    for f in uow.document_findings.for_document(o.document_id)
                ]
                rows.append((repr(stored.document).replace(o.document_id, "<id>").replace(submitter, "<org>"),
                             stored.fingerprint, stored.business_key, stored.raw,
                             stored.media_type, stored.source, findings))  # fmt: skip
    return seen, rows


def test_two_reading_threads_store_what_one_stores(tmp_path: Path, store_url: str) -> None:  # noqa: F811
    assert native_rules.load() is not None, "the native rule pass is not built (make setup)"
    (tmp_path / "one").mkdir()
    one = _ingest(sqlite_url(tmp_path / "one"), tmp_path / "home-one", threads=1)
    two = _ingest(store_url, tmp_path / "home-two", threads=2)
    statuses = [s[1] for s in one[0]]
    assert statuses.count("accepted") >= 40 and statuses.count("rejected") >= 8, statuses
    assert two[0] == one[0]
    assert two[1] == one[1]
