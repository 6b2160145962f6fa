"""An API process hands the GIL over often (``server.hand_over_gil_often``): its decision
batches' database round trips do not wait 5 ms each for a thread that computes."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from fourflow.entrypoints.api import server


@pytest.fixture
def interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("interval")
def test_an_api_process_hands_the_gil_over_every_half_millisecond() -> None:
    sys.setswitchinterval(0.005)  # Python's default
    server.hand_over_gil_often()
    assert sys.getswitchinterval() == pytest.approx(server.GIL_SWITCH_INTERVAL_S)
    assert server.GIL_SWITCH_INTERVAL_S < 0.005
