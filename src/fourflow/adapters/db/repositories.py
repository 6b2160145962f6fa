"""Repositories over the store's tables: one class per port of ``fourflow.services.ports``.

Each repository works inside the unit of work's session and never commits. Inserts run in
a savepoint, so a duplicate raises ``ConflictError`` and leaves the transaction usable.
Updates of a record that does not exist raise ``NotFoundError``.
"""

from __future__ import annotations

import builtins
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, Update

from fourflow.adapters.db import codec
from fourflow.adapters.db import tables as t
from fourflow.adapters.db.types import UtcDateTime
from fourflow.domain.debt import AssetType, Basis, DebtItem, Holding, ItemStatus, PledgeState
from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.facts import (
    CancelApproval,
    DefaultMark,
    DilutionEvent,
    DilutionStep,
    DisputeAction,
    DisputeEvent,
    DocumentFinding,
    GoodsPrice,
    InvoicePresentation,
    PolicyVersion,
    ReportAnchor,
)
from fourflow.domain.financing import Financing, FinancingStatus, GoodsFinancing
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.mandates import Mandate, SignalClearance
from fourflow.domain.parties import Organisation, PartyRef, Role
from fourflow.domain.receipts import (
    GoodsRelease,
    PledgeAction,
    ReceiptPledge,
    ReceiptSale,
    SaleAction,
    SaleEvent,
    WarehouseReceipt,
)
from fourflow.domain.scenarios import Scenario
from fourflow.domain.transfers import InvoicePaidByTransfer
from fourflow.services.commands import command_from_json, command_to_json
from fourflow.services.ports import (
    Batch,
    ChainOp,
    ModelRecord,
    OpStatus,
    Outstanding,
    Repayment,
    RiskAlert,
    RoutedPart,
    StoredDocument,
    StoredFacts,
    TradePair,
    TradeQuery,
    TradeRecord,
    iter_chunks,
)
from fourflow.services.undo import UndoJournal, undo_from_json, undo_to_json

# Stay well under SQLite's and PostgreSQL's bound-parameter limits in ``IN (...)`` lists.
IN_CHUNK = 500
# Outbox states of operations the chain will never apply.
UNAPPLIED = (OpStatus.FAILED.value, OpStatus.REFUSED.value)
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def utc_now() -> dt.datetime:
    """The current time, aware UTC."""
    return dt.datetime.now(dt.UTC)


_New = TypeVar("_New")


class _HeldNew(Generic[_New]):
    """New rows held in memory until ``store_held`` (``SqlUnitOfWork.together``): ``hold``
    starts holding, ``take_held`` ends it and gives what was held."""

    _held: builtins.list[_New] | None = None

    def hold(self) -> None:
        self._held = []

    def take_held(self) -> builtins.list[_New]:
        held, self._held = self._held or [], None
        return held


class _Repository:
    """What every repository shares: the unit of work's session and safe writes."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _rows(self, stmt: Select[Any]) -> builtins.list[Row[Any]]:
        """Every row ``stmt`` selects."""
        return list(self._session.execute(stmt).all())

    def _row(self, stmt: Select[Any]) -> Row[Any] | None:
        """The one row ``stmt`` selects, or None."""
        return self._session.execute(stmt).first()

    def _insert(self, stmt: Insert, conflict: Callable[[], str]) -> None:
        """Run an insert in a savepoint; on a constraint violation raise ConflictError."""
        try:
            with self._session.begin_nested():
                self._session.execute(stmt)
        except IntegrityError as exc:
            raise ConflictError(f"{conflict()} ({_first_line(exc)})") from exc

    def _update(self, stmt: Update, what: str) -> None:
        """Run an update of one record; raise NotFoundError if it matched nothing."""
        try:
            with self._session.begin_nested():
                result = self._session.execute(stmt)
        except IntegrityError as exc:
            raise ConflictError(f"{what}: {_first_line(exc)}") from exc
        if getattr(result, "rowcount", 1) == 0:
            raise NotFoundError(f"{what} does not exist")


def _first_line(exc: IntegrityError | psycopg.IntegrityError) -> str:
    """The database's own message for a constraint violation, on one line."""
    orig = exc.orig if isinstance(exc, IntegrityError) else exc
    return str(orig).strip().splitlines()[0] if orig is not None else str(exc)


# --------------------------------------------------------------------------- organisations


class SqlOrganisations(_Repository):
    """Consortium members, and the ``scheme:value`` keys that identify them.

    An organisation read by id (or listed) is kept for the rest of the transaction, so the
    same member is not read again and again by one use case (a financing decision reads the
    debtor four times); what this repository writes replaces it, and a new transaction starts
    afresh."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._read: dict[str, Organisation] = {}
        self._read_in: object = None

    def _seen(self) -> dict[str, Organisation]:
        """The organisations read in the current transaction, by id."""
        current = self._session.get_transaction()
        if current is not self._read_in:
            self._read_in, self._read = current, {}
        return self._read

    def add(self, org: Organisation) -> None:
        """Store a new organisation and claim its keys."""
        self._seen().pop(org.id, None)
        now = utc_now()
        stmt = insert(t.organisations).values(
            id=org.id, created_at=now, updated_at=now, **_org_values(org)
        )
        self._insert(stmt, lambda: self._clash(org, "already exists"))
        self._put_keys(org)

    def update(self, org: Organisation) -> None:
        """Replace an organisation's details and keys."""
        self._seen().pop(org.id, None)
        stmt = (
            update(t.organisations)
            .where(t.organisations.c.id == org.id)
            .values(updated_at=utc_now(), **_org_values(org))
        )
        self._update(stmt, f"organisation {org.id}")
        keys = t.organisation_keys
        self._session.execute(keys.delete().where(keys.c.org_id == org.id))
        self._put_keys(org)

    def get(self, org_id: str) -> Organisation | None:
        """The organisation with id ``org_id``."""
        found = self._seen().get(org_id)
        if found is None:
            found = self._one(t.organisations.c.id == org_id)
            if found is not None:
                self._seen()[org_id] = found
        return found

    def get_many(self, org_ids: Sequence[str]) -> dict[str, Organisation]:
        """The organisations of ``org_ids`` that exist, by id: those read in this transaction
        from what was read, the others in one read (chunks of ``IN_CHUNK``)."""
        seen = self._seen()
        found = {i: seen[i] for i in org_ids if i in seen}
        missing = [i for i in dict.fromkeys(org_ids) if i not in found]
        for chunk in iter_chunks(missing, IN_CHUNK):
            for r in self._rows(select(t.organisations).where(t.organisations.c.id.in_(chunk))):
                found[r.id] = seen[r.id] = _org_from_row(r)
        return found

    def by_uscc(self, uscc: str) -> Organisation | None:
        """The organisation registered under a Unified Social Credit Code."""
        return self._one(t.organisations.c.uscc == uscc)

    def by_key(self, key: str) -> Organisation | None:
        """The organisation known by ``scheme:value`` (any identifier or account)."""
        owner = select(t.organisation_keys.c.org_id).where(t.organisation_keys.c.key == key)
        return self._one(t.organisations.c.id == owner.scalar_subquery())

    def list(self) -> builtins.list[Organisation]:
        """Every organisation, in the order they joined."""
        rows = self._rows(select(t.organisations).order_by(t.organisations.c.seq))
        every = [_org_from_row(r) for r in rows]
        self._seen().update((o.id, o) for o in every)
        return every

    def _one(self, where: Any) -> Organisation | None:
        row = self._row(select(t.organisations).where(where))
        return None if row is None else _org_from_row(row)

    def _put_keys(self, org: Organisation) -> None:
        """Claim every key of ``org``; a key another member holds is a conflict."""
        for key in sorted(org.known_as()):
            stmt = insert(t.organisation_keys).values(key=key, org_id=org.id)
            self._insert(stmt, functools.partial(self._key_clash, org, key))

    def _clash(self, org: Organisation, what: str) -> str:
        other = self.by_uscc(org.uscc)
        if other is not None and other.id != org.id:
            return f"organisation {org.id}: USCC {org.uscc} is already registered to {other.id}"
        return f"organisation {org.id} {what}"

    def _key_clash(self, org: Organisation, key: str) -> str:
        other = self.by_key(key)
        holder = other.id if other is not None else "another organisation"
        return f"organisation {org.id}: {key} already identifies {holder}"


def _org_values(org: Organisation) -> dict[str, Any]:
    """The columns of an organisation, except its id and timestamps."""
    return {
        "name": org.name,
        "uscc": org.uscc,
        "roles": [r.value for r in org.roles],
        "identifiers": codec.encode_identifiers(org.identifiers),
        "accounts": list(org.accounts),
        "chain_address": org.chain_address,
        "profile": dict(org.profile) if org.profile else None,
    }


def _org_from_row(row: Row[Any]) -> Organisation:
    """Rebuild an organisation from its row."""
    return Organisation(
        id=row.id,
        name=row.name,
        uscc=row.uscc,
        roles=tuple(Role(r) for r in row.roles),
        identifiers=codec.decode_identifiers(row.identifiers),
        accounts=tuple(row.accounts),
        chain_address=row.chain_address,
        profile=tuple(sorted((row.profile or {}).items())),
    )


# --------------------------------------------------------------------------- documents


