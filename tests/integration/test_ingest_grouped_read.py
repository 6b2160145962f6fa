"""Ingest reads a group of files stage by stage; each file still stands or falls alone.

``DetectingReader.read_many`` parses every UBL file of a group, then validates every tree,
then runs the business rules on each, then maps and canonicalises them. The answers must be
exactly those of ``read`` one file after the other: the same documents (ids drawn in file
order), the same refusals with the same problems (rule id, text, path, the file's own name),
for a group that mixes good invoices with files refused at every stage (not XML, a DTD, an
unknown root, the XSD, a fatal rule, a bad value, a future date) and other formats (CII, JSON)
in between. Through ingest, the good files of such a group are stored and the bad ones
reported under their own names with nothing stored for them (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.standards import standards_dir
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.errors import FourFlowError
from fourflow.domain.parties import Role
from fourflow.services import ingest
from fourflow.services.ingest import SubmittedFile
from fourflow.services.onboarding import onboard
from fourflow.services.reading import GroupReader, ParsedDocument
from tests.fakes import FixedClock
from tests.store.fixtures import store_url  # noqa: F401  (fixture)

TODAY = dt.date(2026, 12, 6)
DATA = standards_dir() / "en16931"
SAMPLE_ID = "<cbc:ID>12115118</cbc:ID>"


def _sample(number: str) -> str:
    text = (DATA / "ubl-examples" / "ubl-tc434-example1.xml").read_text(encoding="utf-8")
    assert SAMPLE_ID in text
    return text.replace(SAMPLE_ID, f"<cbc:ID>{number}</cbc:ID>", 1)


def _sub(pattern: str, repl: str, text: str) -> str:
    out, n = re.subn(pattern, repl, text, count=1)
    assert n == 1, pattern
    return out


# Each bad file, and the code its refusal must carry.
BAD: dict[str, tuple[Callable[[], bytes], str]] = {
    "not-xml.xml": (lambda: _sample("X1").encode()[:-40], "NOT_XML"),
    "dtd.xml": (
        lambda: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + _sample("X2").encode(),
        "DTD_FORBIDDEN",
    ),
    "xsd.xml": (
        lambda: _sub(
            r"<cbc:IssueDate>", "<cbc:Unknown>1</cbc:Unknown><cbc:IssueDate>", _sample("X3")
        ).encode(),
        "SCHEMA",
    ),
    "br-co-16.xml": (
        lambda: _sub(r"(<cbc:PayableAmount\b[^>]*>)[^<]*<", r"\g<1>1.00<", _sample("X4")).encode(),
        "BR-CO-16",
    ),
    "bad-date.xml": (
        lambda: _sub(
            r"<cbc:IssueDate>[^<]*<", "<cbc:IssueDate>2026-02-30<", _sample("X5")
        ).encode(),
        "SCHEMA",
    ),
    "unknown-root.xml": (
        lambda: b'<?xml version="1.0"?><Thing xmlns="urn:example:thing"/>',
        "UNKNOWN_FORMAT",
    ),
    "ahead.xml": (
        lambda: _sub(
            r"<cbc:DueDate>[^<]*<",
            "<cbc:DueDate>2031-12-06<",
            _sub(r"<cbc:IssueDate>[^<]*<", "<cbc:IssueDate>2031-12-06<", _sample("X6")),
        ).encode(),
        "DATE-IN-FUTURE",
    ),
}


def _files() -> list[SubmittedFile]:
    """Good UBL invoices with every bad file and two other formats among them."""
    files = [SubmittedFile(f"good-{i}.xml", _sample(f"G{i}").encode()) for i in range(24)]
    for n, (name, (make, _code)) in enumerate(BAD.items()):
        files.insert(1 + 3 * n, SubmittedFile(name, make()))
    cii = DATA / "cii-examples" / "CII_business_example_01.xml"
    files.insert(2, SubmittedFile("cii.xml", cii.read_bytes()))
    files.insert(4, SubmittedFile("native.json", b'{"kind": "invoice"}'))  # refused: schema
    return files


def _counter() -> Callable[[], str]:
    numbers = itertools.count(1)
    lock = threading.Lock()

    def new_id() -> str:
        with lock:
            return f"doc-{next(numbers)}"

    return new_id


def _seen(answer: list[ParsedDocument] | FourFlowError) -> object:
    if isinstance(answer, FourFlowError):
        problems = getattr(answer, "problems", [])
        return (type(answer).__name__, str(answer),
                [(p.code, p.message, p.location) for p in problems])  # fmt: skip
    return [(repr(p.document), p.canonical, p.raw, p.media_type, p.findings) for p in answer]


def test_read_many_answers_what_read_answers_file_by_file(tmp_path: Path) -> None:
    with Platform(Settings(tmp_path, f"sqlite:///{tmp_path}/r.db", None, "pw")) as p:
        rules = p.rules
    files = _files()
    one = DetectingReader(submitter="org", rules=rules, new_id=_counter())
    many = DetectingReader(submitter="org", rules=rules, new_id=_counter())
    assert isinstance(many, GroupReader)
    expected = []
    for file in files:
        try:
            expected.append(_seen(one.read(file.raw, source=file.source)))
        except FourFlowError as exc:
            expected.append(_seen(exc))
    answers = many.read_many([(f.raw, f.source) for f in files])
    assert [_seen(a) for a in answers] == expected
    # each refusal names its own file; the future date is ingest's check, not the reader's
    for file, answer in zip(files, answers, strict=True):
        if file.source in BAD and file.source != "ahead.xml":
            assert isinstance(answer, FourFlowError), file.source
            assert file.source in str(answer), answer
            codes = {pr.code for pr in getattr(answer, "problems", [])}
            assert BAD[file.source][1] in codes, (file.source, codes)
        elif file.source.startswith("good-") or file.source in ("cii.xml", "ahead.xml"):
            assert not isinstance(answer, FourFlowError), (file.source, answer)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_group_keeps_its_good_files_and_refuses_each_bad_one(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    threads: int,
) -> None:
    files = _files()
    p = Platform(Settings(tmp_path / "home", store_url, None, "pw"), clock=FixedClock(TODAY))
    with p:
        submitter = onboard(uow_factory=p.uow_factory, keystore=p.keystore, name="Groups",
                            uscc="91110000600037341L", roles=[Role.SUPPLIER], admit=False).id  # fmt: skip
        outcomes = ingest.ingest_files(
            uow_factory=p.uow_factory, reader=p.reader_for(submitter), clock=p.clock,
            files=files, submitter_id=submitter, read_threads=threads, read_group=16,
            batch_size=10,
        )  # fmt: skip
        assert [o.source for o in outcomes] == [f.source for f in files]  # file order
        by_source = {o.source: o for o in outcomes}
        for name, (_make, code) in BAD.items():
            outcome = by_source[name]
            assert outcome.status == "rejected" and outcome.document_id is None, outcome
            assert code in {e["code"] for e in outcome.errors}, (name, outcome.errors)
        [rule] = [e for e in by_source["br-co-16.xml"].errors if e["code"] == "BR-CO-16"]
        assert "[BR-CO-16]" in rule["message"] and "br-co-16.xml" in rule["message"]
        assert rule["location"].startswith("/"), rule
        accepted = [o for o in outcomes if o.status == "accepted"]
        assert {o.source for o in accepted} == {f"good-{i}.xml" for i in range(24)} | {"cii.xml"}
        assert by_source["native.json"].status == "rejected"
        with p.uow_factory() as uow:
            assert uow.documents.count() == len(accepted)  # nothing for a refused file
            for o in accepted:
                assert o.document_id is not None and o.parsed is not None
                stored = uow.documents.get(o.document_id)
                assert stored is not None
                assert stored.source == o.source  # each row carries its own file's name
                assert stored.raw == files[[f.source for f in files].index(o.source)].raw
                assert stored.document.number == o.parsed.document.number


def test_read_chunks_hand_out_groups_in_order() -> None:
    files = [SubmittedFile(f"f{i}.xml", b"") for i in range(45)]
    groups: list[list[str]] = []
    lock = threading.Lock()

    def read(group: Sequence[SubmittedFile]) -> list[ingest._Read]:
        with lock:
            groups.append([f.source for f in group])
        return [ingest._Read(file, []) for file in group]

    pool = ingest._reading_pool(2)
    chunks = list(ingest._read_chunks(pool, read, files, size=10, window=30, tail=3, group=4))
    assert [r.file for chunk in chunks for r in chunk] == files  # every file, in order
    assert all(len(c) <= 10 for c in chunks)
    assert all(len(c) >= 3 for c in chunks[:-1])
    assert sorted(len(g) for g in groups) == [1] + [4] * 11  # 45 = 11 groups of 4 and 1
    assert sorted(s for g in groups for s in g) == sorted(f.source for f in files)
