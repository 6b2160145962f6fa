"""The main path's use cases on the fakes: onboarding, ingest, linking, verification, issue."""

from __future__ import annotations

import json

import pytest

from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.debt import Basis, ItemStatus
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.findings import VerificationStatus
from fourflow.domain.hashing import fingerprint_bytes, verify_merkle_proof
from fourflow.domain.parties import Role
from fourflow.domain.scenarios import Scenario
from fourflow.services import commands as cmd
from fourflow.services import ingest, items, linking, onboarding
from fourflow.services.demo import demo_uscc, trade_bundle
from fourflow.services.ports import OpKind, OpStatus
from tests.services.conftest import MEMBERS, World


def test_onboarding_registers_admits_and_is_idempotent(world: World) -> None:
    tier1 = world.org["tier1"]
    assert tier1.chain_address == world.keys.address(tier1.id)
    with world.uow() as uow:
        (admit,) = uow.outbox.for_subject(tier1.id)
    assert isinstance(admit.command, cmd.AdmitMember)
    assert admit.command.address == tier1.chain_address
    assert admit.status is OpStatus.DONE and admit.sender_org_id == world.operator.id
    m = MEMBERS["tier1"]
    again = onboarding.onboard(
        uow_factory=world.uow, keystore=world.keys, name=m.name, uscc=m.uscc, roles=m.roles
    )
    assert again == tier1
    with pytest.raises(ConflictError, match="already belongs to"):
        onboarding.onboard(
            uow_factory=world.uow, keystore=world.keys, name="另一家公司", uscc=m.uscc,
            roles=[Role.SUPPLIER],
        )  # fmt: skip
    with pytest.raises(ConflictError, match=f"account {m.account} already belongs"):
        onboarding.onboard(
            uow_factory=world.uow, keystore=world.keys, name="新公司",
            uscc=demo_uscc("320500", "MA1FF0077"), roles=[Role.SUPPLIER], accounts=[m.account],
        )  # fmt: skip


def _bundle(world: World, prefix: str) -> bytes:
    return trade_bundle(
        prefix=prefix, seller=MEMBERS["tier1"], buyer=MEMBERS["core"],
        carrier=MEMBERS["logistics"], lines=[("SHAFT", "10", "EA", "250.00")],
        received_factor="1", day0=world.clock.today().replace(day=1), terms_days=60,
        scenario=Scenario.MANUFACTURING,
    )  # fmt: skip


def test_ingest_stores_each_document_once_and_linking_makes_one_trade(world: World) -> None:
    raw, seller = _bundle(world, "ING"), world.id("tier1")
    reader = DetectingReader(submitter=seller)
    first = ingest.ingest_bytes(
        uow_factory=world.uow, reader=reader, clock=world.clock, raw=raw, source="a.json",
        submitter_id=seller,
    )  # fmt: skip
    assert [o.status for o in first] == ["accepted"] * 5
    again = ingest.ingest_bytes(
        uow_factory=world.uow, reader=reader, clock=world.clock, raw=raw, source="b.json",
        submitter_id=seller,
    )  # fmt: skip
    assert [o.status for o in again] == ["duplicate"] * 5
    assert [o.document_id for o in again] == [o.document_id for o in first]
    with world.uow() as uow:
        assert uow.documents.count() == 5
        (invoice,) = uow.documents.by_number(DocumentKind.INVOICE, "INV-ING")
        assert invoice.document.total is not None and invoice.document.total.plain() == "2825.00"

    result = linking.link_documents(uow_factory=world.uow)
    (trade_id,) = result.created
    with world.uow() as uow:
        trade = uow.trades.get(trade_id)
        assert uow.documents.unlinked() == []
    assert trade is not None and len(trade.document_ids) == 5
    assert (trade.seller_id, trade.buyer_id) == (seller, world.id("core"))
    assert linking.link_documents(uow_factory=world.uow).created == ()