class SqlDocuments(_Repository):
    """Stored documents: the raw bytes, the parsed document and what proves it."""

    def add(self, stored: StoredDocument) -> None:
        """Store a document; a fingerprint already stored is a ConflictError."""
        try:
            with self._session.begin_nested():
                self._write([stored])
        except (IntegrityError, psycopg.IntegrityError) as exc:
            raise ConflictError(f"{self._clash(stored)} ({_first_line(exc)})") from exc

    def add_many(self, stored: Sequence[StoredDocument]) -> None:
        """Store several documents in one statement; any known fingerprint is a ConflictError."""
        if not stored:
            return
        try:
            with self._session.begin_nested():
                self._write(stored)
        except (IntegrityError, psycopg.IntegrityError) as exc:
            raise ConflictError(
                f"one of {len(stored)} documents clashes with a stored one ({_first_line(exc)})"
            ) from exc

    def _write(self, stored: Sequence[StoredDocument]) -> None:
        """Insert the documents' rows and their anchoring rows (Core ``executemany``; on
        PostgreSQL ``_write_documents_pg``)."""
        connection = self._session.connection()
        if connection.dialect.name == "postgresql":
            _write_documents_pg(connection, stored)
            return
        connection.execute(_INSERT_DOCUMENT, [_document_values(s) for s in stored])
        connection.execute(
            _INSERT_ANCHOR,
            [{"doc_id": s.document.id, "batch_id": s.batch_id, "proof": None} for s in stored],
        )

    def known_fingerprints(self, fingerprints: Sequence[str]) -> dict[str, str]:
        """Which of ``fingerprints`` are stored already, mapped to their document ids."""
        connection = self._session.connection()
        if connection.dialect.name == "postgresql" and fingerprints:
            # One array parameter: an IN list of a batch's 256 is a new statement text each
            # time, which psycopg parses anew and PostgreSQL plans anew.
            with _driver_connection(connection).cursor() as cursor:
                cursor.execute(_KNOWN_FINGERPRINTS_PG, (list(fingerprints),))
                return {fp: doc_id for fp, doc_id in cursor}
        known: dict[str, str] = {}
        for chunk in iter_chunks(fingerprints, IN_CHUNK):
            stmt = select(t.documents.c.fingerprint, t.documents.c.id).where(
                t.documents.c.fingerprint.in_(chunk)
            )
            known.update({fp: doc_id for fp, doc_id in self._session.execute(stmt).all()})
        return known

    def get(self, doc_id: str) -> StoredDocument | None:
        """The stored document with id ``doc_id``."""
        return self._one(t.documents.c.id == doc_id)

    def by_fingerprint(self, fingerprint: str) -> StoredDocument | None:
        """The stored document with this content fingerprint."""
        return self._one(t.documents.c.fingerprint == fingerprint)

    def by_business_key(self, business_key: str) -> builtins.list[StoredDocument]:
        """Documents sharing a business key (e.g. an invoice resubmitted), oldest first."""
        return self._many(t.documents.c.business_key == business_key)

    def by_number(self, kind: DocumentKind, number: str) -> builtins.list[StoredDocument]:
        """Documents of ``kind`` numbered ``number``, oldest first."""
        return self._many(t.documents.c.kind == kind.value, t.documents.c.number == number)

    def unlinked(self) -> builtins.list[StoredDocument]:
        """Documents not yet linked to a trade, oldest first."""
        return self._many(t.documents.c.trade_id.is_(None))

    def unlinked_ids(self) -> builtins.list[str]:
        """The ids of the documents not yet linked to a trade, oldest first (one column)."""
        stmt = (
            select(t.documents.c.id)
            .where(t.documents.c.trade_id.is_(None))
            .order_by(t.documents.c.seq)
        )
        return list(self._session.execute(stmt).scalars())

    def get_many(self, doc_ids: Sequence[str]) -> builtins.list[StoredDocument]:
        """The stored documents with these ids (unknown ids are skipped), oldest first."""
        found: builtins.list[StoredDocument] = []
        for chunk in iter_chunks(list(dict.fromkeys(doc_ids)), IN_CHUNK):
            found.extend(self._many(t.documents.c.id.in_(chunk)))
        return found

    def contents_many(self, doc_ids: Sequence[str]) -> builtins.list[Document]:
        """The documents' contents only (no raw bytes, anchoring or signature), oldest first:
        a fraction of ``get_many``'s read for a reader of thousands (the credit history)."""
        c = t.documents.c
        found: builtins.list[Document] = []
        for chunk in iter_chunks(list(dict.fromkeys(doc_ids)), IN_CHUNK):
            stmt = select(c.payload).where(c.id.in_(chunk)).order_by(c.seq)
            found.extend(codec.decode_document(r.payload) for r in self._rows(stmt))
        return found

    def by_numbers(self, refs: Sequence[tuple[DocumentKind, str]]) -> builtins.list[StoredDocument]:
        """Documents matching any ``(kind, number)`` of ``refs``, oldest first per kind."""
        numbers: dict[DocumentKind, builtins.list[str]] = {}
        for kind, number in dict.fromkeys(refs):
            numbers.setdefault(kind, []).append(number)
        found: builtins.list[StoredDocument] = []
        for kind, wanted in numbers.items():
            for chunk in iter_chunks(wanted, IN_CHUNK):
                found.extend(
                    self._many(t.documents.c.kind == kind.value, t.documents.c.number.in_(chunk))
                )
        return found

    def linked_between(
        self, seller: PartyRef, buyer: PartyRef, since: dt.date, until: dt.date
    ) -> builtins.list[StoredDocument]:
        """Documents already in a trade, between these two parties, issued in a date window."""
        seller_key, buyer_key = _party_key(seller), _party_key(buyer)
        if seller_key is None or buyer_key is None:
            return []
        return self._many(
            t.documents.c.seller_key == seller_key,
            t.documents.c.buyer_key == buyer_key,
            t.documents.c.issue_date >= since,
            t.documents.c.issue_date <= until,
            t.documents.c.trade_id.is_not(None),
        )

    def unanchored(self, limit: int) -> builtins.list[StoredDocument]:
        """Up to ``limit`` documents not yet in an anchoring batch, oldest first."""
        return self._many(_ANCHORS.c.batch_id.is_(None), limit=limit)

    def unanchored_fingerprints(self, limit: int) -> builtins.list[tuple[str, str]]:
        """Up to ``limit`` ``(id, fingerprint)`` of documents not yet anchored, oldest first."""
        stmt = (
            select(t.documents.c.id, t.documents.c.fingerprint)
            .join(_ANCHORS, _ANCHORS.c.doc_id == t.documents.c.id)
            .where(_ANCHORS.c.batch_id.is_(None))
            .order_by(t.documents.c.seq)
            .limit(limit)
        )
        return [(doc_id, fp) for doc_id, fp in self._session.execute(stmt).all()]

    def set_trade(self, doc_ids: Sequence[str], trade_id: str) -> None:
        """Link documents to a trade."""
        for chunk in iter_chunks(doc_ids, IN_CHUNK):
            stmt = update(t.documents).where(t.documents.c.id.in_(chunk)).values(trade_id=trade_id)
            self._session.execute(stmt)

    def trade_ids(self, doc_ids: Sequence[str]) -> dict[str, str | None]:
        """The trade of each stored document of ``doc_ids`` (None while unlinked); unknown
        ids are left out. Reads two columns, not the documents."""
        found: dict[str, str | None] = {}
        for chunk in iter_chunks(list(dict.fromkeys(doc_ids)), IN_CHUNK):
            stmt = select(t.documents.c.id, t.documents.c.trade_id).where(
                t.documents.c.id.in_(chunk)
            )
            found.update({doc_id: trade for doc_id, trade in self._session.execute(stmt).all()})
        return found

    def set_trades(self, links: Mapping[str, str]) -> None:
        """Link each document (key) to its trade (value): one ``executemany`` for them all."""
        if links:
            self._session.connection().execute(
                _SET_TRADE, [{"b_id": doc_id, "b_trade": trade} for doc_id, trade in links.items()]
            )

    def set_batch(self, doc_ids: Sequence[str], batch_id: str, proofs: Mapping[str, str]) -> None:
        """Record batch membership; ``proofs`` maps doc id to its JSON-encoded Merkle proof."""
        if not doc_ids:
            return
        # The small anchoring rows only: the documents' own rows are not rewritten. They are
        # replaced, a chunk per statement (one UPDATE per row costs PostgreSQL a round of
        # parse, bind and execute each); ids of no stored document are skipped, as before.
        # PostgreSQL updates them all in one statement from two arrays.
        connection = self._session.connection()
        if connection.dialect.name == "postgresql":
            ids = list(dict.fromkeys(doc_ids))
            with _driver_connection(connection).cursor() as cursor:
                cursor.execute(_SET_BATCH_PG, (batch_id, ids, [proofs.get(d) for d in ids]))
            return
        for chunk in iter_chunks(list(dict.fromkeys(doc_ids)), IN_CHUNK):
            stmt = delete(_ANCHORS).where(_ANCHORS.c.doc_id.in_(chunk)).returning(_ANCHORS.c.doc_id)
            stored = set(connection.execute(stmt).scalars())
            rows = [
                {"doc_id": d, "batch_id": batch_id, "proof": proofs.get(d)}
                for d in chunk
                if d in stored
            ]
            if rows:
                connection.execute(_INSERT_ANCHOR, rows)

    def proof(self, doc_id: str) -> str | None:
        """A document's JSON-encoded Merkle proof, once anchored."""
        stmt = select(_ANCHORS.c.proof).where(_ANCHORS.c.doc_id == doc_id)
        proof: str | None = self._session.execute(stmt).scalar_one_or_none()
        return proof

    def count(self) -> int:
        """How many documents are stored."""
        stmt = select(func.count()).select_from(t.documents)
        return int(self._session.execute(stmt).scalar_one())

    def _one(self, where: Any) -> StoredDocument | None:
        row = self._row(_SELECT_DOCUMENTS.where(where))
        return None if row is None else _document_from_row(row)

    def _many(self, *where: Any, limit: int | None = None) -> builtins.list[StoredDocument]:
        stmt = _SELECT_DOCUMENTS.where(*where).order_by(t.documents.c.seq).limit(limit)
        return [_document_from_row(r) for r in self._rows(stmt)]

    def _clash(self, stored: StoredDocument) -> str:
        other = self.by_fingerprint(stored.fingerprint)
        if other is not None:
            return (
                f"document {stored.document.id}: fingerprint {stored.fingerprint} is already "
                f"stored as document {other.document.id}"
            )
        return f"document {stored.document.id} already exists"


_ANCHORS = t.document_anchors
_INSERT_DOCUMENT = insert(t.documents)
_INSERT_ANCHOR = insert(_ANCHORS)
_SET_TRADE = (
    update(t.documents)
    .where(t.documents.c.id == bindparam("b_id"))
    .values(trade_id=bindparam("b_trade"))
)
# A document with its batch: every document has an anchoring row (the outer join is a guard).
_SELECT_DOCUMENTS = select(t.documents, _ANCHORS.c.batch_id).select_from(
    t.documents.outerjoin(_ANCHORS, _ANCHORS.c.doc_id == t.documents.c.id)
)


#: PostgreSQL: documents are copied in (``COPY ... FROM STDIN`` in binary), their anchoring
#: rows inserted from arrays: two statements a batch, where an ``executemany`` ran two a
#: document (each started PostgreSQL's executor and fired the documents' statement trigger:
#: a ``decision_changes`` row a document), and psycopg sends the rows from C.
#: The binary types of ``_document_values``' columns that are not text (``json`` columns take
#: their JSON text, as the ``json`` type stores it).
_COPY_TYPES = {"issue_date": "date", "total_minor": "int8", "raw": "bytea",
               "created_at": "timestamptz"}  # fmt: skip
_INSERT_ANCHORS_PG = (
    "INSERT INTO document_anchors (doc_id, batch_id, proof) "
    "SELECT d, b, NULL FROM unnest(%b::text[], %b::text[]) AS u(d, b)"
)
_KNOWN_FINGERPRINTS_PG = "SELECT fingerprint, id FROM documents WHERE fingerprint = ANY(%b::text[])"
_SET_BATCH_PG = (
    "UPDATE document_anchors AS a SET batch_id = %b, proof = u.p "
    "FROM unnest(%b::text[], %b::text[]) AS u(d, p) WHERE a.doc_id = u.d"
)


