"""Ingesting documents: parse, verify signatures, fingerprint, store, register; anchor batches.

Files are read outside the database, then stored in batches: one transaction per batch of
files, so ingestion is fast, and every file stands or falls alone — a bad file is reported and
the good ones are kept. Within one file, either every document is stored or none is (a
tabular export may report bad document groups and keep the good ones: the reader says so).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from itertools import islice

from fourflow.domain.documents import Document, DocumentKind, business_key_text
from fourflow.domain.errors import ConflictError, FourFlowError
from fourflow.domain.facts import DocumentFinding
from fourflow.domain.hashing import HashAlgorithm, fingerprint, fingerprint_bytes, merkle_proofs
from fourflow.domain.scenarios import Scenario
from fourflow.services import commands as cmd
from fourflow.services import fraud
from fourflow.services.common import get_org, new_id
from fourflow.services.ports import (
    Batch,
    ChainOp,
    Clock,
    StoredDocument,
    UnitOfWork,
    UnitOfWorkFactory,
)
from fourflow.services.reading import (
    DocumentReader,
    GroupReader,
    ParsedDocument,
    SignatureVerifier,
)

MAX_FINGERPRINTS_PER_OP = 256
FILES_PER_TRANSACTION = 256
#: At the end of a run, files read are stored in chunks of at least this many (``_read_chunks``).
TAIL_FILES_PER_TRANSACTION = 32
READ_THREADS = 2
#: Files a reading thread reads together, stage by stage (``GroupReader.read_many``): each
#: stage's code and data stay in the CPU's caches over the group (0.87 -> 0.79 ms an
#: invoice of reading in one thread, 8 to 16 best; docs/benchmarks.md). It bounds the trees
#: a thread holds at once.
READ_GROUP = 16
#: The lock ``anchor_pending`` holds while it reads and batches the unanchored documents.
ANCHOR_LOCK = "documents.anchor"
#: How far past the day of submission a document may be dated (Settings.date_tolerance_days).
DATE_TOLERANCE = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SubmittedFile:
    """One file handed in for ingestion.

    Attributes:
        source: its path or name (for messages).
        raw: its exact bytes.
        signature: the submitter's detached signature of the bytes, if any.
    """

    source: str
    raw: bytes
    signature: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class DocumentOutcome:
    """What happened to one submitted document.

    Attributes:
        source: the file or name it came from.
        status: ``accepted``, ``duplicate`` or ``rejected``.
        document_id: the stored document's id (the earlier one for a duplicate).
        parsed: the parsed document, unless rejected before parsing.
        fingerprint: its content fingerprint.
        business_key: its business-key fingerprint (invoices and credit notes).
        errors: why it was rejected: ``{code, message, location}``.
        findings: what the business rules and date checks warn about (kept, not refusing):
            ``{code, flag, message, location}``.
    """

    source: str
    status: str
    document_id: str | None = None
    parsed: ParsedDocument | None = None
    fingerprint: str | None = None
    business_key: str | None = None
    errors: tuple[dict[str, str], ...] = field(default=())
    findings: tuple[Mapping[str, str], ...] = field(default=())


@dataclass(slots=True)
class _Read:
    """A file after reading: its documents, or why it was refused.

    ``prints`` holds each parsed document's content fingerprint and business key, taken on
    the reading thread (hashing releases the GIL) once the documents are final.
    """

    file: SubmittedFile
    parsed: list[ParsedDocument]
    errors: tuple[dict[str, str], ...] = ()
    signature: Mapping[str, str] | None = None
    prints: list[tuple[str, str | None]] = field(default_factory=list)


def _fingerprints(
    parsed: Sequence[ParsedDocument], algorithm: HashAlgorithm
) -> list[tuple[str, str | None]]:
    """The content fingerprint and business-key fingerprint of each parsed document."""
    prints: list[tuple[str, str | None]] = []
    for item in parsed:
        key_text = business_key_text(item.document)
        bkey = fingerprint(key_text.encode("utf-8"), algorithm) if key_text else None
        prints.append((fingerprint(item.canonical, algorithm), bkey))
    return prints


def _errors_of(exc: Exception) -> tuple[dict[str, str], ...]:
    problems = getattr(exc, "problems", None)
    if problems:
        return tuple(
            {"code": p.code, "message": p.message, "location": p.location} for p in problems
        )
    return ({"code": type(exc).__name__, "message": str(exc), "location": ""},)


def _read_group(
    files: Sequence[SubmittedFile],
    reader: DocumentReader,
    verifier: SignatureVerifier | None,
    uow_factory: UnitOfWorkFactory,
    submitter_id: str,
) -> list[_Read]:
    """Each file read, in order: a reader that reads a group at once (``GroupReader``) is
    given the files together; any other reads them one after the other. Either way each file
    stands alone: its own documents, or its own errors."""
    if isinstance(reader, GroupReader):
        answers = reader.read_many([(file.raw, file.source) for file in files])
    else:
        answers = [_answer(reader, file) for file in files]
    return [
        _read(file, answer, verifier, uow_factory, submitter_id)
        for file, answer in zip(files, answers, strict=True)
    ]


def _answer(reader: DocumentReader, file: SubmittedFile) -> list[ParsedDocument] | FourFlowError:
    try:
        return reader.read(file.raw, source=file.source)
    except FourFlowError as exc:
        return exc


def _read(
    file: SubmittedFile,
    answer: list[ParsedDocument] | FourFlowError,
    verifier: SignatureVerifier | None,
    uow_factory: UnitOfWorkFactory,
    submitter_id: str,
) -> _Read:
    """A file as read (``answer``: its documents, or why the reader refused it), its
    signature checked."""
    if isinstance(answer, FourFlowError):
        partial = getattr(answer, "partial", None)
        if not partial:
            return _Read(file, [], _errors_of(answer))
        parsed, errors = list(partial), _errors_of(answer)
    else:
        parsed, errors = answer, ()
    signature = None
    if file.signature is not None:
        if verifier is None:
            return _Read(file, [], ({"code": "SIGNATURE", "message": "signatures are not "
                                     "accepted here", "location": ""},))  # fmt: skip
        with uow_factory() as uow:
            org = get_org(uow, submitter_id)
        try:
            signature = verifier(file.signature, file.raw, org)
        except FourFlowError as exc:
            return _Read(file, [], ({"code": "SIGNATURE", "message": str(exc), "location": ""},))
    return _Read(file, parsed, errors, signature)


def _store(
    uow: UnitOfWork,
    reads: Sequence[_Read],
    clock: Clock,
    submitter_id: str,
    algorithm: HashAlgorithm,
) -> list[DocumentOutcome]:
    outcomes: list[DocumentOutcome] = []
    known = uow.documents.known_fingerprints([fp for read in reads for fp, _key in read.prints])
    new: list[StoredDocument] = []
    now = clock.now()
    cited = _cited_documents(uow, reads)
    findings: list[DocumentFinding] = []  # the batch's warnings: one statement for them all
    for read in reads:
        source = read.file.source
        if read.errors:
            outcomes.append(DocumentOutcome(source, "rejected", errors=read.errors))
        for item, (fp, bkey) in zip(read.parsed, read.prints, strict=True):
            if fp in known:
                outcomes.append(DocumentOutcome(source, "duplicate", known[fp], item, fp, bkey))
                continue
            known[fp] = item.document.id
            found = (*item.findings, *_dated_before_references(item, cited))
            findings.extend(
                DocumentFinding(
                    doc_id=item.document.id,
                    code=str(f.get("code", "")),
                    flag=str(f.get("flag", "warning")),
                    message=str(f.get("message", "")),
                    location=f.get("location") or None,
                )
                for f in found
            )
            new.append(
                StoredDocument(
                    document=item.document,
                    fingerprint=fp,
                    business_key=bkey,
                    raw=item.raw,
                    media_type=item.media_type,
                    created_at=now,
                    signature=read.signature,
                    source=_file_name(source),
                )
            )
            outcomes.append(
                DocumentOutcome(source, "accepted", item.document.id, item, fp, bkey, (), found)
            )
    uow.documents.add_many(new)
    uow.document_findings.add_many(findings)
    _record_presentations(uow, outcomes)
    new_fingerprints = [s.fingerprint for s in new]
    for start in range(0, len(new_fingerprints), MAX_FINGERPRINTS_PER_OP):
        uow.outbox.add(
            ChainOp(
                op_id=new_id("op"),
                command=cmd.RegisterFingerprints(
                    tuple(new_fingerprints[start : start + MAX_FINGERPRINTS_PER_OP])
                ),
                sender_org_id=submitter_id,
            )
        )
    return outcomes


_BEFORE = {
    DocumentKind.ORDER: "DATE-BEFORE-ORDER",
    DocumentKind.DESPATCH_ADVICE: "DATE-BEFORE-DESPATCH",
}


def _citing_refs(doc: Document) -> list[tuple[DocumentKind, str]]:
    """The orders and despatch advices an invoice or credit note cites (else none)."""
    if doc.kind not in (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE):
        return []
    return [(r.kind, r.number) for r in doc.references if r.kind in _BEFORE]


def _cited_documents(
    uow: UnitOfWork, reads: Sequence[_Read]
) -> dict[tuple[DocumentKind, str], list[Document]]:
    """Every order and despatch advice the batch's invoices cite, by ``(kind, number)``: the
    stored ones (one look-up for the whole batch) and those read in this batch."""
    docs = [p.document for read in reads for p in read.parsed]
    refs = list(dict.fromkeys(ref for doc in docs for ref in _citing_refs(doc)))
    if not refs:
        return {}
    wanted = set(refs)
    cited: dict[tuple[DocumentKind, str], list[Document]] = {}
    for doc in [s.document for s in uow.documents.by_numbers(refs)] + docs:
        if (doc.kind, doc.number) in wanted:
            cited.setdefault((doc.kind, doc.number), []).append(doc)
    return cited


def _dated_before_references(
    item: ParsedDocument, cited_by_ref: Mapping[tuple[DocumentKind, str], Sequence[Document]]
) -> tuple[dict[str, str], ...]:
    """Findings for an invoice or credit note dated before the order or despatch it cites.

    The cited document is looked for among the stored ones and those read in this batch
    (``cited_by_ref``, from ``_cited_documents``), between the same buyer or seller.
    """
    doc = item.document
    refs = _citing_refs(doc)
    if not refs:
        return ()
    cited = [other for ref in dict.fromkeys(refs) for other in cited_by_ref.get(ref, ())]
    return tuple(
        {
            "code": _BEFORE[other.kind],
            "flag": "warning",
            "message": f"{doc.kind.value} {doc.number} is dated {doc.issue_date.isoformat()}, "
            f"before {other.kind.value} {other.number} ({other.issue_date.isoformat()})",
            "location": "issue_date",
        }
        for other in {o.id: o for o in cited}.values()
        if other.issue_date > doc.issue_date
        and (other.buyer == doc.buyer or other.seller == doc.seller)
    )


def stored(outcomes: Iterable[DocumentOutcome]) -> list[Document]:
    """The documents ``outcomes`` accepted, exactly as stored (for ``link_documents``)."""
    return [o.parsed.document for o in outcomes if o.status == "accepted" and o.parsed]


def _future_dated(
    parsed: Sequence[ParsedDocument], today: dt.date, tolerance: dt.timedelta
) -> tuple[dict[str, str], ...]:
    """Why documents dated after ``today`` plus ``tolerance`` are refused (empty if none is)."""
    latest = today + tolerance
    return tuple(
        {
            "code": "DATE-IN-FUTURE",
            "message": f"{p.document.kind.value} {p.document.number} is dated "
            f"{p.document.issue_date.isoformat()}, after the day of submission "
            f"({today.isoformat()}) by more than the tolerance of {tolerance.days} day(s)",
            "location": "issue_date",
        }
        for p in parsed
        if p.document.issue_date > latest
    )


def _file_name(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _record_presentations(uow: UnitOfWork, outcomes: Sequence[DocumentOutcome]) -> None:
    """Remember invoices presented again under another file name (a re-sent copy).

    A document arriving again under the same file name is a retried submission and says
    nothing; the same invoice sent again as a different file is a second presentation, which
    the fraud scan reports as a duplicate invoice.
    """
    again = {
        o.document_id: _file_name(o.source)
        for o in outcomes
        if o.status == "duplicate" and o.document_id and o.parsed is not None
        and o.parsed.document.kind in (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE)
    }  # fmt: skip
    if not again:
        return
    earlier = {d.document.id: d.source for d in uow.documents.get_many(list(again))}
    presented = [
        doc_id for doc_id, name in again.items() if earlier.get(doc_id) not in (None, name)
    ]
    if presented:
        fraud.note_resubmissions(uow, presented)


def _store_batch(
    uow_factory: UnitOfWorkFactory,
    reads: Sequence[_Read],
    clock: Clock,
    submitter_id: str,
    algorithm: HashAlgorithm,
) -> list[DocumentOutcome]:
    try:
        with uow_factory() as uow:
            outcomes = _store(uow, reads, clock, submitter_id, algorithm)
            uow.commit()
        return outcomes
    except ConflictError:
        if len(reads) == 1:
            raise
    # Another process stored one of these documents meanwhile: redo file by file, so only
    # the file that collided is affected.
    outcomes = []
    for read in reads:
        outcomes.extend(_store_batch(uow_factory, [read], clock, submitter_id, algorithm))
    return outcomes


def ingest_files(
    *,
    uow_factory: UnitOfWorkFactory,
    reader: DocumentReader,
    clock: Clock,
    files: Iterable[SubmittedFile],
    submitter_id: str,
    verifier: SignatureVerifier | None = None,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    batch_size: int = FILES_PER_TRANSACTION,
    read_threads: int = READ_THREADS,
    scenario: Scenario | None = None,
    date_tolerance: dt.timedelta = DATE_TOLERANCE,
    read_group: int = READ_GROUP,
) -> list[DocumentOutcome]:
    """Ingest files in batches; each file stands or falls alone.

    ``scenario`` is the business scenario the submitter declares for documents that do not
    state one themselves (UBL, camt.054, EPCIS carry none). Files are read on
    ``read_threads`` threads: parsing, schema validation and canonicalisation run in libxml2
    without the GIL, so reading overlaps on several cores. A file holding a document dated
    more than ``date_tolerance`` after the day of submission is refused whole. A reading
    thread takes up to ``read_group`` files at a time and reads them stage by stage
    (``GroupReader``; fewer when the files would not give every thread a share).
    """
    today = clock.today()

    def read(group: Sequence[SubmittedFile]) -> list[_Read]:
        return [finish(r) for r in _read_group(group, reader, verifier, uow_factory, submitter_id)]

    def finish(result: _Read) -> _Read:
        future = _future_dated(result.parsed, today, date_tolerance)
        if future:
            result = _Read(result.file, [], (*result.errors, *future))
        if scenario is not None:
            result.parsed = [_with_scenario(p, scenario) for p in result.parsed]
        result.prints = _fingerprints(result.parsed, algorithm)
        return result

    outcomes: list[DocumentOutcome] = []
    if isinstance(files, Sequence) and len(files) <= 1:
        # One file (an upload): read on this thread. New reading threads would have nothing
        # to overlap, and each would first prepare its own copy of the rules' stylesheets.
        with _fewer_collections():
            for chunk in _chunks(read(files), batch_size):
                outcomes.extend(_store_batch(uow_factory, chunk, clock, submitter_id, algorithm))
        return outcomes
    threads = max(1, read_threads)
    group = read_group
    if isinstance(files, Sequence):  # every thread gets a share of a few files
        group = max(1, min(group, -(-len(files) // threads)))
    with _fewer_collections():
        # Read ahead: the threads read the next batch while this one is stored.
        chunks = _read_chunks(
            _reading_pool(threads), read, files, size=batch_size,
            window=batch_size + 2 * threads * group, group=group,
        )  # fmt: skip
        for chunk in chunks:
            outcomes.extend(_store_batch(uow_factory, chunk, clock, submitter_id, algorithm))
    return outcomes


_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _reading_pool(threads: int) -> ThreadPoolExecutor:
    """The process's reading threads (``threads`` of them), started once and kept.

    A reading thread keeps what it prepares on first use (each thread compiles its own copy of
    the business rules' stylesheets, about 20 ms a rule set): new threads for every call would
    pay that again for every batch a command or a request hands in. Idle threads cost nothing;
    the pool is made again in a process forked from one that had it.
    """
    key = (os.getpid(), threads)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = ThreadPoolExecutor(
                    max_workers=threads, thread_name_prefix="fourflow-read"
                )
    return pool


def warm_readers(
    reader: DocumentReader, raw: bytes, *, read_threads: int = READ_THREADS, timeout: float = 60.0
) -> None:
    """Read ``raw`` once on each reading thread (nothing is stored), so that what a thread
    prepares on first use (schemas, the rules' stylesheets) is ready before a timed run."""
    threads = max(1, read_threads)
    barrier = threading.Barrier(threads)

    def warm() -> None:
        # every task waits for the others: each runs on a thread of its own
        with suppress(threading.BrokenBarrierError):
            barrier.wait(timeout)
        reader.read(raw, source="warm-up.xml")

    pool = _reading_pool(threads)
    futures = [pool.submit(warm) for _ in range(threads)]
    wait(futures, timeout)
    for future in futures:
        future.result(timeout)


@contextmanager
def _fewer_collections(first_generation: int = 50_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often while documents are ingested.

    Reading a document allocates thousands of short-lived objects (lxml proxies, dataclasses)
    and no reference cycles to speak of; at Python's default threshold (700 allocations) the
    collector runs every few documents and walks every young object each time. The previous
    thresholds come back afterwards, whatever happens.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], first_generation), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _read_chunks(
    pool: ThreadPoolExecutor,
    read: Callable[[Sequence[SubmittedFile]], list[_Read]],
    files: Iterable[SubmittedFile],
    *,
    size: int,
    window: int,
    tail: int = TAIL_FILES_PER_TRANSACTION,
    group: int = 1,
) -> Iterator[list[_Read]]:
    """Each file read on ``pool``, ``group`` files to a task, in order, in chunks of ``size``
    to store one at a time, with up to ``window`` files read in advance.

    Once every file has been handed to the pool, the rest is stored as it is read, in chunks
    of at least ``tail`` (whatever is read by then, up to ``size``): storing then overlaps the
    last reads instead of starting when the very last file is read, so the transaction left
    after the reading is a small one (at the end of a batch of 1,000 invoices, storing the
    last 244 after the reading had finished took 10-15 % of the whole on PostgreSQL).
    """
    pending: deque[tuple[int, Future[list[_Read]]]] = deque()
    in_flight = 0  # files handed to the pool and not taken back
    chunk: list[_Read] = []
    every_file = iter(files)
    handed_all = False
    try:
        while True:
            while not handed_all and in_flight < window:
                files_of_task = list(islice(every_file, max(1, group)))
                handed_all = len(files_of_task) < max(1, group)
                if files_of_task:
                    pending.append((len(files_of_task), pool.submit(read, files_of_task)))
                    in_flight += len(files_of_task)
            if not pending:
                break
            count, task = pending.popleft()
            in_flight -= count
            chunk.extend(task.result())
            while len(chunk) >= size:
                yield chunk[:size]
                chunk = chunk[size:]
            # at the end: store what is read, unless the next files are read already
            caught_up = handed_all and len(chunk) >= tail and not (pending and pending[0][1].done())
            if chunk and caught_up:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    finally:
        for _count, task in pending:
            task.cancel()


def _with_scenario(parsed: ParsedDocument, scenario: Scenario) -> ParsedDocument:
    """The submitter's declared scenario for a document that does not state one itself."""
    if parsed.document.scenario is not None:
        return parsed
    return replace(parsed, document=replace(parsed.document, scenario=scenario))


def _chunks(items: Iterable[_Read], size: int) -> Iterator[list[_Read]]:
    chunk: list[_Read] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ingest_bytes(
    *,
    uow_factory: UnitOfWorkFactory,
    reader: DocumentReader,
    clock: Clock,
    raw: bytes,
    source: str,
    submitter_id: str,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> list[DocumentOutcome]:
    """Read one file's bytes and store its documents in one transaction."""
    return ingest_files(
        uow_factory=uow_factory,
        reader=reader,
        clock=clock,
        files=[SubmittedFile(source, raw)],
        submitter_id=submitter_id,
        algorithm=algorithm,
    )


def ingest_many(
    *,
    uow_factory: UnitOfWorkFactory,
    reader: DocumentReader,
    clock: Clock,
    files: Sequence[tuple[str, bytes]],
    submitter_id: str,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> list[DocumentOutcome]:
    """Ingest several ``(source, bytes)`` files; each file stands or falls alone."""
    return ingest_files(
        uow_factory=uow_factory,
        reader=reader,
        clock=clock,
        files=[SubmittedFile(source, raw) for source, raw in files],
        submitter_id=submitter_id,
        algorithm=algorithm,
    )


def anchor_pending(
    *, uow_factory: UnitOfWorkFactory, clock: Clock, operator_id: str, max_batch: int = 4096
) -> Batch | None:
    """Put the documents not yet anchored into one batch and queue its Merkle root.

    One anchorer at a time (``ANCHOR_LOCK``, taken before the documents are read): two
    processes ending their ingest at once would otherwise both read the same unanchored
    documents, and the second batch would count, and put in its root, documents the first
    had just taken (on PostgreSQL; SQLite's write lock already orders them).
    """
    with uow_factory() as uow:
        batch = _anchor(uow, clock, operator_id, max_batch)
        if batch is not None:
            uow.commit()
    return batch


def _anchor(uow: UnitOfWork, clock: Clock, operator_id: str, max_batch: int) -> Batch | None:
    """``anchor_pending``'s work in ``uow``, not committed."""
    uow.settings.lock(ANCHOR_LOCK)
    pending = uow.documents.unanchored_fingerprints(max_batch)
    if not pending:
        return None
    leaves = [fingerprint_bytes(fp) for _doc_id, fp in pending]
    root, proofs = merkle_proofs(leaves)
    batch = Batch(id=new_id("batch"), root=root.hex(), count=len(pending), created_at=clock.now())
    uow.batches.add(batch)
    uow.documents.set_batch(
        [doc_id for doc_id, _fp in pending],
        batch.id,
        {
            doc_id: json.dumps({"index": i, "siblings": [s.hex() for s in proof]})
            for i, ((doc_id, _fp), proof) in enumerate(zip(pending, proofs, strict=True))
        },
    )
    uow.outbox.add(
        ChainOp(
            op_id=new_id("op"),
            command=cmd.AnchorBatch(batch.id, batch.root, batch.count),
            sender_org_id=operator_id,
            subject_id=batch.id,
        )
    )
    return batch
