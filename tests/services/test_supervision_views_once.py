"""The supervision views' kept answers are computed once however many requests ask for them at
the same time (a dashboard asks for its figures and its drill-down's first page at once, and
both need the scope's records): the later callers wait for the first one's answer; a failed
computation is not kept, and a caller that waited for it computes afresh."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from fourflow.services import supervision_views as views


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    views.clear_cache()
    yield
    views.clear_cache()


def _ask_at_once(n: int, key: tuple[object, ...], compute: Callable[[], object]) -> list[object]:
    """``n`` threads asking ``_cached(key, compute)`` together; their answers (or errors)."""
    start = threading.Barrier(n)
    answers: list[object] = [None] * n

    def ask(i: int) -> None:
        start.wait(timeout=10)
        try:
            answers[i] = views._cached(key, compute)
        except RuntimeError as e:
            answers[i] = e

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return answers


def test_requests_at_the_same_time_share_one_computation() -> None:
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.2)  # long enough for every other thread to ask meanwhile
        return {"trades": 10_001}

    answers = _ask_at_once(4, ("mark-1", "scope", "data"), compute)
    assert len(calls) == 1
    assert answers == [{"trades": 10_001}] * 4
    assert all(a is answers[0] for a in answers)
    # kept: asked again, not computed again; another key is computed
    assert views._cached(("mark-1", "scope", "data"), compute) is answers[0]
    assert len(calls) == 1
    views._cached(("mark-1", "scope", "figures"), compute)
    assert len(calls) == 2


def test_a_failed_computation_is_not_kept_and_the_waiters_compute_it() -> None:
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        time.sleep(0.2)
        if len(calls) == 1:
            raise RuntimeError("the store went away")
        return "answer"

    answers = _ask_at_once(3, ("mark-1", "scope", "figures"), compute)
    failed = [a for a in answers if isinstance(a, RuntimeError)]
    assert len(failed) == 1 and str(failed[0]) == "the store went away"
    assert [a for a in answers if not isinstance(a, RuntimeError)] == ["answer", "answer"]
    assert len(calls) == 2  # the first (failed) and one of the two that waited
    assert not views._COMPUTING


def test_without_a_mark_nothing_is_shared_or_kept() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert views._cached(None, compute) == 1
    assert views._cached(None, compute) == 2
