"""Documents stored in a batch (``SqlDocuments.add_many``; on PostgreSQL by COPY, 835eef0) with
hostile values: unicode beyond the BMP, a large raw body, the largest total, missing optional
values; a value PostgreSQL refuses (a NUL in a text column) part-way through a batch stores
nothing of the batch, and the unit of work's next batch stores as usual."""

from __future__ import annotations

import dataclasses

import psycopg

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.money import Money
from tests.store import builders as b


def test_hostile_values_are_stored_and_read_back_exactly(uow: SqlUnitOfWorkFactory) -> None:
    astral = "发票 \U0001f9fe e\u0301 \u202e\ufeff"
    one = dataclasses.replace(b.stored(1), raw=bytes(range(256)) * 20_000, source=astral)
    two = b.stored(2, number="N\u00ba-" + astral * 200)
    two = dataclasses.replace(
        two,
        document=dataclasses.replace(
            two.document, total=Money.of("92233720368547758.07", "CNY"), currency=None
        ),
        business_key=astral,
        signature={"by": astral, "empty": ""},
    )
    batch = [one, two, b.stored(3)]
    with uow() as u:
        u.documents.add_many(batch)
        u.commit()
    with uow() as u:
        assert u.documents.get_many(["doc-1", "doc-2", "doc-3"]) == batch


def test_a_refused_value_mid_batch_stores_nothing_and_the_next_batch_stores(
    uow: SqlUnitOfWorkFactory,
) -> None:
    bad = b.stored(5, number="A\x00B")  # no text column of PostgreSQL holds a NUL
    with uow() as u:
        try:
            u.documents.add_many([b.stored(4), bad, b.stored(6)])
        except psycopg.errors.CharacterNotInRepertoire:  # PostgreSQL refuses it (SQLite stores it)
            refused = True
        else:
            refused = False
        u.documents.add_many([b.stored(7)])
        u.commit()
    with uow() as u:
        found = {d.document.id for d in u.documents.get_many([f"doc-{n}" for n in range(4, 8)])}
    postgres = uow.engine.dialect.name == "postgresql"
    assert refused is postgres
    if refused:
        assert found == {"doc-7"}
    else:
        assert found == {"doc-4", "doc-5", "doc-6", "doc-7"}


def test_documents_stored_in_a_batch_move_the_views_change_mark(uow: SqlUnitOfWorkFactory) -> None:
    """The decisions keep the fraud scan's platform view while the store's ``view`` mark stays
    (``financing._Running``): documents copied in (PostgreSQL's COPY) fire the documents'
    triggers as an insert does, or a kept view would miss them."""
    with uow() as u:
        before = u.decision_marks()
    assert before is not None
    with uow() as u:
        u.documents.add_many([b.stored(8), b.stored(9)])
        u.commit()
    with uow() as u:
        after = u.decision_marks()
    assert after is not None
    assert after["view"][0] > before.get("view", (0, 0))[0], (before, after)
    for group in ("policy", "model", "exposure"):
        assert after.get(group) == before.get(group), group
