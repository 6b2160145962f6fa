"""Proofs a third party can check against the chain alone.

A proof names a document's content fingerprint, the Merkle path from it to its batch's root,
and where that root is anchored (chain id, notary contract, batch id, transaction). Checking it
needs only the proof, optionally the document file, and a chain node: no access to FourFlow's
database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.hashing import (
    HashAlgorithm,
    fingerprint,
    fingerprint_bytes,
    verify_merkle_proof,
)
from fourflow.services.ports import (
    Batch,
    ChainInfo,
    ChainOp,
    Ledger,
    OpKind,
    OpStatus,
    StoredDocument,
    UnitOfWorkFactory,
)
from fourflow.services.reading import DocumentReader

PROOF_FORMAT = "fourflow-proof/1"
MERKLE_SCHEME = "sha256; leaf = H(0x00 || digest); node = H(0x01 || min(a,b) || max(a,b))"


def document_proof(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, doc_id: str, info: ChainInfo | None = None
) -> dict[str, Any]:
    """The proof of a stored, anchored document (``info``: the ledger's, read already for
    many documents; else read here)."""
    with uow_factory() as uow:
        stored = uow.documents.get(doc_id)
        if stored is None:
            raise DomainValueError(f"document {doc_id} not found")
        proof_text = uow.documents.proof(doc_id)
        if stored.batch_id is None or proof_text is None:
            raise ConflictError(f"document {doc_id} is not in an anchoring batch yet")
        batch = uow.batches.get(stored.batch_id)
        ops = uow.outbox.for_subject(stored.batch_id)
    return _proof(stored, proof_text, batch, ops, lambda: info or ledger.info())


def document_proofs(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, stored: Sequence[StoredDocument]
) -> dict[str, dict[str, Any] | ConflictError]:
    """Each stored document's proof as ``document_proof`` gives it, or the ``ConflictError``
    it raises (not anchored yet), by document id: read in one transaction, each batch once,
    the ledger's info once (a trade's documents share a batch or a few)."""
    with uow_factory() as uow:
        texts = {s.document.id: uow.documents.proof(s.document.id) for s in stored}
        batch_ids = sorted({s.batch_id for s in stored if s.batch_id is not None})
        batches = {b: uow.batches.get(b) for b in batch_ids}
        ops = {b: uow.outbox.for_subject(b) for b in batch_ids}
    known: list[ChainInfo] = []

    def info() -> ChainInfo:
        if not known:
            known.append(ledger.info())
        return known[0]

    out: dict[str, dict[str, Any] | ConflictError] = {}
    for s in stored:
        doc_id, text = s.document.id, texts[s.document.id]
        try:
            if s.batch_id is None or text is None:
                raise ConflictError(f"document {doc_id} is not in an anchoring batch yet")
            out[doc_id] = _proof(s, text, batches[s.batch_id], ops[s.batch_id], info)
        except ConflictError as exc:
            out[doc_id] = exc
    return out


def _proof(
    stored: StoredDocument,
    proof_text: str,
    batch: Batch | None,
    ops: Sequence[ChainOp],
    info_of: Callable[[], ChainInfo],
) -> dict[str, Any]:
    doc_id = stored.document.id
    anchor = next((o for o in ops if o.kind is OpKind.ANCHOR_BATCH), None)
    if batch is None or anchor is None or anchor.status is not OpStatus.DONE:
        raise ConflictError(f"the batch of document {doc_id} is not anchored on the chain yet")
    path = json.loads(proof_text)
    info = info_of()
    doc = stored.document
    return {
        "format": PROOF_FORMAT,
        "document": {
            "id": doc.id,
            "kind": doc.kind.value,
            "number": doc.number,
            "issue_date": doc.issue_date.isoformat(),
            "source_format": doc.source_format,
            "media_type": stored.media_type,
        },
        "fingerprint": stored.fingerprint,
        "merkle": {
            "scheme": MERKLE_SCHEME,
            "leaf_index": path["index"],
            "siblings": path["siblings"],
            "root": batch.root,
        },
        "anchor": {
            "chain_id": info.chain_id,
            "notary": info.contracts.get("Notary"),
            "batch_id": batch.id,
            "count": batch.count,
            "tx_hash": anchor.tx_hash,
            "block_number": anchor.block_number,
        },
    }


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """The result of checking a proof.

    Attributes:
        ok: every check passed.
        checks: each check by name with its outcome (True passed).
        messages: what failed, in words.
    """

    ok: bool
    checks: Mapping[str, bool]
    messages: tuple[str, ...]


def _file_matches(proof: Mapping[str, Any], raw: bytes, reader: DocumentReader) -> bool:
    algorithm = HashAlgorithm(str(proof["fingerprint"]).split(":", 1)[0])
    parsed = reader.read(raw, source="file")
    return any(fingerprint(p.canonical, algorithm) == proof["fingerprint"] for p in parsed)


def check_proof(
    proof: Mapping[str, Any],
    *,
    ledger: Ledger,
    raw: bytes | None = None,
    reader_factory: Callable[[], DocumentReader] | None = None,
) -> ProofCheck:
    """Check a proof against the chain (and the document file, when given)."""
    if proof.get("format") != PROOF_FORMAT:
        raise DomainValueError(f"not a FourFlow proof (format {proof.get('format')!r})")
    checks: dict[str, bool] = {}
    messages: list[str] = []
    fp = str(proof["fingerprint"])
    if raw is not None and reader_factory is not None:
        checks["file_matches_fingerprint"] = _file_matches(proof, raw, reader_factory())
        if not checks["file_matches_fingerprint"]:
            messages.append("the file's canonical form does not have the proof's fingerprint")
    merkle = proof["merkle"]
    siblings = [bytes.fromhex(s) for s in merkle["siblings"]]
    root = bytes.fromhex(merkle["root"])
    checks["merkle_path"] = verify_merkle_proof(fingerprint_bytes(fp), siblings, root)
    if not checks["merkle_path"]:
        messages.append("the Merkle path does not lead from the fingerprint to the root")
    anchor = proof["anchor"]
    info = ledger.info()
    checks["chain_id"] = info.chain_id == int(anchor["chain_id"])
    if not checks["chain_id"]:
        messages.append(f"chain id is {info.chain_id}, the proof names {anchor['chain_id']}")
    on_chain = ledger.read("anchor", anchor["batch_id"])
    checks["root_anchored"] = (
        on_chain is not None
        and str(on_chain["root"]).lower().removeprefix("0x") == str(merkle["root"]).lower()
    )
    if not checks["root_anchored"]:
        messages.append("the notary has no anchor of this root for the batch")
    checks["fingerprint_registered"] = ledger.read("fingerprint", fp) is not None
    if not checks["fingerprint_registered"]:
        messages.append("the notary has not registered this fingerprint")
    return ProofCheck(all(checks.values()), checks, tuple(messages))