def _driver_connection(connection: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under ``connection`` (in its transaction)."""
    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"expected a psycopg connection, got {type(driver).__name__}")
    return driver


def _write_documents_pg(connection: Connection, stored: Sequence[StoredDocument]) -> None:
    """PostgreSQL: the documents' rows copied in, the same values ``_document_values`` gives
    the ``executemany`` (JSON columns as the JSON text SQLAlchemy would send: ``json.dumps``,
    None as JSON ``null``, the payload's by ``codec.document_json``; timestamps in UTC), then
    their anchoring rows. A clash is a
    ``psycopg.IntegrityError`` (the caller's savepoint undoes the statement)."""
    rows = [_document_values(s, codec.document_json) for s in stored]
    columns = list(rows[0])
    utc, dialect = UtcDateTime().process_bind_param, connection.dialect
    with _driver_connection(connection).cursor() as cursor:
        with cursor.copy(
            f"COPY documents ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types([_COPY_TYPES.get(c, "text") for c in columns])
            for row in rows:
                row["signature"] = json.dumps(row["signature"])
                row["created_at"] = utc(row["created_at"], dialect)
                copy.write_row(tuple(row.values()))
        cursor.execute(
            _INSERT_ANCHORS_PG, ([s.document.id for s in stored], [s.batch_id for s in stored])
        )


def _party_key(party: PartyRef) -> str | None:
    """The key a party reference is best known by: its USCC, else its first key."""
    uscc = party.uscc()
    if uscc is not None:
        return f"{IdScheme.USCC.value}:{uscc}"
    keys = sorted(party.keys())
    return keys[0] if keys else None


def _document_values(
    stored: StoredDocument, payload: Callable[[Document], Any] = codec.encode_document
) -> dict[str, Any]:
    """The row of a stored document (its ``payload`` given by ``payload``: the JSON object,
    or on PostgreSQL's copy its text)."""
    doc = stored.document
    return {
        "id": doc.id,
        "kind": doc.kind.value,
        "number": doc.number,
        "issue_date": doc.issue_date,
        "seller_key": _party_key(doc.seller),
        "buyer_key": _party_key(doc.buyer),
        "currency": doc.currency or (doc.total.currency if doc.total else None),
        "total_minor": _bigint(doc.total.minor, f"document {doc.id} total") if doc.total else None,
        "fingerprint": stored.fingerprint,
        "business_key": stored.business_key,
        "raw": stored.raw,
        "media_type": stored.media_type,
        "payload": payload(doc),
        "trade_id": stored.trade_id,
        "submitted_by": doc.submitted_by,
        "created_at": stored.created_at or utc_now(),
        "signature": dict(stored.signature) if stored.signature else None,
        "source": stored.source,
    }


def _bigint(value: int, what: str) -> int:
    """``value`` if it fits a BIGINT column; a DomainValueError saying so if not."""
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise DomainValueError(f"{what}: {value} minor units is too large to store")
    return value


def _document_from_row(row: Row[Any]) -> StoredDocument:
    """Rebuild a stored document from its row."""
    return StoredDocument(
        document=codec.decode_document(row.payload),
        fingerprint=row.fingerprint,
        business_key=row.business_key,
        raw=bytes(row.raw),
        media_type=row.media_type,
        trade_id=row.trade_id,
        batch_id=row.batch_id,
        created_at=row.created_at,
        signature=row.signature,
        source=row.source,
    )


# --------------------------------------------------------------------------- trades


class SqlTrades(_Repository):
    """Trades and their latest verification."""

    def add(self, trade: TradeRecord) -> None:
        """Store a new trade."""
        now = utc_now()
        stmt = insert(t.trades).values(
            id=trade.id, created_at=now, updated_at=now, **_trade_values(trade)
        )
        self._insert(stmt, lambda: f"trade {trade.id} already exists")

    def add_many(self, trades: Sequence[TradeRecord]) -> None:
        """Store new trades in one statement; a known id is a ConflictError."""
        if not trades:
            return
        now = utc_now()
        rows = [
            {"id": trade.id, "created_at": now, "updated_at": now, **_trade_values(trade)}
            for trade in trades
        ]
        try:
            with self._session.begin_nested():
                self._session.connection().execute(insert(t.trades), rows)
        except IntegrityError as exc:
            raise ConflictError(
                f"one of {len(trades)} trades already exists ({_first_line(exc)})"
            ) from exc

    def update(self, trade: TradeRecord) -> None:
        """Replace a trade's documents, status and report."""
        stmt = (
            update(t.trades)
            .where(t.trades.c.id == trade.id)
            .values(updated_at=utc_now(), **_trade_values(trade))
        )
        self._update(stmt, f"trade {trade.id}")

    def get(self, trade_id: str) -> TradeRecord | None:
        """The trade with id ``trade_id``."""
        row = self._row(select(t.trades).where(t.trades.c.id == trade_id))
        return None if row is None else _trade_from_row(row)

    def verdicts(self, trade_ids: Sequence[str] | None = None) -> builtins.list[TradeRecord]:
        """Every trade (or those of ``trade_ids``), oldest first, with its status, score and
        report hash, not its report."""
        c = t.trades.c
        if trade_ids is None:
            return [_verdict(r) for r in self._rows(_VERDICT.order_by(c.seq))]
        rows: builtins.list[Row[Any]] = []
        for chunk in iter_chunks(list(dict.fromkeys(trade_ids)), IN_CHUNK):
            rows.extend(self._rows(_VERDICT.where(c.id.in_(chunk))))
        return [_verdict(r) for r in sorted(rows, key=lambda r: r.seq)]

    def verdicts_of(
        self, buyers: Sequence[str], sellers: Sequence[str]
    ) -> builtins.list[TradeRecord]:
        """The trades in which one of ``buyers`` buys or one of ``sellers`` sells, oldest
        first, without their reports (one statement; a few parties)."""
        c = t.trades.c
        stmt = _VERDICT.where(
            c.buyer_id.in_(sorted(set(buyers))) | c.seller_id.in_(sorted(set(sellers)))
        )
        return [_verdict(r) for r in self._rows(stmt.order_by(c.seq))]

    def pairs(self) -> builtins.list[TradePair]:
        """The trades counted by seller, buyer, scenario and status (GROUP BY), in that order."""
        c = t.trades.c
        keys = (c.seller_id, c.buyer_id, c.scenario, c.status)
        rows = self._rows(select(*keys, func.count().label("n")).group_by(*keys))
        found = [TradePair(r.seller_id, r.buyer_id, Scenario(r.scenario), r.status, int(r.n))
                 for r in rows]  # fmt: skip
        return sorted(found, key=lambda p: (p.seller_id, p.buyer_id, p.scenario.value, p.status))

    def page(self, query: TradeQuery) -> tuple[int, builtins.list[TradeRecord]]:
        """How many trades match ``query``, and a page of them newest first (no report)."""
        c = t.trades.c
        where: builtins.list[Any] = []
        if query.involving is not None:
            ids = sorted(query.involving)
            where.append(c.seller_id.in_(ids) | c.buyer_id.in_(ids))
        if query.between is not None:
            ids = sorted(query.between)
            where.append(c.seller_id.in_(ids) & c.buyer_id.in_(ids))
        if query.scenarios is not None:
            where.append(c.scenario.in_(sorted(query.scenarios)))
        if query.statuses is not None:
            where.append(c.status.in_(sorted(query.statuses)))
        total = self._session.execute(
            select(func.count()).select_from(t.trades).where(*where)
        ).scalar_one()
        stmt = _VERDICT.where(*where).order_by(c.seq.desc()).offset(query.offset)
        rows = self._rows(stmt.limit(query.limit))
        return int(total), [_verdict(r) for r in rows]

    def get_many(self, trade_ids: Sequence[str]) -> builtins.list[TradeRecord]:
        """The trades with these ids (unknown ids are skipped), oldest first."""
        found: builtins.list[TradeRecord] = []
        for chunk in iter_chunks(list(dict.fromkeys(trade_ids)), IN_CHUNK):
            stmt = select(t.trades).where(t.trades.c.id.in_(chunk)).order_by(t.trades.c.seq)
            found.extend(_trade_from_row(r) for r in self._rows(stmt))
        return found

    def list(self) -> builtins.list[TradeRecord]:
        """Every trade, oldest first."""
        return [_trade_from_row(r) for r in self._rows(select(t.trades).order_by(t.trades.c.seq))]

    def heads(self) -> builtins.list[TradeRecord]:
        """Every trade, oldest first, without its verification report (not read)."""
        c = t.trades.c
        stmt = select(c.id, c.scenario, c.seller_id, c.buyer_id, c.document_ids).order_by(c.seq)
        return [
            TradeRecord(r.id, Scenario(r.scenario), r.seller_id, r.buyer_id,
                        tuple(r.document_ids))
            for r in self._rows(stmt)
        ]  # fmt: skip

    def involving(self, org_ids: Sequence[str]) -> builtins.list[TradeRecord]:
        """Trades in which any of ``org_ids`` sells or buys, oldest first."""
        ids = list(dict.fromkeys(org_ids))
        c = t.trades.c
        stmt = select(t.trades).where(c.seller_id.in_(ids) | c.buyer_id.in_(ids)).order_by(c.seq)
        return [_trade_from_row(r) for r in self._rows(stmt)]


_VERDICT = select(
    t.trades.c.seq, t.trades.c.id, t.trades.c.scenario, t.trades.c.seller_id,
    t.trades.c.buyer_id, t.trades.c.document_ids, t.trades.c.status, t.trades.c.score,
    t.trades.c.report_hash,
)  # fmt: skip


def _verdict(r: Row[Any]) -> TradeRecord:
    """A trade from a ``_VERDICT`` row: its verification's status, score and hash, no report."""
    return TradeRecord(r.id, Scenario(r.scenario), r.seller_id, r.buyer_id,
                       tuple(r.document_ids), r.status, r.score, None, r.report_hash)  # fmt: skip


def _trade_values(trade: TradeRecord) -> dict[str, Any]:
    """The columns of a trade, except its id and timestamps."""
    return {
        "scenario": trade.scenario.value,
        "seller_id": trade.seller_id,
        "buyer_id": trade.buyer_id,
        "document_ids": list(trade.document_ids),
        "status": trade.status,
        "score": trade.score,
        "report": None if trade.report is None else codec.encode_report(trade.report),
        "report_hash": trade.report_hash,
    }


def _trade_from_row(row: Row[Any]) -> TradeRecord:
    """Rebuild a trade from its row."""
    return TradeRecord(
        id=row.id,
        scenario=Scenario(row.scenario),
        seller_id=row.seller_id,
        buyer_id=row.buyer_id,
        document_ids=tuple(row.document_ids),
        status=row.status,
        score=row.score,
        report=None if row.report is None else codec.decode_report(row.report),
        report_hash=row.report_hash,
    )


# --------------------------------------------------------------------------- debt items


class SqlDebtItems(_Repository):
    """Debt items and their holdings (each write journalled for undo, ``services.undo``)."""

    def __init__(self, session: Session, journal: UndoJournal | None = None) -> None:
        super().__init__(session)
        self._journal = journal or UndoJournal()
        self._held: dict[str, Holding] | None = None  # holding updates (``hold``)

    def hold(self) -> None:
        """Hold holding updates until ``store_held`` (``SqlUnitOfWork.together``); reads of
        a holding see its held state."""
        self._held = {}

    def take_held(self) -> dict[str, Holding]:
        """The held holding updates, holding no more."""
        held, self._held = self._held or {}, None
        return held

    def store_held(self, held: Mapping[str, Holding]) -> None:
        """Store held holding updates in one statement (executed for many)."""
        if not held:
            return
        h = t.holdings
        names = ["updated_at", *_holding_values(next(iter(held.values())))]
        stmt = (
            update(h)
            .where(h.c.id == bindparam("b_id"))
            .values({name: bindparam("b_" + name) for name in names})
        )
        now = utc_now()
        rows = [
            {"b_id": holding.id, "b_updated_at": now,
             **{"b_" + k: v for k, v in _holding_values(holding).items()}}
            for holding in held.values()
        ]  # fmt: skip
        try:
            self._session.execute(stmt, rows)
        except IntegrityError as exc:
            raise ConflictError(f"holdings {', '.join(held)}: {_first_line(exc)}") from exc

    def add(self, item: DebtItem) -> None:
        """Store a new debt item; one item per trade."""
        self._journal.added_items.append(item.id)
        now = utc_now()
        stmt = insert(t.debt_items).values(
            id=item.id, trade_id=item.trade_id, created_at=now, updated_at=now,
            **_item_values(item),
        )  # fmt: skip
        self._insert(stmt, lambda: f"debt item {item.id}: the item or its trade's item exists")

    def update(self, item: DebtItem) -> None:
        """Replace a debt item's state."""
        self._journal.item_before(self.get(item.id))
        stmt = (
            update(t.debt_items)
            .where(t.debt_items.c.id == item.id)
            .values(trade_id=item.trade_id, updated_at=utc_now(), **_item_values(item))
        )
        self._update(stmt, f"debt item {item.id}")

    def get(self, item_id: str) -> DebtItem | None:
        """The debt item with id ``item_id``."""
        return self._one(t.debt_items.c.id == item_id)

    def by_trade(self, trade_id: str) -> DebtItem | None:
        """The debt item issued on a trade."""
        return self._one(t.debt_items.c.trade_id == trade_id)

    def list(self) -> builtins.list[DebtItem]:
        """Every debt item, oldest first."""
        rows = self._rows(select(t.debt_items).order_by(t.debt_items.c.seq))
        return [_item_from_row(r) for r in rows]

    def get_many(self, item_ids: Sequence[str]) -> builtins.list[DebtItem]:
        """The debt items with these ids (unknown ids are skipped), oldest first."""
        c = t.debt_items.c
        found: builtins.list[DebtItem] = []
        for chunk in iter_chunks(list(dict.fromkeys(item_ids)), IN_CHUNK):
            rows = self._rows(select(t.debt_items).where(c.id.in_(chunk)).order_by(c.seq))
            found.extend(_item_from_row(r) for r in rows)
        return found

    def disputes(self, trade_ids: Sequence[str] | None = None) -> dict[str, builtins.list[dt.date]]:
        """The business days on which each trade's item was disputed by its debtor, in order
        (the ``dispute_events`` records: ``SqlDisputes.raised_days``)."""
        return SqlDisputes(self._session).raised_days(trade_ids)

    def add_holding(self, holding: Holding) -> None:
        """Store a new holding; its creation order is its routing order."""
        self._journal.added_holdings.append(holding.id)
        now = utc_now()
        stmt = insert(t.holdings).values(
            id=holding.id, item_id=holding.item_id, created_at=now, updated_at=now,
            **_holding_values(holding),
        )  # fmt: skip
        self._insert(stmt, lambda: f"holding {holding.id} already exists")

    def update_holding(self, holding: Holding, *, before: Holding | None = None) -> None:
        """Replace a holding's state (its item and creation order stay); ``before``: the
        holding as stored, if the caller read it under its row lock (not read again)."""
        stored = before if before is not None and before.id == holding.id else None
        self._journal.holding_before(stored or self.get_holding(holding.id))
        if self._held is not None:
            self._held[holding.id] = holding
            return
        stmt = (
            update(t.holdings)
            .where(t.holdings.c.id == holding.id)
            .values(updated_at=utc_now(), **_holding_values(holding))
        )
        self._update(stmt, f"holding {holding.id}")

    def remove(self, item_id: str) -> None:
        """Delete an item that never reached the chain, with its holdings (undo of issue)."""
        self._session.execute(delete(t.holdings).where(t.holdings.c.item_id == item_id))
        self._session.execute(delete(t.debt_items).where(t.debt_items.c.id == item_id))

    def remove_holding(self, holding_id: str) -> None:
        """Delete a holding that never reached the chain (undo of a split or transfer)."""
        self._session.execute(delete(t.holdings).where(t.holdings.c.id == holding_id))

    def get_holding(self, holding_id: str) -> Holding | None:
        """The holding with id ``holding_id``."""
        if self._held and holding_id in self._held:
            return self._held[holding_id]
        row = self._row(select(t.holdings).where(t.holdings.c.id == holding_id))
        return None if row is None else _holding_from_row(row)

    def lock_holding(self, holding_id: str) -> Holding | None:
        """The holding, its row locked until the transaction ends.

        PostgreSQL: ``SELECT ... FOR UPDATE``, so a second writer waits here and then reads
        the first one's committed change. SQLite renders no ``FOR UPDATE``: its transactions
        begin ``IMMEDIATE`` (engine.py) and so already hold the database's write lock.
        """
        stmt = select(t.holdings).where(t.holdings.c.id == holding_id).with_for_update()
        row = self._row(stmt)
        if self._held and holding_id in self._held:
            return self._held[holding_id]
        return None if row is None else _holding_from_row(row)

    def get_holdings(self, holding_ids: Sequence[str]) -> dict[str, Holding]:
        """The holdings by id (unknown ids left out), in one read (chunks of ``IN_CHUNK``)."""
        h = t.holdings
        found: dict[str, Holding] = {}
        for chunk in iter_chunks(list(dict.fromkeys(holding_ids)), IN_CHUNK):
            rows = self._rows(select(h).where(h.c.id.in_(chunk)))
            found.update((r.id, _holding_from_row(r)) for r in rows)
        held = self._held or {}
        return {k: held.get(k, v) for k, v in found.items()}

    def lock_holdings(self, holding_ids: Sequence[str]) -> dict[str, Holding]:
        """The holdings by id, their rows locked in id order (``lock_holding``), in one read
        (chunks of ``IN_CHUNK``, in id order too)."""
        h = t.holdings
        found: dict[str, Holding] = {}
        for chunk in iter_chunks(sorted(set(holding_ids)), IN_CHUNK):
            stmt = select(h).where(h.c.id.in_(chunk)).order_by(h.c.id).with_for_update()
            found.update((r.id, _holding_from_row(r)) for r in self._rows(stmt))
        held = self._held or {}
        return {k: held.get(k, v) for k, v in found.items()}

    def lock_item(self, item_id: str) -> DebtItem | None:
        """The debt item, its row locked until the transaction ends (see ``lock_holding``)."""
        row = self._row(select(t.debt_items).where(t.debt_items.c.id == item_id).with_for_update())
        return None if row is None else _item_from_row(row)

    def holdings(self, item_id: str) -> builtins.list[Holding]:
        """The item's holdings in creation order (the routing order)."""
        stmt = select(t.holdings).where(t.holdings.c.item_id == item_id).order_by(t.holdings.c.seq)
        return [_holding_from_row(r) for r in self._rows(stmt)]

    def holdings_many(self, item_ids: Sequence[str]) -> dict[str, builtins.list[Holding]]:
        """Each of these items' holdings in creation order (an item without any: absent)."""
        rows: builtins.list[Row[Any]] = []
        for chunk in iter_chunks(list(dict.fromkeys(item_ids)), IN_CHUNK):
            rows.extend(self._rows(select(t.holdings).where(t.holdings.c.item_id.in_(chunk))))
        found: dict[str, builtins.list[Holding]] = {}
        for r in sorted(rows, key=lambda r: r.seq):
            found.setdefault(r.item_id, []).append(_holding_from_row(r))
        return found

    def _one(self, where: Any) -> DebtItem | None:
        row = self._row(select(t.debt_items).where(where))
        return None if row is None else _item_from_row(row)


def _item_values(item: DebtItem) -> dict[str, Any]:
    """The columns of a debt item, except its id, trade and timestamps."""
    return {
        "debtor_id": item.debtor_id,
        "creditor_id": item.creditor_id,
        "currency": item.currency,
        "face_value": item.face_value,
        "issue_date": item.issue_date,
        "maturity_date": item.maturity_date,
        "basis": int(item.basis),
        "asset_type": int(item.asset_type),
        "report_hash": item.report_hash,
        "status": item.status.value,
        "paid": item.paid,
    }


def _item_from_row(row: Row[Any]) -> DebtItem:
    """Rebuild a debt item from its row."""
    return DebtItem(
        id=row.id,
        trade_id=row.trade_id,
        debtor_id=row.debtor_id,
        creditor_id=row.creditor_id,
        currency=row.currency,
        face_value=row.face_value,
        issue_date=row.issue_date,
        maturity_date=row.maturity_date,
        basis=Basis(row.basis),
        asset_type=AssetType(row.asset_type),
        report_hash=row.report_hash,
        status=ItemStatus(row.status),
        paid=row.paid,
    )


def _holding_values(holding: Holding) -> dict[str, Any]:
    """The columns of a holding, except its id, item and timestamps."""
    pledge = holding.pledge
    return {
        "holder_id": holding.holder_id,
        "amount": holding.amount,
        "outstanding": holding.outstanding,
        "parent_id": holding.parent_id,
        "acquired_from": holding.acquired_from,
        "pledge_bank_id": holding.pledge_bank_id,
        "pledge_bank": pledge.bank if pledge else None,
        "pledge_principal": pledge.principal if pledge else None,
        "pledge_interest": pledge.interest if pledge else None,
        "pledge_rate_bps": pledge.rate_bps if pledge else None,
        "pledge_accrued_to": pledge.accrued_to if pledge else None,
        "received": holding.received,
    }


def _holding_from_row(row: Row[Any]) -> Holding:
    """Rebuild a holding (and its pledge, if any) from its row."""
    pledge = None
    if row.pledge_bank is not None:
        pledge = PledgeState(
            bank=row.pledge_bank,
            principal=row.pledge_principal,
            interest=row.pledge_interest,
            rate_bps=row.pledge_rate_bps,
            accrued_to=row.pledge_accrued_to,
        )
    return Holding(
        id=row.id,
        item_id=row.item_id,
        holder_id=row.holder_id,
        amount=row.amount,
        outstanding=row.outstanding,
        parent_id=row.parent_id,
        acquired_from=row.acquired_from,
        pledge_bank_id=row.pledge_bank_id,
        pledge=pledge,
        received=row.received,
    )


# --------------------------------------------------------------------------- financings


class SqlFinancings(_HeldNew[Financing], _Repository):
    """Financing requests and financings (status changes journalled for undo); new ones held
    in a ``together`` block are seen by ``by_holding`` and ``by_holdings``."""

    def __init__(self, session: Session, journal: UndoJournal | None = None) -> None:
        super().__init__(session)
        self._journal = journal or UndoJournal()

    def store_held(self, held: Sequence[Financing]) -> None:
        """Store held new financings in one insert (on PostgreSQL from one JSON document, as
        ``SqlOutbox`` stores a batch's ops: an ``executemany`` of 25 financings was one
        statement of 350 parameters, adapted one by one and parsed anew each time, under the
        bank's limits lock)."""
        if not held:
            return
        now = utc_now()
        rows = [{"id": f.id, "created_at": now, "updated_at": now, **_financing_values(f)}
                for f in held]  # fmt: skip
        try:
            if self._session.get_bind().dialect.name == "postgresql":
                self._session.execute(_FINANCINGS_INSERT_PG, {"rows": _financings_json(rows)})
            else:
                self._session.execute(insert(t.financings), rows)
        except IntegrityError as exc:
            raise ConflictError(
                f"financings {', '.join(f.id for f in held)}: one exists, or its holding "
                f"already has an approved or active financing ({_first_line(exc)})"
            ) from exc

    def add(self, financing: Financing) -> None:
        """Store a new financing request."""
        self._journal.added_financings.append(financing.id)
        if self._held is not None:
            self._held.append(financing)
            return
        now = utc_now()
        stmt = insert(t.financings).values(
            id=financing.id, created_at=now, updated_at=now, **_financing_values(financing)
        )
        self._insert(
            stmt,
            lambda: (
                f"financing {financing.id}: it exists, or holding {financing.holding_id} "
                "already has an approved or active financing"
            ),
        )

    def update(self, financing: Financing) -> None:
        """Replace a financing's terms, status and decision."""
        before = self.get(financing.id)
        self._journal.financing_before(financing.id, None if before is None else before.status)
        stmt = (
            update(t.financings)
            .where(t.financings.c.id == financing.id)
            .values(updated_at=utc_now(), **_financing_values(financing))
        )
        self._update(stmt, f"financing {financing.id}")

    def get(self, financing_id: str) -> Financing | None:
        """The financing with id ``financing_id``."""
        row = self._row(select(t.financings).where(t.financings.c.id == financing_id))
        return None if row is None else _financing_from_row(row)

    def remove(self, financing_id: str) -> None:
        """Delete a financing that never reached the chain (undo)."""
        self._session.execute(delete(t.financings).where(t.financings.c.id == financing_id))

    def by_holding(self, holding_id: str) -> Financing | None:
        """The latest financing requested on a holding."""
        for held in reversed(self._held or ()):
            if held.holding_id == holding_id:
                return held
        stmt = (
            select(t.financings)
            .where(t.financings.c.holding_id == holding_id)
            .order_by(t.financings.c.seq.desc())
            .limit(1)
        )
        row = self._row(stmt)
        return None if row is None else _financing_from_row(row)

    def by_holdings(self, holding_ids: Sequence[str]) -> dict[str, Financing]:
        """The latest financing requested on each of the holdings that has one, in one read
        (chunks of ``IN_CHUNK``)."""
        f = t.financings
        found: dict[str, Financing] = {}
        for chunk in iter_chunks(list(dict.fromkeys(holding_ids)), IN_CHUNK):
            rows = self._rows(select(f).where(f.c.holding_id.in_(chunk)).order_by(f.c.seq))
            found.update((r.holding_id, _financing_from_row(r)) for r in rows)
        wanted = set(holding_ids)
        found.update((h.holding_id, h) for h in self._held or () if h.holding_id in wanted)
        return found

    def list(self) -> builtins.list[Financing]:
        """Every financing, oldest first."""
        rows = self._rows(select(t.financings).order_by(t.financings.c.seq))
        return [_financing_from_row(r) for r in rows]

    def outstanding(self, bank_id: str, statuses: Sequence[str]) -> builtins.list[Outstanding]:
        """The bank's financings in ``statuses`` with their item's debtor and trade's scenario,
        in one query (a bank's limit check reads its whole book on every decision)."""
        f, i, tr = t.financings, t.debt_items, t.trades
        stmt = (
            select(f.c.principal, f.c.borrower_id, i.c.debtor_id, tr.c.scenario)
            .join(i, i.c.id == f.c.item_id)
            .join(tr, tr.c.id == i.c.trade_id)
            .where(f.c.bank_id == bank_id, f.c.status.in_(list(statuses)))
            .order_by(f.c.seq)
        )
        return [
            Outstanding(int(r.principal), r.borrower_id, r.debtor_id, r.scenario)
            for r in self._rows(stmt)
        ]


#: PostgreSQL: a batch's new financings in one insert from one JSON document (one parameter),
#: in the order held (``SqlFinancings.store_held``). As ``jsonb``, parsed once: each ``->>``
#: of a ``json`` element parses the element's text again (the outbox's 100 ops of ~600 bytes,
#: 13 columns: 14-15 ms of the server's CPU, 1.5-3.4 as ``jsonb``, in psql at load 6).
_FINANCINGS_INSERT_PG = text(
    "INSERT INTO financings (id, item_id, holding_id, borrower_id, bank_id, requested, "
    "principal, rate_bps, start_date, maturity_date, status, decision, created_at, updated_at) "
    "SELECT e->>'id', e->>'item_id', e->>'holding_id', e->>'borrower_id', e->>'bank_id', "
    "CAST(e->>'requested' AS bigint), CAST(e->>'principal' AS bigint), "
    "CAST(e->>'rate_bps' AS integer), CAST(e->>'start_date' AS date), "
    "CAST(e->>'maturity_date' AS date), e->>'status', CAST(e->>'decision' AS json), "
    "CAST(e->>'created_at' AS timestamptz), CAST(e->>'updated_at' AS timestamptz) "
    "FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS u(e, n) ORDER BY n"
)


def _financings_json(rows: builtins.list[dict[str, Any]]) -> str:
    """The rows as ``_FINANCINGS_INSERT_PG`` takes them: the decision as the JSON text the
    ``JSON`` column would store (``json.dumps``; no decision: JSON ``null``, as that column
    stores None), dates and timestamps in ISO form (the timestamps with their offset)."""
    return json.dumps(
        [
            {
                **r,
                "decision": json.dumps(r["decision"]),
                "start_date": r["start_date"].isoformat(),
                "maturity_date": r["maturity_date"].isoformat(),
                "created_at": r["created_at"].isoformat(),
                "updated_at": r["updated_at"].isoformat(),
            }
            for r in rows
        ]
    )


def _financing_values(financing: Financing) -> dict[str, Any]:
    """The columns of a financing, except its id and timestamps."""
    decision = financing.decision
    return {
        "item_id": financing.item_id,
        "holding_id": financing.holding_id,
        "borrower_id": financing.borrower_id,
        "bank_id": financing.bank_id,
        "requested": financing.requested,
        "principal": financing.principal,
        "rate_bps": financing.rate_bps,
        "start_date": financing.start_date,
        "maturity_date": financing.maturity_date,
        "status": financing.status.value,
        "decision": None if decision is None else codec.encode_decision(decision),
    }


def _financing_from_row(row: Row[Any]) -> Financing:
    """Rebuild a financing from its row."""
    return Financing(
        id=row.id,
        item_id=row.item_id,
        holding_id=row.holding_id,
        borrower_id=row.borrower_id,
        bank_id=row.bank_id,
        requested=row.requested,
        principal=row.principal,
        rate_bps=row.rate_bps,
        start_date=row.start_date,
        maturity_date=row.maturity_date,
        status=FinancingStatus(row.status),
        decision=None if row.decision is None else codec.decode_decision(row.decision),
    )


# --------------------------------------------------------------------------- repayments


class SqlRepayments(_Repository):
    """Repayments and how each was routed (additions journalled for undo)."""

    def __init__(self, session: Session, journal: UndoJournal | None = None) -> None:
        super().__init__(session)
        self._journal = journal or UndoJournal()

    def add(self, repayment: Repayment) -> None:
        """Store a repayment with its routed parts."""
        self._journal.added_repayments.append(repayment.id)
        stmt = insert(t.repayments).values(
            id=repayment.id,
            item_id=repayment.item_id,
            amount=repayment.amount,
            value_date=repayment.value_date,
            reference=repayment.reference,
            created_at=utc_now(),
        )
        self._insert(stmt, lambda: f"repayment {repayment.id} already exists")
        if repayment.parts:
            parts = [_part_values(p) for p in repayment.parts]
            self._insert(
                insert(t.routed_parts).values(parts),
                lambda: f"repayment {repayment.id}: a routed part names an unknown record",
            )

    def remove(self, repayment_id: str) -> None:
        """Delete a repayment and its routed parts (undo of a refused payment)."""
        parts = t.routed_parts
        self._session.execute(delete(parts).where(parts.c.payment_id == repayment_id))
        self._session.execute(delete(t.repayments).where(t.repayments.c.id == repayment_id))

    def for_item(self, item_id: str) -> builtins.list[Repayment]:
        """The repayments of a debt item, oldest first."""
        return self._load(t.repayments.c.item_id == item_id)

    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[Repayment]]:
        """The repayments of each of ``item_ids`` that has any, oldest first."""
        found: dict[str, builtins.list[Repayment]] = {}
        for chunk in iter_chunks(list(dict.fromkeys(item_ids)), IN_CHUNK):
            for r in self._load(t.repayments.c.item_id.in_(chunk)):
                found.setdefault(r.item_id, []).append(r)
        return found

    def list(self) -> builtins.list[Repayment]:
        """Every repayment, oldest first."""
        return self._load()

    def _load(self, *where: Any) -> builtins.list[Repayment]:
        """Repayments matching ``where``, with their parts in routing order."""
        rows = self._rows(select(t.repayments).where(*where).order_by(t.repayments.c.seq))
        if not rows:
            return []
        parts: dict[str, builtins.list[RoutedPart]] = {r.id: [] for r in rows}
        for chunk in iter_chunks(list(parts), IN_CHUNK):
            part_rows = self._rows(
                select(t.routed_parts)
                .where(t.routed_parts.c.payment_id.in_(chunk))
                .order_by(t.routed_parts.c.seq)
            )
            for p in part_rows:
                parts[p.payment_id].append(_part_from_row(p))
        return [_repayment_from_row(r, tuple(parts[r.id])) for r in rows]


def _part_values(part: RoutedPart) -> dict[str, Any]:
    """The row of a routed part."""
    return {
        "payment_id": part.payment_id,
        "item_id": part.item_id,
        "holding_id": part.holding_id,
        "payee_id": part.payee_id,
        "kind": part.kind,
        "amount": part.amount,
    }


def _part_from_row(row: Row[Any]) -> RoutedPart:
    """Rebuild a routed part from its row."""
    return RoutedPart(
        payment_id=row.payment_id,
        item_id=row.item_id,
        holding_id=row.holding_id,
        payee_id=row.payee_id,
        kind=row.kind,
        amount=row.amount,
    )


def _repayment_from_row(row: Row[Any], parts: tuple[RoutedPart, ...]) -> Repayment:
    """Rebuild a repayment from its row and its parts."""
    return Repayment(
        id=row.id,
        item_id=row.item_id,
        amount=row.amount,
        value_date=row.value_date,
        reference=row.reference,
        parts=parts,
    )


# --------------------------------------------------------------------------- batches


class SqlBatches(_Repository):
    """Anchoring batches."""

    def add(self, batch: Batch) -> None:
        """Store a new batch."""
        stmt = insert(t.batches).values(
            id=batch.id, root=batch.root, leaf_count=batch.count, created_at=batch.created_at
        )
        self._insert(stmt, lambda: f"batch {batch.id} already exists")

    def get(self, batch_id: str) -> Batch | None:
        """The batch with id ``batch_id``."""
        row = self._row(select(t.batches).where(t.batches.c.id == batch_id))
        return None if row is None else _batch_from_row(row)

    def list(self) -> builtins.list[Batch]:
        """Every batch, oldest first."""
        rows = self._rows(select(t.batches).order_by(t.batches.c.seq))
        return [_batch_from_row(r) for r in rows]


def _batch_from_row(row: Row[Any]) -> Batch:
    """Rebuild a batch from its row."""
    return Batch(id=row.id, root=row.root, count=row.leaf_count, created_at=row.created_at)


# --------------------------------------------------------------------------- outbox


_OUTBOX_INSERT: dict[str, Any] = {}
_OUTBOX_INSERT_MANY: dict[str, Any] = {}
#: PostgreSQL: new outbox rows from one JSON array of objects (``SqlOutbox._insert_rows_pg``),
#: in its order; the JSON columns each given as a string of their JSON text.
_OUTBOX_INSERT_PG = text(
    "INSERT INTO outbox (op_id, kind, sender_org_id, params, subject_id, status, tx_hash, "
    "block_number, error, attempts, created_at, updated_at, undo) "
    "SELECT e->>'op_id', e->>'kind', e->>'sender_org_id', CAST(e->>'params' AS json), "
    "e->>'subject_id', e->>'status', e->>'tx_hash', CAST(e->>'block_number' AS bigint), "
    "e->>'error', CAST(e->>'attempts' AS integer), CAST(e->>'created_at' AS timestamptz), "
    "CAST(e->>'updated_at' AS timestamptz), CAST(e->>'undo' AS json) "
    "FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS u(e, n) "
    "ORDER BY n ON CONFLICT (op_id) DO NOTHING RETURNING op_id"
)


class SqlOutbox(_Repository):
    """Chain operations waiting to be relayed, and their outcomes."""

    def __init__(self, session: Session, journal: UndoJournal | None = None) -> None:
        super().__init__(session)
        self._journal = journal or UndoJournal()
        self._held: builtins.list[dict[str, Any]] | None = None
        self._held_ops: builtins.list[ChainOp] = []  # the ops of ``_held``, row for row

    @contextmanager
    def together(self) -> Iterator[None]:
        """Operations added in the block are inserted at its end, in order, in one statement
        (a known op id is still a ConflictError, raised there); an exception in the block
        inserts none of them."""
        if self._held is not None:  # inside another block: that one inserts them
            yield
            return
        self._held, self._held_ops = [], []
        try:
            yield
            rows = self._held
        finally:
            self._held, self._held_ops = None, []
        if rows:
            self._insert_rows(rows)

    def order_held(self, key: Callable[[ChainOp], int]) -> None:
        """Sort the ops held so far in this ``together`` block by ``key`` (stable: ops of
        one key keep the order they were added in)."""
        if self._held is None:
            raise RuntimeError("order_held is for ops held in a 'together' block")
        order = sorted(range(len(self._held)), key=lambda i: key(self._held_ops[i]))
        self._held = [self._held[i] for i in order]
        self._held_ops = [self._held_ops[i] for i in order]

    def _insert_rows(self, rows: builtins.list[dict[str, Any]]) -> None:
        # one statement object per dialect, executed for many rows (one insert of them all,
        # compiled once); an op without undo gets SQL NULL, not JSON null
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            stored = self._insert_rows_pg(rows)
            for r in rows:
                if r["op_id"] not in stored:
                    raise ConflictError(f"chain operation {r['op_id']} is already queued")
            return
        stmt = _OUTBOX_INSERT_MANY.get(dialect)
        if stmt is None:
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = _OUTBOX_INSERT_MANY.setdefault(
                dialect,
                make(t.outbox)
                .values(undo=bindparam("undo", type_=JSON(none_as_null=True)))
                .on_conflict_do_nothing(index_elements=[t.outbox.c.op_id])
                .returning(t.outbox.c.op_id),
            )
        values = [{**r, "undo": r.get("undo")} for r in rows]
        stored = {r.op_id for r in self._session.execute(stmt, values)}
        for r in rows:
            if r["op_id"] not in stored:
                raise ConflictError(f"chain operation {r['op_id']} is already queued")

    def _insert_rows_pg(self, rows: builtins.list[dict[str, Any]]) -> set[str]:
        """PostgreSQL: the rows in one insert from one JSON document (one parameter), the op
        ids stored. Not a multi-row VALUES, nor arrays: psycopg parses a statement of more
        than 50 parameters anew at each execution and escapes an array's every element in
        Python (13 ms of CPU for 200 ops, the batch's limits lock held meanwhile). The JSON
        columns are the text psycopg's ``Json`` would send (``json.dumps``), stored verbatim
        by the ``json`` type; the timestamps in ISO form with their offset."""
        doc = [
            {
                **r,
                "params": json.dumps(r["params"]),
                "undo": None if r.get("undo") is None else json.dumps(r["undo"]),
                "created_at": r["created_at"].isoformat(),
                "updated_at": r["updated_at"].isoformat(),
            }
            for r in rows
        ]
        found = self._session.execute(_OUTBOX_INSERT_PG, {"rows": json.dumps(doc)})
        return {r.op_id for r in found}

    def add(self, op: ChainOp) -> None:
        """Queue an operation; its ``seq`` is assigned here (the op's own is ignored), or, in
        a ``together`` block, at the block's end.

        The op takes what the transaction's repositories journalled since the last op as its
        undo log, unless it brings its own.
        """
        journalled = self._journal.take()
        if op.undo.empty:
            op = replace(op, undo=journalled)
        now = utc_now()
        row = {"op_id": op.op_id, "kind": op.kind.value, "created_at": now, "updated_at": now,
               **_op_values(op)}  # fmt: skip
        if self._held is not None:
            if row["undo"] is None:
                del row["undo"]
            self._held.append(row)
            self._held_ops.append(op)
            return
        # The op id is the table's one constraint besides its seq: a known id is skipped and
        # told, with no savepoint around the insert (two statements less per op); one
        # statement object per dialect, its values bound at execution.
        dialect = self._session.get_bind().dialect.name
        stmt = _OUTBOX_INSERT.get(dialect)
        if stmt is None:
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = _OUTBOX_INSERT.setdefault(
                dialect,
                make(t.outbox)
                .on_conflict_do_nothing(index_elements=[t.outbox.c.op_id])
                .returning(t.outbox.c.seq),
            )
        if row["undo"] is None:  # left out, so SQL NULL (a bound None would be JSON null)
            del row["undo"]
        if self._session.execute(stmt, row).first() is None:
            raise ConflictError(f"chain operation {op.op_id} is already queued")

    def get(self, op_id: str) -> ChainOp | None:
        """The operation with id ``op_id``."""
        row = self._row(select(t.outbox).where(t.outbox.c.op_id == op_id))
        return None if row is None else _op_from_row(row)

    def pending(self, limit: int, sender_org_id: str | None = None) -> builtins.list[ChainOp]:
        """Up to ``limit`` ops not yet done or failed (pending or sent; of ``sender_org_id``
        if given), oldest first."""
        open_states = (OpStatus.PENDING.value, OpStatus.SENT.value)
        where: builtins.list[Any] = [t.outbox.c.status.in_(open_states)]
        if sender_org_id is not None:
            where.append(t.outbox.c.sender_org_id == sender_org_id)
        return self._many(*where, limit=limit)

    def update(self, op: ChainOp) -> None:
        """Record an operation's progress (status, tx hash, block, error, attempts, params)."""
        stmt = (
            update(t.outbox)
            .where(t.outbox.c.op_id == op.op_id)
            .values(updated_at=utc_now(), **_op_values(op))
        )
        self._update(stmt, f"chain operation {op.op_id}")

    def update_status_many(self, ops: Sequence[ChainOp]) -> None:
        """Record the progress of each of ``ops`` (status, tx hash, block, error, attempts; its
        command and undo log as stored) in one statement executed for many, no savepoint (the
        relay's record of a run); NotFoundError if one of them is not queued."""
        if not ops:
            return
        now = utc_now()
        stmt = _OUTBOX_STATUS.get("")
        if stmt is None:
            o = t.outbox.c
            stmt = _OUTBOX_STATUS.setdefault(
                "",
                update(t.outbox)
                .where(o.op_id == bindparam("b_op_id"))
                .values(
                    status=bindparam("b_status"), tx_hash=bindparam("b_tx_hash"),
                    block_number=bindparam("b_block_number"), error=bindparam("b_error"),
                    attempts=bindparam("b_attempts"), updated_at=bindparam("b_updated_at"),
                ),
            )  # fmt: skip
        rows = [
            {"b_op_id": op.op_id, "b_status": op.status.value, "b_tx_hash": op.tx_hash,
             "b_block_number": op.block_number, "b_error": op.error, "b_attempts": op.attempts,
             "b_updated_at": now}
            for op in ops
        ]  # fmt: skip
        result = self._session.execute(stmt, rows)
        if 0 <= getattr(result, "rowcount", -1) < len(rows):
            raise NotFoundError(f"one of chain operations {ops[0].op_id}... does not exist")

    def for_subject(self, subject_id: str) -> builtins.list[ChainOp]:
        """The operations about one business record, oldest first."""
        return self._many(t.outbox.c.subject_id == subject_id)

    def for_subjects(self, subject_ids: Sequence[str]) -> dict[str, builtins.list[ChainOp]]:
        """The operations about each of ``subject_ids`` that has any, oldest first."""
        rows: builtins.list[ChainOp] = []
        for chunk in iter_chunks(list(dict.fromkeys(subject_ids)), IN_CHUNK):
            rows.extend(self._many(t.outbox.c.subject_id.in_(chunk)))
        found: dict[str, builtins.list[ChainOp]] = {}
        for op in sorted(rows, key=lambda o: o.seq or 0):
            found.setdefault(op.subject_id or "", []).append(op)
        return found

    def list(self) -> builtins.list[ChainOp]:
        """Every operation, oldest first."""
        return self._many()

    def _many(self, *where: Any, limit: int | None = None) -> builtins.list[ChainOp]:
        stmt = select(t.outbox).where(*where).order_by(t.outbox.c.seq).limit(limit)
        return [_op_from_row(r) for r in self._rows(stmt)]


#: ``SqlOutbox.update_status_many``'s statement, made once.
_OUTBOX_STATUS: dict[str, Update] = {}


def _op_values(op: ChainOp) -> dict[str, Any]:
    """The mutable columns of an outbox row."""
    return {
        "sender_org_id": op.sender_org_id,
        "params": command_to_json(op.command),
        "undo": undo_to_json(op.undo),
        "subject_id": op.subject_id,
        "status": op.status.value,
        "tx_hash": op.tx_hash,
        "block_number": op.block_number,
        "error": op.error,
        "attempts": op.attempts,
    }


def _op_from_row(row: Row[Any]) -> ChainOp:
    """Rebuild a chain operation from its outbox row."""
    return ChainOp(
        op_id=row.op_id,
        command=command_from_json(row.kind, row.params),
        sender_org_id=row.sender_org_id,
        undo=undo_from_json(row.undo),
        subject_id=row.subject_id,
        status=OpStatus(row.status),
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        error=row.error,
        attempts=row.attempts,
        seq=row.seq,
    )


# --------------------------------------------------------------------------- settings


class SqlSettings(_Repository):
    """Key-value platform settings."""

    def get(self, key: str) -> str | None:
        """The value stored under ``key``."""
        stmt = select(t.settings.c.value).where(t.settings.c.key == key)
        value: str | None = self._session.execute(stmt).scalar_one_or_none()
        return value

    def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any earlier value."""
        self._session.execute(_upsert(self._session, t.settings, key=key, value=value))

    def lock(self, name: str) -> None:
        """Hold the lock ``name`` until this transaction ends (one holder at a time).

        PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing more to do, since every
        transaction there begins ``IMMEDIATE`` (engine.py) and so already holds the database's
        write lock: check-then-write cannot interleave.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0)))
            )


