"""Ingestion on a real store and chain: hostile input harms nothing, signatures, proofs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fourflow.adapters.crypto.signatures import sign_secp256k1, sign_sm2, sm2_public_key
from fourflow.bootstrap import Platform
from fourflow.domain.parties import Organisation
from fourflow.domain.scenarios import Scenario
from fourflow.services import ingest, relay
from fourflow.services.demo import MEMBERS, trade_bundle
from fourflow.services.ingest import SubmittedFile
from fourflow.services.onboarding import onboard
from fourflow.services.proofs import check_proof, document_proof

pytestmark = pytest.mark.chain

SM2_PRIVATE = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"

HOSTILE = {
    "billion_laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
    "xxe_file": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<Invoice>&x;</Invoice>",
    "xxe_url": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
    b"<Invoice>&x;</Invoice>",
    "deep_xml": b"<a>" * 200_000 + b"</a>" * 200_000,
    "deep_json": b"[" * 5_000_000,
    "truncated": b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:'
    b'schema:xsd:Invoice-2"><cbc:ID',
    "wrong_encoding": '{"kind": "invoice", "number": "发票"}'.encode("utf-16"),
    "not_a_document": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10,
    "empty": b"",
}


def _members(p: Platform) -> dict[str, Organisation]:
    orgs = {}
    for m in MEMBERS[:5]:
        extra = [("sm2key", sm2_public_key(SM2_PRIVATE))] if m.key == "tier1" else []
        orgs[m.key] = onboard(uow_factory=p.uow_factory, keystore=p.keystore, name=m.name,
                              uscc=m.uscc, roles=m.roles, accounts=[m.account],
                              identifiers=extra)  # fmt: skip
    relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    return orgs


def _bundle(prefix: str) -> bytes:
    m = {x.key: x for x in MEMBERS}
    return trade_bundle(
        prefix=prefix, seller=m["tier1"], buyer=m["core"], carrier=m["logistics"],
        lines=[("SKU-1", "10", "EA", "100.00")], received_factor="1",
        day0=dt.date(2026, 9, 1), terms_days=90, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip


def _state(p: Platform) -> tuple[int, list[tuple[str, str]], list[int]]:
    """Documents stored, the outbox's operations and their states, and how many transactions
    each of this platform's accounts has sent (the worker's node is shared with other tests,
    so its block number is no measure of what this platform did)."""
    with p.uow_factory() as uow:
        docs = uow.documents.count()
        ops = sorted((op.op_id, str(op.status)) for op in uow.outbox.list())
        org_ids = [o.id for o in uow.organisations.list()]
    ledger = p.require_contracts()
    sent = [ledger.client.pending_nonce(ledger.account(o).address) for o in sorted(org_ids)]
    return docs, ops, sent


def test_hostile_inputs_are_refused_and_change_nothing(platform: Platform) -> None:
    orgs = _members(platform)
    before = _state(platform)
    outcomes = ingest.ingest_files(
        uow_factory=platform.uow_factory, reader=platform.reader_for(orgs["tier1"].id),
        clock=platform.clock, submitter_id=orgs["tier1"].id,
        files=[SubmittedFile(name, raw) for name, raw in HOSTILE.items()],
    )  # fmt: skip
    relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
    assert [o.status for o in outcomes] == ["rejected"] * len(HOSTILE)
    codes = {o.source: o.errors[0]["code"] for o in outcomes}
    assert codes["billion_laughs"] == codes["xxe_file"] == codes["xxe_url"] == "DTD_FORBIDDEN"
    assert codes["deep_json"] == "TOO_DEEP"
    assert codes["wrong_encoding"] in {"ENCODING", "UNKNOWN_FORMAT"}
    assert all(o.errors[0]["message"] for o in outcomes)
    assert _state(platform) == before


def test_a_batch_keeps_the_good_files_and_reports_the_bad(platform: Platform) -> None:
    orgs = _members(platform)
    files = [SubmittedFile("good-1.json", _bundle("G1")), SubmittedFile("bad.xml", HOSTILE["xxe_file"]),
             SubmittedFile("good-2.json", _bundle("G2"))]  # fmt: skip
    outcomes = ingest.ingest_files(
        uow_factory=platform.uow_factory, reader=platform.reader_for(orgs["tier1"].id),
        clock=platform.clock, files=files, submitter_id=orgs["tier1"].id,
    )  # fmt: skip
    by_file = {f.source: [o.status for o in outcomes if o.source == f.source] for f in files}
    assert by_file == {"good-1.json": ["accepted"] * 5, "bad.xml": ["rejected"],
                       "good-2.json": ["accepted"] * 5}  # fmt: skip
    again = ingest.ingest_files(
        uow_factory=platform.uow_factory, reader=platform.reader_for(orgs["tier1"].id),
        clock=platform.clock, files=files[:1], submitter_id=orgs["tier1"].id,
    )  # fmt: skip
    assert {o.status for o in again} == {"duplicate"}


@pytest.mark.parametrize("algorithm", ["secp256k1", "sm2"])
def test_signed_documents_are_verified_and_kept(platform: Platform, algorithm: str) -> None:
    orgs = _members(platform)
    raw = _bundle(f"S-{algorithm}")
    if algorithm == "sm2":
        signature = sign_sm2(SM2_PRIVATE, raw)
    else:
        signature = sign_secp256k1(platform.keystore.private_key(orgs["tier1"].id), raw)

    def submit(file: SubmittedFile) -> list[ingest.DocumentOutcome]:
        return ingest.ingest_files(
            uow_factory=platform.uow_factory, reader=platform.reader_for(orgs["tier1"].id),
            clock=platform.clock, files=[file], submitter_id=orgs["tier1"].id,
            verifier=platform.verifier,
        )  # fmt: skip

    forged = submit(SubmittedFile("f", raw + b" ", signature))
    assert forged[0].status == "rejected" and forged[0].errors[0]["code"] == "SIGNATURE"
    other = sign_secp256k1(platform.keystore.private_key(orgs["tier2"].id), raw)
    wrong_signer = submit(SubmittedFile("w", raw, other))
    assert wrong_signer[0].status == "rejected"
    assert "not by" in wrong_signer[0].errors[0]["message"]
    good = submit(SubmittedFile("g", raw, signature))
    assert {o.status for o in good} == {"accepted"}
    with platform.uow_factory() as uow:
        stored = uow.documents.get(str(good[0].document_id))
    assert stored is not None and stored.signature is not None
    assert stored.signature["algorithm"] == signature["algorithm"]


def test_a_proof_checks_against_the_chain_alone(platform: Platform) -> None:
    orgs = _members(platform)
    raw = _bundle("P1")
    outcomes = ingest.ingest_files(
        uow_factory=platform.uow_factory, reader=platform.reader_for(orgs["tier1"].id),
        clock=platform.clock, files=[SubmittedFile("p.json", raw)], submitter_id=orgs["tier1"].id,
    )  # fmt: skip
    ingest.anchor_pending(uow_factory=platform.uow_factory, clock=platform.clock,
                          operator_id=platform.operator_id())  # fmt: skip
    relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
    doc_id = str(outcomes[4].document_id)
    proof = json.loads(json.dumps(
        document_proof(uow_factory=platform.uow_factory, ledger=platform.require_contracts(),
                       doc_id=doc_id)))  # fmt: skip
    # A third party: only the proof, the file and a chain node with the notary's address.
    outsider = platform.ledger_at(None, {"Notary": proof["anchor"]["notary"]})
    result = check_proof(
        proof, ledger=outsider, raw=raw, reader_factory=lambda: platform.reader_for(None)
    )
    assert result.ok, result.messages
    tampered = raw.replace(b"100.00", b"900.00")
    bad = check_proof(
        proof, ledger=outsider, raw=tampered, reader_factory=lambda: platform.reader_for(None)
    )
    assert not bad.ok and bad.checks["file_matches_fingerprint"] is False
    proof["merkle"]["root"] = "00" * 32
    assert not check_proof(proof, ledger=outsider).ok
