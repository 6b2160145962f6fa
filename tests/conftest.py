"""Test ordering for the whole suite."""

from __future__ import annotations

import pytest

#: The longest tests (browsers, the 4-node consortium, the credit robot's training) go first,
#: so that under ``pytest -n 2 --dist loadgroup`` they run beside the many short ones instead
#: of last on one worker while the other has nothing left to do.
LONGEST_FIRST = (
    "tests/web/",
    "tests/consortium/",
    "tests/integration/test_credit_robot.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the longest tests to the front, keeping every other order as collected (the same
    on every xdist worker, as the scheduler requires)."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith(LONGEST_FIRST) else 1)