def _upsert(session: Session, table: Table, *, key: str, value: str) -> Insert:
    """An insert of a setting that updates the value when the key exists (atomically)."""
    row = {"key": key, "value": value, "updated_at": utc_now()}
    changes = {"value": row["value"], "updated_at": row["updated_at"]}
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(table).values(row)
        return pg.on_conflict_do_update(index_elements=[table.c.key], set_=changes)
    lite = sqlite.insert(table).values(row)
    return lite.on_conflict_do_update(index_elements=[table.c.key], set_=changes)


# --------------------------------------------------------------------------- risk engine


class SqlTradeFacts(_Repository):
    """Each trade's invoice facts (``ports.TradeFacts``; migration 0028)."""

    def get_many(self, trade_ids: Sequence[str]) -> dict[str, StoredFacts]:
        """The kept facts of each of ``trade_ids`` that has a row (chunks of ``IN_CHUNK``)."""
        c = t.trade_facts.c
        found: dict[str, StoredFacts] = {}
        for chunk in iter_chunks(list(dict.fromkeys(trade_ids)), IN_CHUNK):
            for r in self._rows(select(t.trade_facts).where(c.trade_id.in_(chunk))):
                found[r.trade_id] = StoredFacts(r.trade_id, r.documents_key, r.version, r.facts)
        return found

    def stamps(self, since: dt.datetime) -> dict[str, dt.datetime]:
        """When each trade changed at or after ``since`` was last changed (its ``updated_at``),
        by trade id: ids and times only, no documents."""
        c = t.trades.c
        rows = self._rows(select(c.id, c.updated_at).where(c.updated_at >= since))
        return {r.id: r.updated_at for r in rows}

    def candidates(
        self, trade_ids: Sequence[str] | None
    ) -> builtins.list[tuple[TradeRecord, tuple[str, int] | None]]:
        """Every trade (or those of ``trade_ids``), oldest first, without its report, with the
        (documents key, version) kept for it or None: trades left-joined to their kept rows,
        one statement (a chunk of ``IN_CHUNK`` ids)."""
        c, f = t.trades.c, t.trade_facts.c
        stmt = _VERDICT.add_columns(f.documents_key.label("kept_key"), f.version.label("kept_v"))
        stmt = stmt.select_from(t.trades.outerjoin(t.trade_facts, f.trade_id == c.id))
        if trade_ids is None:
            rows = self._rows(stmt)
        else:
            rows = []
            for chunk in iter_chunks(list(dict.fromkeys(trade_ids)), IN_CHUNK):
                rows.extend(self._rows(stmt.where(c.id.in_(chunk))))
        return [
            (_verdict(r), None if r.kept_key is None else (r.kept_key, r.kept_v))
            for r in sorted(rows, key=lambda r: r.seq)
        ]

    def put_many(self, rows: Sequence[StoredFacts]) -> None:
        """Keep these rows (the last of a trade given twice), replacing earlier ones: one
        upsert (INSERT ... ON CONFLICT DO UPDATE) a chunk, in trade id order, so that two
        writers keeping the same trades at once (two workers, a worker and
        ``Platform.initialise``) neither collide on the key nor deadlock."""
        latest = {r.trade_id: r for r in rows}
        table = t.trade_facts
        fresh: Any = (
            postgresql.insert(table)
            if self._session.get_bind().dialect.name == "postgresql"
            else sqlite.insert(table)
        )
        stmt = fresh.on_conflict_do_update(
            index_elements=[table.c.trade_id],
            set_={
                "documents_key": fresh.excluded.documents_key,
                "version": fresh.excluded.version,
                "facts": fresh.excluded.facts,
            },
        )
        for chunk in iter_chunks(sorted(latest), IN_CHUNK):
            self._session.execute(
                stmt,
                [
                    {"trade_id": k, "documents_key": latest[k].documents_key,
                     "version": latest[k].version, "facts": latest[k].facts}
                    for k in chunk
                ],
            )  # fmt: skip


