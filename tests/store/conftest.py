"""Store fixtures for the tests in this package (see ``fixtures.py``), and ``uow``: the
factory with the builders' three organisations committed (a module may define its own)."""

from __future__ import annotations

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory

from . import builders as b
from .fixtures import *  # noqa: F403


@pytest.fixture
def uow(uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    """The factory, with three organisations committed: supplier, core enterprise, bank."""
    with uow_factory() as u:
        b.add_parties(u)
        u.commit()
    return uow_factory
