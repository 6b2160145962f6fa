"""Ingest's reading threads: kept from one call to the next, warmed one by one."""

from __future__ import annotations

import threading

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