class SqlRiskModels(_Repository):
    """The model registry: versions, roles, metrics and JSON artifacts."""

    def add(self, model: ModelRecord) -> None:
        """Register a model version."""
        now = utc_now()
        stmt = insert(t.risk_models).values(
            id=model.id,
            kind=model.kind,
            role=model.role,
            as_of=model.as_of,
            training_rows=model.training_rows,
            data_hash=model.data_hash,
            metrics=dict(model.metrics),
            artifact=model.artifact,
            note=model.note,
            created_at=now,
            updated_at=now,
        )
        self._insert(stmt, lambda: f"model {model.id} already exists")

    def set_role(self, model_id: str, role: str, note: str | None) -> None:
        """Give a model a new role (champion, challenger, retired) and the reason."""
        stmt = (
            update(t.risk_models)
            .where(t.risk_models.c.id == model_id)
            .values(role=role, note=note, updated_at=utc_now())
        )
        self._update(stmt, f"model {model_id}")

    def get(self, model_id: str) -> ModelRecord | None:
        """The model version ``model_id``."""
        row = self._row(select(t.risk_models).where(t.risk_models.c.id == model_id))
        return None if row is None else _model_from_row(row)

    def champion(self) -> ModelRecord | None:
        """The model that scores requests now (the latest champion)."""
        stmt = (
            select(t.risk_models)
            .where(t.risk_models.c.role == "champion")
            .order_by(t.risk_models.c.seq.desc())
            .limit(1)
        )
        row = self._row(stmt)
        return None if row is None else _model_from_row(row)

    def list(self) -> builtins.list[ModelRecord]:
        """Every registered version, oldest first."""
        return [
            _model_from_row(r)
            for r in self._rows(select(t.risk_models).order_by(t.risk_models.c.seq))
        ]


