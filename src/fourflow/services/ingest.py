"""Ingesting documents: parse, fingerprint, store, queue fingerprint registration; anchor batches.

A batch of files is handled file by file: a bad file is reported and the good ones are kept.
Within one file, either every document is stored or none is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from fourflow.domain.documents import business_key_text
from fourflow.domain.errors import FourFlowError
from fourflow.domain.hashing import (
    HashAlgorithm,
    fingerprint,
    fingerprint_bytes,
    merkle_proofs,
)
from fourflow.services.common import new_id
from fourflow.services.ports import (
    Batch,
    ChainOp,
    Clock,
    OpKind,
    StoredDocument,
    UnitOfWorkFactory,
)
from fourflow.services.reading import DocumentReader, ParsedDocument

MAX_FINGERPRINTS_PER_OP = 256


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
    """

    source: str
    status: str
    document_id: str | None = None
    parsed: ParsedDocument | None = None
    fingerprint: str | None = None
    business_key: str | None = None
    errors: tuple[dict[str, str], ...] = field(default=())


def _errors_of(exc: Exception) -> tuple[dict[str, str], ...]:
    problems = getattr(exc, "problems", None)
    if problems:
        return tuple(
            {"code": p.code, "message": p.message, "location": p.location} for p in problems
        )
    return ({"code": type(exc).__name__, "message": str(exc), "location": ""},)


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
    try:
        parsed = reader.read(raw, source=source)
    except FourFlowError as exc:
        return [DocumentOutcome(source=source, status="rejected", errors=_errors_of(exc))]
    outcomes: list[DocumentOutcome] = []
    new_fingerprints: list[str] = []
    with uow_factory() as uow:
        seen: dict[str, str] = {}
        for item in parsed:
            fp = fingerprint(item.canonical, algorithm)
            key_text = business_key_text(item.document)
            bkey = fingerprint(key_text.encode("utf-8"), algorithm) if key_text else None
            earlier = uow.documents.by_fingerprint(fp)
            earlier_id = earlier.document.id if earlier else seen.get(fp)
            if earlier_id is not None:
                outcomes.append(DocumentOutcome(source, "duplicate", earlier_id, item, fp, bkey))
                continue
            document = item.document
            uow.documents.add(
                StoredDocument(
                    document=document,
                    fingerprint=fp,
                    business_key=bkey,
                    raw=item.raw,
                    media_type=item.media_type,
                    created_at=clock.now(),
                )
            )
            seen[fp] = document.id
            new_fingerprints.append(fp)
            outcomes.append(DocumentOutcome(source, "accepted", document.id, item, fp, bkey))
        for start in range(0, len(new_fingerprints), MAX_FINGERPRINTS_PER_OP):
            chunk = new_fingerprints[start : start + MAX_FINGERPRINTS_PER_OP]
            uow.outbox.add(
                ChainOp(
                    op_id=new_id("op"),
                    kind=OpKind.REGISTER_FINGERPRINTS,
                    sender_org_id=submitter_id,
                    params={"fingerprints": chunk},
                )
            )
        uow.commit()
    return outcomes


def ingest_many(
    *,
    uow_factory: UnitOfWorkFactory,
    reader: DocumentReader,
    clock: Clock,
    files: Sequence[tuple[str, bytes]],
    submitter_id: str,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> list[DocumentOutcome]:
    """Ingest several files; each file stands or falls alone."""
    outcomes: list[DocumentOutcome] = []
    for source, raw in files:
        outcomes.extend(
            ingest_bytes(
                uow_factory=uow_factory,
                reader=reader,
                clock=clock,
                raw=raw,
                source=source,
                submitter_id=submitter_id,
                algorithm=algorithm,
            )
        )
    return outcomes


def anchor_pending(
    *, uow_factory: UnitOfWorkFactory, clock: Clock, operator_id: str, max_batch: int = 4096
) -> Batch | None:
    """Put the documents not yet anchored into one batch and queue its Merkle root."""
    with uow_factory() as uow:
        pending = uow.documents.unanchored(max_batch)
        if not pending:
            return None
        leaves = [fingerprint_bytes(d.fingerprint) for d in pending]
        root, proofs = merkle_proofs(leaves)
        batch = Batch(
            id=new_id("batch"), root=root.hex(), count=len(pending), created_at=clock.now()
        )
        uow.batches.add(batch)
        uow.documents.set_batch(
            [d.document.id for d in pending],
            batch.id,
            {
                d.document.id: json.dumps({"index": i, "siblings": [s.hex() for s in proof]})
                for i, (d, proof) in enumerate(zip(pending, proofs, strict=True))
            },
        )
        uow.outbox.add(
            ChainOp(
                op_id=new_id("op"),
                kind=OpKind.ANCHOR_BATCH,
                sender_org_id=operator_id,
                params={"batch_id": batch.id, "root": batch.root, "count": batch.count},
                subject_id=batch.id,
            )
        )
        uow.commit()
    return batch
