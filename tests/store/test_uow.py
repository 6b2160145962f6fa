"""The unit of work: commit, rollback, nothing half-written, conflicts leave it usable."""

from __future__ import annotations

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.errors import ConflictError
from fourflow.domain.parties import Role
from fourflow.services.ports import UnitOfWorkFactory

from . import builders as b


class BoomError(Exception):
    """An error raised in the middle of a use case."""


def _counts(uow_factory: SqlUnitOfWorkFactory) -> tuple[int, int, int]:
    """(organisations, documents, outbox ops) as committed."""
    with uow_factory() as u:
        return len(u.organisations.list()), u.documents.count(), len(u.outbox.list())


def test_factory_satisfies_the_port(uow_factory: SqlUnitOfWorkFactory) -> None:
    factory: UnitOfWorkFactory = uow_factory
    with factory() as u:
        assert u.settings.get("anything") is None


def test_commit_makes_changes_visible_to_the_next_unit(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as u:
        u.organisations.add(b.org(1))
        u.commit()
    assert _counts(uow_factory) == (1, 0, 0)


def test_leaving_without_commit_rolls_back(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as u:
        u.organisations.add(b.org(1))
        u.documents.add(b.stored(1))
    assert _counts(uow_factory) == (0, 0, 0)


def test_an_exception_leaves_nothing_half_written(uow_factory: SqlUnitOfWorkFactory) -> None:
    with pytest.raises(BoomError), uow_factory() as u:
        u.organisations.add(b.org(1))
        u.documents.add(b.stored(1))
        u.outbox.add(b.op("op-1"))
        raise BoomError
    assert _counts(uow_factory) == (0, 0, 0)


def test_explicit_rollback_discards_and_the_unit_goes_on(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    with uow_factory() as u:
        u.organisations.add(b.org(1))
        u.rollback()
        assert u.organisations.get("org-1") is None
        u.organisations.add(b.org(2))
        u.commit()
    with uow_factory() as u:
        assert [o.id for o in u.organisations.list()] == ["org-2"]


def test_work_after_a_commit_is_rolled_back_on_exit(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as u:
        u.organisations.add(b.org(1))
        u.commit()
        u.organisations.add(b.org(2))
    with uow_factory() as u:
        assert [o.id for o in u.organisations.list()] == ["org-1"]


def test_conflict_then_exit_writes_nothing(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as u:
        u.documents.add(b.stored(1))
        u.commit()
    with pytest.raises(ConflictError), uow_factory() as u:
        u.documents.add(b.stored(2))
        u.outbox.add(b.op("op-2"))
        u.documents.add(b.stored(3, fingerprint=b.stored(1).fingerprint))
    assert _counts(uow_factory) == (0, 1, 0)


def test_conflict_then_rollback_leaves_the_unit_usable(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    with uow_factory() as u:
        u.documents.add(b.stored(1))
        with pytest.raises(ConflictError):
            u.documents.add(b.stored(1))
        u.rollback()
        u.documents.add(b.stored(2))
        u.commit()
    with uow_factory() as u:
        assert [d.document.id for d in u.documents.unlinked()] == ["doc-2"]


def test_business_change_and_outbox_commit_together(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as u:
        u.organisations.add(b.org(1, Role.SUPPLIER))
        u.outbox.add(b.op("op-admit", subject="org-1"))
        u.commit()
    with uow_factory() as u:
        assert u.organisations.get("org-1") is not None
        assert [o.op_id for o in u.outbox.for_subject("org-1")] == ["op-admit"]


def test_a_unit_cannot_be_entered_twice_at_once(uow_factory: SqlUnitOfWorkFactory) -> None:
    uow = uow_factory()
    with uow, pytest.raises(RuntimeError, match="already in use"):
        uow.__enter__()


def test_a_unit_can_be_reused_one_block_after_another(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with uow:
        uow.organisations.add(b.org(1))
        uow.commit()
    with uow:
        assert uow.organisations.get("org-1") is not None


def test_commit_outside_a_block_is_refused(uow_factory: SqlUnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError, match="inside a 'with' block"):
        uow_factory().commit()


def test_a_repository_kept_past_its_block_refuses_to_work(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    with uow_factory() as u:
        organisations = u.organisations
    with pytest.raises(Exception, match=r"(?i)closed"):
        organisations.get("org-1")
    with uow_factory() as u:  # and nothing is left holding a lock
        u.organisations.add(b.org(1))
        u.commit()