def _model_from_row(row: Row[Any]) -> ModelRecord:
    return ModelRecord(
        id=row.id,
        kind=row.kind,
        role=row.role,
        as_of=row.as_of,
        training_rows=row.training_rows,
        data_hash=row.data_hash,
        metrics=row.metrics,
        artifact=row.artifact,
        note=row.note,
        created_at=row.created_at,
    )


class SqlRiskAlerts(_Repository):
    """Monitoring alerts for the banks and the regulator."""

    def add(self, alert: RiskAlert) -> None:
        """Store an alert."""
        now = utc_now()
        stmt = insert(t.risk_alerts).values(
            id=alert.id,
            kind=alert.kind,
            severity=alert.severity,
            metric=alert.metric,
            value=alert.value,
            threshold=alert.threshold,
            model_id=alert.model_id,
            bank_id=alert.bank_id,
            as_of=alert.as_of,
            message=alert.message,
            created_at=now,
            updated_at=now,
        )
        self._insert(stmt, lambda: f"alert {alert.id} already exists")

    def list(self, bank_id: str | None = None) -> builtins.list[RiskAlert]:
        """Alerts, oldest first; for one bank, its own and the platform-wide ones."""
        stmt = select(t.risk_alerts).order_by(t.risk_alerts.c.seq)
        if bank_id is not None:
            stmt = stmt.where(
                (t.risk_alerts.c.bank_id == bank_id) | t.risk_alerts.c.bank_id.is_(None)
            )
        return [
            RiskAlert(
                id=r.id,
                kind=r.kind,
                severity=r.severity,
                metric=r.metric,
                value=r.value,
                threshold=r.threshold,
                model_id=r.model_id,
                bank_id=r.bank_id,
                as_of=r.as_of,
                message=r.message,
                created_at=r.created_at,
            )
            for r in self._rows(stmt)
        ]


# --------------------------------------------------------------------------- facts (issue 13)
#
# A fact carried by a chain operation is read only while its operation has not failed: the
# chain refused a failed one for good, so the fact never happened.


def _standing(table: Table) -> Any:
    """Rows of ``table`` whose operation (``op_id``) is not failed (or was never queued)."""
    failed = select(t.outbox.c.op_id).where(
        t.outbox.c.op_id == table.c.op_id, t.outbox.c.status.in_(UNAPPLIED)
    )
    return ~failed.exists()


class _FactRepository(_Repository):
    """Shared reads of one fact table: standing rows in store order."""

    table: Table

    def _standing_rows(self, *where: Any) -> builtins.list[Row[Any]]:
        table = self.table
        stmt = select(table).where(_standing(table), *where).order_by(table.c.seq)
        return self._rows(stmt)

    def _rows_of_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[Row[Any]]]:
        """The standing rows of each of ``item_ids`` that has any, in store order."""
        rows: builtins.list[Row[Any]] = []
        for chunk in iter_chunks(list(dict.fromkeys(item_ids)), IN_CHUNK):
            rows.extend(self._standing_rows(self.table.c.item_id.in_(chunk)))
        found: dict[str, builtins.list[Row[Any]]] = {}
        for r in sorted(rows, key=lambda r: r.seq):
            found.setdefault(r.item_id, []).append(r)
        return found

    def _add(self, what: str, **values: Any) -> None:
        stmt = insert(self.table).values(created_at=utc_now(), **values)
        self._insert(stmt, lambda: what)

    def forget_op(self, op_id: str) -> None:
        """Delete the facts written for ``op_id`` (the chain refused it: they never happened)."""
        for table in self.op_tables():
            self._session.execute(delete(table).where(table.c.op_id == op_id))

    def op_tables(self) -> tuple[Table, ...]:
        """The tables whose rows an operation writes."""
        return (self.table,)


def _dispute(r: Row[Any]) -> DisputeEvent:
    return DisputeEvent(
        item_id=r.item_id, action=DisputeAction(r.action), actor_id=r.actor_id, op_id=r.op_id,
        on=r.on_day, text=r.text, text_hash=r.text_hash, seq=r.seq,
    )  # fmt: skip


def _dilution(r: Row[Any]) -> DilutionEvent:
    return DilutionEvent(
        item_id=r.item_id, step=DilutionStep(r.step), credit_note_hash=r.credit_note_hash,
        amount=r.amount, actor_id=r.actor_id, op_id=r.op_id, credit_note=r.credit_note,
        seq=r.seq,
    )  # fmt: skip


def _receipt_pledge(r: Row[Any]) -> ReceiptPledge:
    return ReceiptPledge(
        receipt_id=r.receipt_id, action=PledgeAction(r.action), actor_id=r.actor_id,
        op_id=r.op_id, bank_id=r.bank_id, amount=r.amount, seq=r.seq,
    )  # fmt: skip


def _receipt_sale(r: Row[Any]) -> ReceiptSale:
    return ReceiptSale(
        id=r.id, receipt_id=r.receipt_id, seller_id=r.seller_id, buyer_id=r.buyer_id,
        buyer_receipt_id=r.buyer_receipt_id, quantity=r.quantity, price=r.price, op_id=r.op_id,
    )  # fmt: skip


class SqlDisputes(_FactRepository):
    """Disputes of debt items (``ports.Disputes``)."""

    table = t.dispute_events

    def add(self, event: DisputeEvent) -> None:
        """Record a dispute raised, withdrawn or resolved."""
        self._add(
            f"dispute event of {event.item_id} by {event.op_id}",
            item_id=event.item_id, action=event.action.value, actor_id=event.actor_id,
            op_id=event.op_id, on_day=event.on, text=event.text, text_hash=event.text_hash,
        )  # fmt: skip

    def for_item(self, item_id: str) -> builtins.list[DisputeEvent]:
        """The item's dispute events, oldest first."""
        return [_dispute(r) for r in self._standing_rows(self.table.c.item_id == item_id)]

    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[DisputeEvent]]:
        """The dispute events of each of ``item_ids`` that has any, oldest first."""
        return {k: [_dispute(r) for r in rows] for k, rows in self._rows_of_items(item_ids).items()}

    def raised_days(
        self, trade_ids: Sequence[str] | None = None
    ) -> dict[str, builtins.list[dt.date]]:
        """The business days each trade's item was disputed on, in order; every dispute raised
        counts, lifted later or not. ``trade_ids`` None means every trade."""
        d = self.table
        stmt = (
            select(t.debt_items.c.trade_id, d.c.on_day, d.c.created_at)
            .join(d, d.c.item_id == t.debt_items.c.id)
            .where(d.c.action == DisputeAction.RAISED.value, _standing(d))
            .order_by(d.c.seq)
        )
        statements = (
            [stmt]
            if trade_ids is None
            else [
                stmt.where(t.debt_items.c.trade_id.in_(chunk))
                for chunk in iter_chunks(trade_ids, IN_CHUNK)
            ]
        )
        out: dict[str, builtins.list[dt.date]] = {}
        for statement in statements:
            for trade_id, on_day, created_at in self._session.execute(statement):
                out.setdefault(trade_id, []).append(on_day or created_at.date())
        return out


class SqlDilutions(_FactRepository):
    """Dilutions of debt items (``ports.Dilutions``)."""

    table = t.dilution_events

    def add(self, event: DilutionEvent) -> None:
        """Record a dilution proposed or accepted."""
        self._add(
            f"dilution event of {event.item_id} by {event.op_id}",
            item_id=event.item_id, step=event.step.value,
            credit_note_hash=event.credit_note_hash, credit_note=event.credit_note,
            amount=event.amount, actor_id=event.actor_id, op_id=event.op_id,
        )  # fmt: skip

    def for_item(self, item_id: str) -> builtins.list[DilutionEvent]:
        """The item's dilution events, oldest first."""
        return [_dilution(r) for r in self._standing_rows(self.table.c.item_id == item_id)]


class SqlCancelApprovals(_FactRepository):
    """Approvals of cancelling debt items (``ports.CancelApprovals``)."""

    table = t.cancel_approvals

    def add(self, approval: CancelApproval) -> None:
        """Record one party's approval."""
        self._add(
            f"cancellation approval of {approval.item_id} by {approval.op_id}",
            item_id=approval.item_id, party_id=approval.party_id, op_id=approval.op_id,
        )  # fmt: skip

    def for_item(self, item_id: str) -> builtins.list[CancelApproval]:
        """The item's approvals, oldest first."""
        return [
            CancelApproval(r.item_id, r.party_id, r.op_id, seq=r.seq)
            for r in self._standing_rows(self.table.c.item_id == item_id)
        ]

    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[CancelApproval]]:
        """The approvals of each of ``item_ids`` that has any, oldest first."""
        return {
            k: [CancelApproval(r.item_id, r.party_id, r.op_id, seq=r.seq) for r in rows]
            for k, rows in self._rows_of_items(item_ids).items()
        }


class SqlDefaultMarks(_FactRepository):
    """Debt items marked defaulted (``ports.DefaultMarks``)."""

    table = t.default_marks

    def add(self, mark: DefaultMark) -> None:
        """Record a default."""
        self._add(
            f"default mark of {mark.item_id} by {mark.op_id}",
            item_id=mark.item_id, marked_by=mark.marked_by, op_id=mark.op_id, as_of=mark.as_of,
        )  # fmt: skip

    def for_item(self, item_id: str) -> builtins.list[DefaultMark]:
        """The item's default marks, oldest first."""
        return [
            DefaultMark(r.item_id, r.marked_by, r.op_id, as_of=r.as_of, seq=r.seq)
            for r in self._standing_rows(self.table.c.item_id == item_id)
        ]


class SqlWarehouseReceipts(_FactRepository):
    """Warehouse receipts and what was done with them (``ports.WarehouseReceipts``)."""

    table = t.warehouse_receipts

    def op_tables(self) -> tuple[Table, ...]:
        """A receipt, its pledges, sales, sale payments and closings, and releases."""
        return (
            t.warehouse_receipts, t.receipt_pledges, t.receipt_sales, t.receipt_sale_events,
            t.goods_releases,
        )  # fmt: skip

    def add(self, receipt: WarehouseReceipt) -> None:
        """Record a receipt issued."""
        self._add(
            f"warehouse receipt {receipt.id} already exists",
            id=receipt.id, warehouse_id=receipt.warehouse_id, holder_id=receipt.holder_id,
            goods_code=receipt.goods_code, description=receipt.description,
            description_hash=receipt.description_hash, quantity=receipt.quantity,
            unit=receipt.unit, location=receipt.location, evidence_hash=receipt.evidence_hash,
            op_id=receipt.op_id,
        )  # fmt: skip

    def lock(self, receipt_id: str) -> None:
        """Lock the receipt's row until the transaction ends (see ``SqlDebtItems.lock_holding``)."""
        w = t.warehouse_receipts
        self._session.execute(select(w.c.id).where(w.c.id == receipt_id).with_for_update())

    def get(self, receipt_id: str) -> WarehouseReceipt | None:
        """The receipt, if it was issued on this platform (and its issue did not fail)."""
        rows = self._standing_rows(self.table.c.id == receipt_id)
        if not rows:
            return None
        r = rows[0]
        return WarehouseReceipt(
            id=r.id, warehouse_id=r.warehouse_id, holder_id=r.holder_id, goods_code=r.goods_code,
            description=r.description, description_hash=r.description_hash,
            quantity=r.quantity, unit=r.unit, location=r.location,
            evidence_hash=r.evidence_hash, op_id=r.op_id,
        )  # fmt: skip

    def add_pledge(self, pledge: ReceiptPledge) -> None:
        """Record a pledge of a receipt, or its release."""
        stmt = insert(t.receipt_pledges).values(
            receipt_id=pledge.receipt_id, action=pledge.action.value, actor_id=pledge.actor_id,
            op_id=pledge.op_id, bank_id=pledge.bank_id, amount=pledge.amount,
            created_at=utc_now(),
        )  # fmt: skip
        self._insert(stmt, lambda: f"pledge of {pledge.receipt_id} by {pledge.op_id}")

    def pledges(self, receipt_id: str) -> builtins.list[ReceiptPledge]:
        """The receipt's pledges and releases, oldest first."""
        p = t.receipt_pledges
        rows = self._rows(
            select(p).where(p.c.receipt_id == receipt_id, _standing(p)).order_by(p.c.seq)
        )
        return [_receipt_pledge(r) for r in rows]

    def live_pledges(self, bank_id: str) -> builtins.list[ReceiptPledge]:
        """The receipts pledged to ``bank_id`` now: each receipt's last event a pledge to it."""
        p = t.receipt_pledges
        pledged_here = select(p.c.receipt_id).where(p.c.bank_id == bank_id)
        rows = self._rows(
            select(p).where(p.c.receipt_id.in_(pledged_here), _standing(p)).order_by(p.c.seq)
        )
        last = {r.receipt_id: _receipt_pledge(r) for r in rows}
        return [
            e for e in last.values() if e.action is PledgeAction.PLEDGED and e.bank_id == bank_id
        ]

    def add_sale(self, sale: ReceiptSale) -> None:
        """Record an offer of part of a receipt."""
        stmt = insert(t.receipt_sales).values(
            id=sale.id, receipt_id=sale.receipt_id, seller_id=sale.seller_id,
            buyer_id=sale.buyer_id, buyer_receipt_id=sale.buyer_receipt_id,
            quantity=sale.quantity, price=sale.price, op_id=sale.op_id, created_at=utc_now(),
        )  # fmt: skip
        self._insert(stmt, lambda: f"sale {sale.id} already exists")

    def get_sale(self, sale_id: str) -> ReceiptSale | None:
        """The sale with id ``sale_id``."""
        return self._sale(t.receipt_sales.c.id == sale_id)

    def sale_into(self, buyer_receipt_id: str) -> ReceiptSale | None:
        """The sale whose buyer's units pass into ``buyer_receipt_id``."""
        return self._sale(t.receipt_sales.c.buyer_receipt_id == buyer_receipt_id)

    def sales(self, receipt_id: str) -> builtins.list[ReceiptSale]:
        """The sales out of a receipt, oldest first."""
        return self._sales(t.receipt_sales.c.receipt_id == receipt_id)

    def _sale(self, where: Any) -> ReceiptSale | None:
        found = self._sales(where)
        return found[0] if found else None

    def _sales(self, where: Any) -> builtins.list[ReceiptSale]:
        s = t.receipt_sales
        rows = self._rows(select(s).where(where, _standing(s)).order_by(s.c.seq))
        return [_receipt_sale(r) for r in rows]

    def add_sale_event(self, event: SaleEvent) -> None:
        """Record a payment toward a sale, or its closing."""
        stmt = insert(t.receipt_sale_events).values(
            sale_id=event.sale_id, action=event.action.value, actor_id=event.actor_id,
            op_id=event.op_id, amount=event.amount, created_at=utc_now(),
        )  # fmt: skip
        self._insert(stmt, lambda: f"sale event of {event.sale_id} by {event.op_id}")

    def sale_events(self, sale_id: str) -> builtins.list[SaleEvent]:
        """The sale's payments and closing, oldest first."""
        e = t.receipt_sale_events
        rows = self._rows(select(e).where(e.c.sale_id == sale_id, _standing(e)).order_by(e.c.seq))
        return [
            SaleEvent(r.sale_id, SaleAction(r.action), r.actor_id, r.op_id, r.amount, r.seq)
            for r in rows
        ]

    def add_release(self, release: GoodsRelease) -> None:
        """Record goods released from a receipt."""
        stmt = insert(t.goods_releases).values(
            receipt_id=release.receipt_id, quantity=release.quantity,
            evidence_hash=release.evidence_hash, actor_id=release.actor_id,
            op_id=release.op_id, created_at=utc_now(),
        )  # fmt: skip
        self._insert(stmt, lambda: f"release from {release.receipt_id} by {release.op_id}")

    def releases(self, receipt_id: str) -> builtins.list[GoodsRelease]:
        """The goods released from a receipt, oldest first."""
        g = t.goods_releases
        rows = self._rows(
            select(g).where(g.c.receipt_id == receipt_id, _standing(g)).order_by(g.c.seq)
        )
        return [
            GoodsRelease(r.receipt_id, r.quantity, r.evidence_hash, r.actor_id, r.op_id, r.seq)
            for r in rows
        ]


