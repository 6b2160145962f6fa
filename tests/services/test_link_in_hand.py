"""Linking takes the documents ingest just stored from the caller's hands (``in_hand``) instead
of reading and decoding them again; every other unlinked document is still read, and the
store alone says which documents are unlinked."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pytest

from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.scenarios import Scenario
from fourflow.services import ingest, linking
from fourflow.services.demo import trade_bundle
from fourflow.services.ingest import DocumentOutcome
from fourflow.services.ports import StoredDocument
from tests.fakes import FakeDocuments
from tests.services.conftest import MEMBERS, World


def _bundle(world: World, prefix: str) -> dict[str, Any]:
    raw = trade_bundle(
        prefix=prefix, seller=MEMBERS["tier1"], buyer=MEMBERS["core"],
        carrier=MEMBERS["logistics"], lines=[("GEAR-HOUSING", "100", "EA", "1000.00")],
        received_factor="1", day0=world.clock.today() - dt.timedelta(30), terms_days=60,
        scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    bundle: dict[str, Any] = json.loads(raw)
    return bundle


def _ingest(world: World, bundle: dict[str, Any], kinds: set[str], party: str) -> list[Any]:
    docs = [d for d in bundle["documents"] if d["kind"] in kinds]
    part = json.dumps({**bundle, "documents": docs}, ensure_ascii=False).encode()
    outcomes = ingest.ingest_bytes(
        uow_factory=world.uow, reader=DetectingReader(submitter=world.id(party)),
        clock=world.clock, raw=part, source=f"{party}.json", submitter_id=world.id(party),
    )  # fmt: skip
    assert [o.status for o in outcomes] == ["accepted"] * len(docs), outcomes
    return outcomes


def test_documents_in_hand_are_not_read_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _bundle(world, "H001")
    # the buyer's order arrived earlier and waits unlinked: not in hand, so it is read
    earlier = _ingest(world, bundle, {"order", "receipt_advice"}, "core")
    rest = {d["kind"] for d in bundle["documents"]} - {"order", "receipt_advice"}
    fresh: list[DocumentOutcome] = _ingest(world, bundle, rest, "tier1")
    asked: list[str] = []
    get_many = FakeDocuments.get_many

    def recording(self: FakeDocuments, doc_ids: Sequence[str]) -> list[StoredDocument]:
        asked.extend(doc_ids)
        return get_many(self, doc_ids)

    monkeypatch.setattr(FakeDocuments, "get_many", recording)
    linked = linking.link_documents(uow_factory=world.uow, in_hand=ingest.stored(fresh))
    (trade_id,) = linked.created
    assert linked.unlinked == ()
    assert sorted(asked) == sorted(o.document_id for o in earlier)
    with world.uow() as uow:
        assert uow.documents.unlinked_ids() == []
        record = uow.trades.get(trade_id)
    assert record is not None
    assert set(record.document_ids) == {o.document_id for o in earlier + fresh}


def test_in_hand_documents_already_linked_are_left_alone(world: World) -> None:
    bundle = _bundle(world, "H002")
    outcomes = _ingest(world, bundle, {d["kind"] for d in bundle["documents"]}, "tier1")
    first = linking.link_documents(uow_factory=world.uow)
    (trade_id,) = first.created
    # linked meanwhile (here by the run above): handing them in again changes nothing
    again = linking.link_documents(uow_factory=world.uow, in_hand=ingest.stored(outcomes))
    assert again == linking.LinkResult((), (), ())
    with world.uow() as uow:
        assert {uow.documents.get(o.document_id).trade_id for o in outcomes} == {trade_id}  # type: ignore[union-attr]


def test_same_result_with_and_without_documents_in_hand(world: World) -> None:
    results = []
    for prefix, hand in (("H003", False), ("H004", True)):
        bundle = _bundle(world, prefix)
        outcomes = _ingest(world, bundle, {d["kind"] for d in bundle["documents"]}, "tier1")
        linked = linking.link_documents(
            uow_factory=world.uow, in_hand=ingest.stored(outcomes) if hand else ()
        )
        with world.uow() as uow:
            (trade_id,) = linked.created
            record = uow.trades.get(trade_id)
        assert record is not None
        kinds = sorted(
            o.parsed.document.kind.value
            for o in outcomes
            if o.document_id in record.document_ids and o.parsed
        )
        results.append((len(linked.created), linked.extended, linked.unlinked, kinds))
    assert results[0] == results[1]
    assert len(results[0][3]) == len(_bundle(world, "H005")["documents"])
