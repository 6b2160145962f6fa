"""Ingest's reading threads: kept from one call to the next, warmed one by one."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.services import ingest
from fourflow.services.ingest import SubmittedFile
from fourflow.services.reading import ParsedDocument
from tests.fakes import FakeUnitOfWorkFactory, FixedClock


class _Recording:
    """A reader that refuses everything and notes the thread each read ran on."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def read(self, raw: bytes, *, source: str) -> list[ParsedDocument]:
        with self._lock:
            self.threads.append(threading.current_thread())
        raise DocumentRejectedError([Problem("NOT_XML", f"{source}: not a document")])


def test_calls_share_the_reading_threads_and_refuse_each_file() -> None:
    uow = FakeUnitOfWorkFactory()
    reader = _Recording()
    for call in range(4):
        outcomes = ingest.ingest_files(
            uow_factory=uow, reader=reader, clock=FixedClock(uow.clock.day),
            files=[SubmittedFile(f"f{call}-{i}.xml", b"junk") for i in range(3)],
            submitter_id="org", read_threads=2,
        )  # fmt: skip
        assert [o.status for o in outcomes] == ["rejected"] * 3
        assert [o.source for o in outcomes] == [f"f{call}-{i}.xml" for i in range(3)]
    # 12 reads over 4 calls on at most the 2 reading threads: none started per call
    assert len(reader.threads) == 12
    assert len({id(t) for t in reader.threads}) <= 2
    assert threading.current_thread() not in reader.threads
    assert uow.committed.documents == {}
    assert uow.committed.outbox == {}


def test_warm_readers_reads_once_on_each_thread() -> None:
    reader = _Recording()
    with pytest.raises(DocumentRejectedError):  # a refused warm-up read says so
        ingest.warm_readers(reader, b"junk", read_threads=2, timeout=30)
    assert len(reader.threads) == 2
    assert len({id(t) for t in reader.threads}) == 2


def _read_of(wait_for: dict[str, threading.Event]):  # type: ignore[no-untyped-def]
    """A read that returns the file as read, waiting (up to 60 s) first when told to."""

    def read(files: Sequence[SubmittedFile]) -> list[ingest._Read]:
        for file in files:
            event = wait_for.get(file.source)
            if event is not None:
                assert event.wait(60), f"{file.source} was never released"
        return [ingest._Read(file, []) for file in files]

    return read


def test_read_chunks_are_full_until_every_file_is_handed_out() -> None:
    files = [SubmittedFile(f"f{i}.xml", b"") for i in range(40)]
    pool = ingest._reading_pool(2)
    chunks = list(ingest._read_chunks(pool, _read_of({}), files, size=8, window=12, tail=3))
    assert [r.file for chunk in chunks for r in chunk] == files  # every file, in order
    assert all(len(c) <= 8 for c in chunks)
    # the window (12) holds the last 12 files: the 28 before them go in full chunks
    assert [len(c) for c in chunks[:3]] == [8, 8, 8]
    assert all(len(c) >= 3 for c in chunks[:-1])


def test_read_chunks_store_what_is_read_while_the_last_file_is_read() -> None:
    """At the end, the files read are handed over while a later one is still being read: the
    transaction left once the last file is read holds only what came after."""
    files = [SubmittedFile(f"f{i}.xml", b"") for i in range(10)]
    last = threading.Event()
    pool = ingest._reading_pool(2)
    chunks = ingest._read_chunks(
        pool, _read_of({"f9.xml": last}), files, size=256, window=20, tail=2
    )
    try:
        before: list[SubmittedFile] = []
        while len(before) < 9:
            chunk = next(chunks)
            assert not last.is_set()
            assert len(chunk) >= 2
            before.extend(r.file for r in chunk)
        assert before == files[:9]
    finally:
        last.set()
    assert [[r.file for r in c] for c in chunks] == [files[9:]]