class SqlPresentations(_HeldNew[InvoicePresentation], _FactRepository):
    """Invoice fingerprints this platform registered (``ports.Presentations``); new ones held
    in a ``together`` block are seen by ``known``."""

    table = t.invoice_presentations

    def store_held(self, held: Sequence[InvoicePresentation]) -> None:
        """Store held presentations in one insert."""
        if held:
            now = utc_now()
            rows = [
                {"fingerprint": p.fingerprint, "trade_id": p.trade_id,
                 "presenter_id": p.presenter_id, "op_id": p.op_id, "created_at": now}
                for p in held
            ]  # fmt: skip
            self._session.execute(insert(self.table), rows)

    def add(self, presentation: InvoicePresentation) -> None:
        """Record a fingerprint presented."""
        if self._held is not None:
            self._held.append(presentation)
            return
        self._add(
            f"presentation of {presentation.fingerprint} by {presentation.op_id}",
            fingerprint=presentation.fingerprint, trade_id=presentation.trade_id,
            presenter_id=presentation.presenter_id, op_id=presentation.op_id,
        )  # fmt: skip

    def known(self, fingerprints: Sequence[str], *, except_op: str | None = None) -> set[str]:
        """Which of ``fingerprints`` this platform registered or queued (not failed), by
        another operation than ``except_op`` if given."""
        p = self.table
        wanted = set(fingerprints)
        found = {h.fingerprint for h in self._held or () if h.op_id != except_op} & wanted
        other = [] if except_op is None else [p.c.op_id != except_op]
        for chunk in iter_chunks(list(dict.fromkeys(fingerprints)), IN_CHUNK):
            stmt = select(p.c.fingerprint).where(p.c.fingerprint.in_(chunk), _standing(p), *other)
            found.update(self._session.execute(stmt).scalars())
        return found


class SqlDocumentFindings(_Repository):
    """Warnings kept with stored documents (``ports.DocumentFindings``)."""

    def add_many(self, findings: Sequence[DocumentFinding]) -> None:
        """Keep the warnings of documents stored in this transaction."""
        if findings:
            rows = [
                {"doc_id": f.doc_id, "code": f.code, "flag": f.flag, "message": f.message,
                 "location": f.location}
                for f in findings
            ]  # fmt: skip
            self._session.execute(insert(t.document_findings), rows)

    def for_document(self, doc_id: str) -> builtins.list[DocumentFinding]:
        """A document's warnings, in the order they were found."""
        f = t.document_findings
        rows = self._rows(select(f).where(f.c.doc_id == doc_id).order_by(f.c.seq))
        return [DocumentFinding(r.doc_id, r.code, r.flag, r.message, r.location) for r in rows]


class SqlGoodsPrices(_Repository):
    """Goods prices from the feed (``ports.GoodsPrices``); every price is kept."""

    def add(self, price: GoodsPrice) -> None:
        """Record a price; it is the goods code's latest from now on."""
        stmt = insert(t.goods_prices).values(
            goods_code=price.goods_code, price=price.price, currency=price.currency,
            as_of=price.as_of, previous=price.previous, created_at=utc_now(),
        )  # fmt: skip
        self._insert(stmt, lambda: f"price of {price.goods_code}")

    def latest(self, goods_code: str) -> GoodsPrice | None:
        """The latest price recorded for ``goods_code``."""
        g = t.goods_prices
        row = self._row(
            select(g).where(g.c.goods_code == goods_code).order_by(g.c.seq.desc()).limit(1)
        )
        if row is None:
            return None
        return GoodsPrice(row.goods_code, row.price, row.currency, row.as_of, row.previous)


class SqlProductPolicies(_Repository):
    """Banks' product policies, one version per edit (``ports.ProductPolicies``)."""

    def add(self, version: PolicyVersion) -> None:
        """Store a version; one already stored for the bank is a ConflictError."""
        stmt = insert(t.product_policies).values(
            bank_id=version.bank_id, version=version.version, policy=dict(version.policy),
            created_at=version.created_at or utc_now(),
        )  # fmt: skip
        self._insert(stmt, lambda: f"policy version {version.version} of {version.bank_id} exists")

    def latest(self, bank_id: str) -> PolicyVersion | None:
        """The bank's policy in force: its newest version."""
        found = self._versions(bank_id, newest_first=True, limit=1)
        return found[0] if found else None

    def get(self, bank_id: str, version: int) -> PolicyVersion | None:
        """Version ``version`` of the bank's policy."""
        p = t.product_policies
        row = self._row(select(p).where(p.c.bank_id == bank_id, p.c.version == version))
        return None if row is None else _policy_from_row(row)

    def versions(self, bank_id: str) -> builtins.list[PolicyVersion]:
        """Every version of the bank's policy, oldest first."""
        return self._versions(bank_id, newest_first=False, limit=None)

    def _versions(
        self, bank_id: str, *, newest_first: bool, limit: int | None
    ) -> builtins.list[PolicyVersion]:
        p = t.product_policies
        order = p.c.version.desc() if newest_first else p.c.version
        stmt = select(p).where(p.c.bank_id == bank_id).order_by(order).limit(limit)
        return [_policy_from_row(r) for r in self._rows(stmt)]


def _policy_from_row(row: Row[Any]) -> PolicyVersion:
    return PolicyVersion(row.bank_id, row.version, row.policy, row.created_at)


class SqlReportAnchors(_Repository):
    """Which operation registers each report hash (``ports.ReportAnchors``)."""

    def add(self, anchor: ReportAnchor) -> None:
        """Record the operation registering a report hash (a second one is a ConflictError)."""
        stmt = insert(t.report_anchors).values(
            report_hash=anchor.report_hash, op_id=anchor.op_id, created_at=utc_now()
        )
        self._insert(stmt, lambda: f"report hash {anchor.report_hash} is anchored already")

    def forget_op(self, op_id: str) -> None:
        """Forget the anchors ``op_id`` carried (the chain refused it): they may be sent again."""
        self._session.execute(delete(t.report_anchors).where(t.report_anchors.c.op_id == op_id))

    def known(self, report_hashes: Sequence[str]) -> set[str]:
        """Which of ``report_hashes`` are anchored or queued already."""
        a = t.report_anchors
        found: set[str] = set()
        for chunk in iter_chunks(list(dict.fromkeys(report_hashes)), IN_CHUNK):
            stmt = select(a.c.report_hash).where(a.c.report_hash.in_(chunk))
            found.update(self._session.execute(stmt).scalars())
        return found


class SqlResubmissions(_Repository):
    """Documents submitted again byte for byte (``ports.Resubmissions``)."""

    def note(self, doc_ids: Sequence[str]) -> None:
        """Count one more submission of each of ``doc_ids``."""
        r = t.document_resubmissions
        for doc_id in doc_ids:
            now = utc_now()
            if self._session.get_bind().dialect.name == "postgresql":
                pg = postgresql.insert(r).values(doc_id=doc_id, times=1, updated_at=now)
                stmt: Insert = pg.on_conflict_do_update(
                    index_elements=[r.c.doc_id], set_={"times": r.c.times + 1, "updated_at": now}
                )
            else:
                lite = sqlite.insert(r).values(doc_id=doc_id, times=1, updated_at=now)
                stmt = lite.on_conflict_do_update(
                    index_elements=[r.c.doc_id], set_={"times": r.c.times + 1, "updated_at": now}
                )
            self._session.execute(stmt)

    def counts(self) -> dict[str, int]:
        """Document id -> times submitted again."""
        r = t.document_resubmissions
        return {d: n for d, n in self._session.execute(select(r.c.doc_id, r.c.times))}


class SqlMandates(_Repository):
    """Who may send whose documents (``ports.Mandates``)."""

    def add(self, mandate: Mandate) -> None:
        """Record a mandate; an id already stored is a ConflictError."""
        stmt = insert(t.mandates).values(
            id=mandate.id, principal_id=mandate.principal_id, agent_id=mandate.agent_id,
            kinds=sorted(k.value for k in mandate.kinds), valid_from=mandate.valid_from,
            valid_to=mandate.valid_to, granted_on=mandate.granted_on, note=mandate.note,
            created_at=utc_now(), revoked_on=mandate.revoked_on, revoked_by=mandate.revoked_by,
            revoke_reason=mandate.revoke_reason,
        )  # fmt: skip
        self._insert(stmt, lambda: f"mandate {mandate.id} exists")

    def get(self, mandate_id: str) -> Mandate | None:
        """The mandate with id ``mandate_id``."""
        row = self._row(select(t.mandates).where(t.mandates.c.id == mandate_id))
        return None if row is None else _mandate(row)

    def revoke(self, mandate: Mandate) -> None:
        """Record ``mandate``'s revocation (day, by whom, why)."""
        stmt = (
            update(t.mandates)
            .where(t.mandates.c.id == mandate.id)
            .values(revoked_on=mandate.revoked_on, revoked_by=mandate.revoked_by,
                    revoke_reason=mandate.revoke_reason)
        )  # fmt: skip
        self._update(stmt, f"mandate {mandate.id}")

    def involving(self, org_ids: Sequence[str]) -> builtins.list[Mandate]:
        """Mandates whose principal is one of ``org_ids``, oldest first."""
        m = t.mandates
        found: builtins.list[Mandate] = []
        for chunk in iter_chunks(list(dict.fromkeys(org_ids)), IN_CHUNK):
            stmt = select(m).where(m.c.principal_id.in_(chunk)).order_by(m.c.seq)
            found.extend(_mandate(r) for r in self._rows(stmt))
        return sorted(found, key=lambda x: x.id)

    def list(self) -> builtins.list[Mandate]:
        """Every mandate, oldest first."""
        return [_mandate(r) for r in self._rows(select(t.mandates).order_by(t.mandates.c.seq))]


def _mandate(row: Row[Any]) -> Mandate:
    return Mandate(
        id=row.id, principal_id=row.principal_id, agent_id=row.agent_id,
        kinds=frozenset(DocumentKind(k) for k in row.kinds), valid_from=row.valid_from,
        valid_to=row.valid_to, granted_on=row.granted_on, note=row.note,
        revoked_on=row.revoked_on, revoked_by=row.revoked_by, revoke_reason=row.revoke_reason,
    )  # fmt: skip


class SqlSignalClearances(_Repository):
    """Fraud signals an operator cleared, with the reason (``ports.SignalClearances``)."""

    def add(self, clearance: SignalClearance) -> None:
        """Record a clearance."""
        stmt = insert(t.signal_clearances).values(
            trade_id=clearance.trade_id, code=clearance.code, cleared_by=clearance.cleared_by,
            reason=clearance.reason, on_day=clearance.on_day, created_at=utc_now(),
            person=clearance.person,
        )  # fmt: skip
        self._insert(stmt, lambda: f"clearance of {clearance.code} on {clearance.trade_id}")

    def for_trades(self, trade_ids: Sequence[str]) -> builtins.list[SignalClearance]:
        """Clearances of signals on ``trade_ids``, oldest first."""
        c = t.signal_clearances
        found: builtins.list[tuple[int, SignalClearance]] = []
        for chunk in iter_chunks(list(dict.fromkeys(trade_ids)), IN_CHUNK):
            for r in self._rows(select(c).where(c.c.trade_id.in_(chunk))):
                found.append(
                    (
                        r.seq,
                        SignalClearance(
                            r.trade_id, r.code, r.cleared_by, r.reason, r.on_day, r.person
                        ),
                    )
                )
        return [x for _, x in sorted(found, key=lambda p: p[0])]