def test_verification_passes_a_consistent_trade_and_fails_short_delivery(world: World) -> None:
    good = world.trade()
    short = world.trade("tier2", "tier1", received_factor="0.6")
    with world.uow() as uow:
        ok, bad = uow.trades.get(good), uow.trades.get(short)
    assert ok is not None and ok.report is not None and ok.report_hash
    assert ok.report.status is not VerificationStatus.FAILED and ok.score is not None
    assert bad is not None and bad.report is not None
    assert bad.report.status is VerificationStatus.FAILED
    errors = [f.code for f in bad.report.findings if f.severity == "error"]
    assert errors, bad.report.findings
    with pytest.raises(items.IssuanceRefusedError) as refused:
        items.issue_item(
            uow_factory=world.uow, ledger=world.ledger, clock=world.clock, trade_id=short,
            as_of=world.clock.today(), confirm=False,
        )  # fmt: skip
    assert refused.value.reasons and refused.value.reasons[0].split(":")[0] in errors
    with world.uow() as uow:
        assert uow.items.by_trade(short) is None


def test_issue_on_the_evidence_and_confirmed_by_the_debtor(world: World) -> None:
    verified = world.item()
    assert verified.basis is Basis.VERIFIED and verified.status is ItemStatus.ACTIVE
    assert verified.face_value == 11_300_000  # 100 x 1000.00 + 13 % VAT, in fen
    (holding,) = world.holdings(verified.id)
    assert (holding.holder_id, holding.outstanding) == (world.id("tier1"), 11_300_000)

    confirmed = world.item(confirm=True)
    assert confirmed.basis is Basis.CONFIRMED
    with world.uow() as uow:
        op, lock = uow.outbox.for_subject(confirmed.id)  # the debtor's route is locked with it
    assert lock.kind is OpKind.LOCK_ROUTE and lock.sender_org_id == confirmed.debtor_id
    assert isinstance(op.command, cmd.IssueItem) and op.command.confirmation is not None
    assert op.command.confirmation.signature.startswith("0x")
    assert world.ledger.kinds().count(OpKind.ISSUE_ITEM) == 2

    with pytest.raises(ConflictError, match="already has a debt item"):
        items.issue_item(
            uow_factory=world.uow, ledger=world.ledger, clock=world.clock,
            trade_id=verified.trade_id, as_of=world.clock.today(), confirm=False,
        )  # fmt: skip


def test_anchoring_batches_every_unanchored_document_once(world: World) -> None:
    world.trade()
    batch = ingest.anchor_pending(
        uow_factory=world.uow, clock=world.clock, operator_id=world.operator.id
    )
    assert batch is not None and batch.count == 5
    with world.uow() as uow:
        (trade,) = uow.trades.list()
        stored = uow.documents.get_many(trade.document_ids)
        proofs = {s.document.id: uow.documents.proof(s.document.id) for s in stored}
        assert uow.documents.unanchored(10) == []
    assert {s.batch_id for s in stored} == {batch.id}
    for s in stored:
        proof = json.loads(proofs[s.document.id] or "null")
        siblings = [bytes.fromhex(x) for x in proof["siblings"]]
        root = bytes.fromhex(batch.root)
        assert verify_merkle_proof(fingerprint_bytes(s.fingerprint), siblings, root)
    assert (
        ingest.anchor_pending(
            uow_factory=world.uow, clock=world.clock, operator_id=world.operator.id
        )
        is None
    )
    assert world.relay().failed == ()
    (anchor,) = [op for op in world.ledger.applied.values() if op.kind is OpKind.ANCHOR_BATCH]
    assert isinstance(anchor.command, cmd.AnchorBatch)
    assert (anchor.command.root, anchor.command.count) == (batch.root, 5)


def test_only_a_bank_mints_settlement_tokens(world: World) -> None:
    op = items.mint_tokens(
        uow_factory=world.uow, bank_id=world.id("bank"), to_org_id=world.id("core"),
        amount=5_000_000,
    )  # fmt: skip
    assert isinstance(op.command, cmd.TokenMint)
    assert (op.command.to_address, op.command.amount) == (
        world.org["core"].chain_address,
        5_000_000,
    )
    with pytest.raises(PermissionDeniedError, match="is not a bank: it cannot mint"):
        items.mint_tokens(
            uow_factory=world.uow, bank_id=world.id("tier1"), to_org_id=world.id("core"), amount=1
        )
    with pytest.raises(DomainValueError, match="mint amount must be positive"):
        items.mint_tokens(
            uow_factory=world.uow, bank_id=world.id("bank"), to_org_id=world.id("core"), amount=0
        )
    assert world.relay().failed == () and world.ledger.kinds()[-1] is OpKind.TOKEN_MINT