class SqlTransferPayments(_Repository):
    """Supplier invoices paid by transfers of debt items (``ports.TransferPayments``); rows of
    an operation the chain refused are left out."""

    def add(self, payment: InvoicePaidByTransfer) -> None:
        """Record the part of an invoice a transfer paid."""
        stmt = insert(t.invoice_transfer_payments).values(
            holding_id=payment.holding_id, trade_id=payment.trade_id,
            invoice_number=payment.invoice_number, amount=payment.amount,
            payer_id=payment.payer_id, payee_id=payment.payee_id, on_day=payment.on_day,
            op_id=payment.op_id, created_at=utc_now(),
        )  # fmt: skip
        self._insert(stmt, lambda: f"payment of {payment.invoice_number} by a transfer")

    def _read(self, where: Any) -> builtins.list[InvoicePaidByTransfer]:
        p = t.invoice_transfer_payments
        rows = self._rows(select(p).where(where, _standing(p)).order_by(p.c.seq))
        return [
            InvoicePaidByTransfer(r.holding_id, r.trade_id, r.invoice_number, r.amount,
                                  r.payer_id, r.payee_id, r.on_day, r.op_id)
            for r in rows
        ]  # fmt: skip

    def for_trades(self, trade_ids: Sequence[str]) -> builtins.list[InvoicePaidByTransfer]:
        """What transfers paid of the invoices of ``trade_ids``."""
        p = t.invoice_transfer_payments
        found: builtins.list[InvoicePaidByTransfer] = []
        for chunk in iter_chunks(list(dict.fromkeys(trade_ids)), IN_CHUNK):
            found.extend(self._read(p.c.trade_id.in_(chunk)))
        return found

    def by_holding(self, holding_id: str) -> builtins.list[InvoicePaidByTransfer]:
        """What the transfer that created ``holding_id`` paid."""
        return self._read(t.invoice_transfer_payments.c.holding_id == holding_id)

    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        p = t.invoice_transfer_payments
        self._session.execute(delete(p).where(p.c.op_id == op_id))


class SqlGoodsFinancings(_Repository):
    """Financings against pledged warehouse receipts (``ports.GoodsFinancings``)."""

    def add(self, financing: GoodsFinancing) -> None:
        """Store a new goods financing."""
        now = utc_now()
        stmt = insert(t.goods_financings).values(
            id=financing.id, created_at=now, updated_at=now, **_goods_values(financing)
        )
        self._insert(stmt, lambda: f"goods financing {financing.id} exists")

    def update(self, financing: GoodsFinancing) -> None:
        """Replace a goods financing's status, decision and operations."""
        stmt = (
            update(t.goods_financings)
            .where(t.goods_financings.c.id == financing.id)
            .values(updated_at=utc_now(), **_goods_values(financing))
        )
        self._update(stmt, f"goods financing {financing.id}")

    def get(self, financing_id: str) -> GoodsFinancing | None:
        """The goods financing with id ``financing_id``."""
        g = t.goods_financings
        row = self._row(select(g).where(g.c.id == financing_id))
        return None if row is None else _goods_from_row(row)

    def for_receipt(self, receipt_id: str) -> builtins.list[GoodsFinancing]:
        """The receipt's financings, oldest first."""
        g = t.goods_financings
        rows = self._rows(select(g).where(g.c.receipt_id == receipt_id).order_by(g.c.seq))
        return [_goods_from_row(r) for r in rows]

    def list(self) -> builtins.list[GoodsFinancing]:
        """Every goods financing, oldest first."""
        g = t.goods_financings
        return [_goods_from_row(r) for r in self._rows(select(g).order_by(g.c.seq))]


def _goods_values(f: GoodsFinancing) -> dict[str, Any]:
    return {
        "receipt_id": f.receipt_id, "borrower_id": f.borrower_id, "bank_id": f.bank_id,
        "requested": f.requested, "principal": f.principal, "rate_bps": f.rate_bps,
        "start_date": f.start_date, "maturity_date": f.maturity_date, "currency": f.currency,
        "goods_code": f.goods_code, "quantity": f.quantity, "status": f.status.value,
        "decision": None if f.decision is None else codec.encode_decision(f.decision),
        "pledge_op_id": f.pledge_op_id, "closed_op_id": f.closed_op_id,
    }  # fmt: skip


def _goods_from_row(row: Row[Any]) -> GoodsFinancing:
    return GoodsFinancing(
        id=row.id, receipt_id=row.receipt_id, borrower_id=row.borrower_id, bank_id=row.bank_id,
        requested=int(row.requested), principal=int(row.principal), rate_bps=row.rate_bps,
        start_date=row.start_date, currency=row.currency, goods_code=row.goods_code,
        quantity=int(row.quantity), status=FinancingStatus(row.status),
        decision=None if row.decision is None else codec.decode_decision(row.decision),
        pledge_op_id=row.pledge_op_id, closed_op_id=row.closed_op_id,
        maturity_date=row.maturity_date,
    )  # fmt: skip


# --------------------------------------------------------------------------- a decision's reads


@dataclass(frozen=True, slots=True)
class AheadReads:
    """What a batch of financing decisions reads first about the holdings it names, read in
    one statement (``read_ahead``), each part as its repository's read gives it.

    Attributes:
        holdings: ``SqlDebtItems.get_holdings(named)``.
        latest: ``SqlFinancings.by_holdings(list(holdings))``.
        parents: ``SqlDebtItems.get_holdings`` of the holdings' parents (named ones too).
        items: ``SqlDebtItems.get_many`` of the holdings' items, oldest first.
        clearances: ``SqlSignalClearances.for_trades`` of the items' trades, oldest first.
        payments: ``SqlTransferPayments.for_trades`` of the items' trades, oldest first.
        near: the trades in which the items' debtors or creditors sell or buy (the trades a
            review reads, ``SqlTrades.involving``).
        disputed: ``SqlDisputes.raised_days`` of ``near``, a (trade, day) pair a dispute
            raised, in store order.
    """

    holdings: dict[str, Holding]
    latest: dict[str, Financing]
    parents: dict[str, Holding]
    items: builtins.list[DebtItem]
    clearances: builtins.list[SignalClearance]
    payments: builtins.list[InvoicePaidByTransfer]
    near: frozenset[str]
    disputed: builtins.list[tuple[str, dt.date]]


# One round trip for what ``read_ahead`` reads (PostgreSQL): each table's rows as JSON
# (row_to_json: a json column's text kept as stored), tagged, in store order within a tag.
_AHEAD = text(
    "WITH h AS (SELECT * FROM holdings WHERE id = ANY(:named)), "
    "i AS (SELECT * FROM debt_items WHERE id IN (SELECT item_id FROM h)), "
    "p AS (SELECT debtor_id AS org FROM i UNION SELECT creditor_id FROM i), "
    "near AS (SELECT id FROM trades WHERE seller_id IN (SELECT org FROM p) "
    "OR buyer_id IN (SELECT org FROM p)) "
    "SELECT 0, h.seq, row_to_json(h) FROM h "
    "UNION ALL SELECT 1, p.seq, row_to_json(p) FROM holdings p "
    "WHERE p.id IN (SELECT parent_id FROM h) "
    "UNION ALL SELECT 2, f.seq, row_to_json(f) FROM financings f "
    "WHERE f.holding_id IN (SELECT id FROM h) "
    "UNION ALL SELECT 3, i.seq, row_to_json(i) FROM i "
    "UNION ALL SELECT 4, c.seq, row_to_json(c) FROM signal_clearances c "
    "WHERE c.trade_id IN (SELECT trade_id FROM i) "
    "UNION ALL SELECT 5, p.seq, row_to_json(p) FROM invoice_transfer_payments p "
    "WHERE p.trade_id IN (SELECT trade_id FROM i) AND NOT EXISTS "
    "(SELECT 1 FROM outbox o WHERE o.op_id = p.op_id AND o.status = ANY(:unapplied)) "
    "UNION ALL SELECT 6, d.seq, json_build_object('trade_id', di.trade_id, 'on_day', d.on_day, "
    "'created_at', d.created_at) FROM dispute_events d JOIN debt_items di ON di.id = d.item_id "
    "WHERE d.action = :raised AND di.trade_id IN (SELECT id FROM near) AND NOT EXISTS "
    "(SELECT 1 FROM outbox o WHERE o.op_id = d.op_id AND o.status = ANY(:unapplied)) "
    "UNION ALL SELECT 7, 0, coalesce(json_agg(id), '[]') FROM near "
    "ORDER BY 1, 2"
)


def read_ahead(session: Session, named: Sequence[str]) -> AheadReads | None:
    """``AheadReads`` of the holdings ``named`` in one statement; None where the store reads
    them one read a table (SQLite: no round trips to save). Nothing may be held for writing
    (``SqlUnitOfWork.together``): the rows are as stored."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    rows = session.execute(
        _AHEAD,
        {
            "named": list(dict.fromkeys(named)),
            "unapplied": list(UNAPPLIED),
            "raised": DisputeAction.RAISED.value,
        },
    ).all()
    tables = (
        t.holdings, t.holdings, t.financings, t.debt_items, t.signal_clearances,
        t.invoice_transfer_payments,
    )  # fmt: skip
    parts: tuple[builtins.list[Any], ...] = ([], [], [], [], [], [])
    disputed: builtins.list[tuple[str, dt.date]] = []
    near: frozenset[str] = frozenset()
    for tag, _, found in rows:
        if tag < 6:
            parts[tag].append(_json_row(tables[tag], found))
        elif tag == 6:  # as raised_days: the day, else the day it was recorded (UTC)
            day, at = found["on_day"], found["created_at"]
            on = (
                dt.date.fromisoformat(day)
                if day
                else dt.datetime.fromisoformat(at).astimezone(dt.UTC).date()
            )
            disputed.append((found["trade_id"], on))
        else:
            near = frozenset(found)
    return AheadReads(
        holdings={r.id: _holding_from_row(r) for r in parts[0]},
        latest={r.holding_id: _financing_from_row(r) for r in parts[2]},
        parents={r.id: _holding_from_row(r) for r in parts[1]},
        items=[_item_from_row(r) for r in parts[3]],
        clearances=[
            SignalClearance(r.trade_id, r.code, r.cleared_by, r.reason, r.on_day, r.person)
            for r in parts[4]
        ],
        payments=[
            InvoicePaidByTransfer(
                r.holding_id,
                r.trade_id,
                r.invoice_number,
                r.amount,
                r.payer_id,
                r.payee_id,
                r.on_day,
                r.op_id,
            )
            for r in parts[5]
        ],
        near=near,
        disputed=disputed,
    )


def _json_row(table: Table, found: Mapping[str, Any]) -> Any:
    """A row of ``table`` as ``row_to_json`` gave it, with the values its columns' types give
    (dates and UTC timestamps from their ISO text; the rest as JSON has them), read by
    attribute as a ``Row``."""
    values: dict[str, Any] = {}
    for column in table.columns:
        value = found[column.name]
        if value is not None:
            kind = column.type
            if isinstance(kind, UtcDateTime):
                value = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
            elif isinstance(kind, Date):
                value = dt.date.fromisoformat(value)
        values[column.name] = value
    return SimpleNamespace(**values)


# One round trip for what a batch reads first under the banks' limits locks (PostgreSQL): the
# decisions' change marks, the holdings' rows locked in id order, the items' dispute events.
_LOCKED = text(
    "WITH h AS (SELECT * FROM holdings WHERE id = ANY(:ids) ORDER BY id FOR UPDATE), "
    "m AS (SELECT grp, sum(weight) AS total, "
    "sum(weight) FILTER (WHERE tx = txid_current()) AS own FROM decision_changes GROUP BY grp) "
    "SELECT 0, 0, json_build_array(grp, total, own) FROM m "
    "UNION ALL SELECT 1, 0, row_to_json(h) FROM h "
    "UNION ALL SELECT 2, d.seq, row_to_json(d) FROM dispute_events d "
    "WHERE d.item_id = ANY(:items) AND NOT EXISTS "
    "(SELECT 1 FROM outbox o WHERE o.op_id = d.op_id AND o.status = ANY(:unapplied)) "
    "UNION ALL SELECT 3, 0, to_json(p.fingerprint) FROM invoice_presentations p "
    "WHERE p.fingerprint = ANY(:prints) AND NOT EXISTS "
    "(SELECT 1 FROM outbox o WHERE o.op_id = p.op_id AND o.status = ANY(:unapplied)) "
    "ORDER BY 1, 2"
)


@dataclass(frozen=True, slots=True)
class LockedReads:
    """What a batch of decisions reads first under the banks' limits locks, in one statement
    (``read_locked``).

    Attributes:
        marks: ``SqlUnitOfWork.decision_marks()`` (group -> its sum, this transaction's part).
        holdings: ``SqlDebtItems.lock_holdings(ids)``: the rows locked, in id order.
        disputes: ``SqlDisputes.for_item`` of each item asked (none: an empty list).
        known: ``SqlPresentations.known`` of the fingerprints asked.
    """

    marks: dict[str, tuple[int, int]]
    holdings: dict[str, Holding]
    disputes: dict[str, builtins.list[DisputeEvent]]
    known: frozenset[str]


def read_locked(
    session: Session,
    holding_ids: Sequence[str],
    item_ids: Sequence[str],
    fingerprints: Sequence[str] = (),
) -> LockedReads:
    """``LockedReads`` in one statement (PostgreSQL; the store migrated to 0029)."""
    rows = session.execute(
        _LOCKED,
        {
            "ids": sorted(set(holding_ids)),
            "items": sorted(set(item_ids)),
            "unapplied": list(UNAPPLIED),
            "prints": sorted(set(fingerprints)),
        },
    ).all()
    marks: dict[str, tuple[int, int]] = {}
    known: set[str] = set()
    holdings: dict[str, Holding] = {}
    disputes: dict[str, builtins.list[DisputeEvent]] = {i: [] for i in item_ids}
    for tag, _, found in rows:
        if tag == 0:
            marks[str(found[0])] = (int(found[1]), int(found[2] or 0))
        elif tag == 1:
            holding = _holding_from_row(_json_row(t.holdings, found))
            holdings[holding.id] = holding
        elif tag == 2:
            event = _dispute(_json_row(t.dispute_events, found))
            disputes[event.item_id].append(event)
        else:
            known.add(found)
    return LockedReads(marks, dict(sorted(holdings.items())), disputes, frozenset(known))
