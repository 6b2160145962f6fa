"""``AsyncGroupCommit`` with two batches in flight (the API's decisions, e274a32), attacked:
callers arriving in random bursts while batches run on executor threads of random length, some
batches raising, some callers giving up: every item runs exactly once, every caller still
waiting gets its own answer (or its batch's exception), never more than ``in_flight`` batches
run at once, and nothing is left waiting. Items a batch could not take (``max_batch``) start
the second batch at once while the first runs, as items arriving while it runs do."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from fourflow.services.group_commit import AsyncGroupCommit


class BatchError(Exception):
    """A batch that fails as a whole."""


@pytest.mark.parametrize("seed", range(6))
def test_every_item_answered_once_with_its_own_answer_and_at_most_two_batches_at_once(
    seed: int,
) -> None:
    rng = random.Random(seed)
    lock = threading.Lock()
    ran: list[int] = []
    running = 0
    most = 0
    sleeps = {i: rng.choice((0.0, 0.0, 0.001, 0.005)) for i in range(400)}
    failing = {i for i in range(400) if rng.random() < 0.03}

    def run(items: list[int]) -> list[int | BaseException]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            ran.extend(items)
        try:
            time.sleep(max(sleeps[i] for i in items))
            if failing & set(items):
                raise BatchError(f"batch {items}")
            return [BatchError(f"item {i}") if i % 17 == 0 else i * 10 for i in items]
        finally:
            with lock:
                running -= 1

    group: AsyncGroupCommit[int, int] = AsyncGroupCommit(
        run, max_batch=rng.choice((None, 3, 8)), in_flight=2
    )

    async def caller(i: int, give_up: bool) -> tuple[int, object]:
        task = asyncio.ensure_future(group.submit(i))
        if give_up:
            await asyncio.sleep(0)
            task.cancel()
        try:
            return i, await task
        except asyncio.CancelledError:
            return i, "gave up"
        except BatchError as exc:
            return i, exc

    async def burst() -> list[tuple[int, object]]:
        callers = []
        for i in range(400):
            callers.append(asyncio.ensure_future(caller(i, rng.random() < 0.05)))
            if rng.random() < 0.3:  # let the loop come round (batches start, end)
                await asyncio.sleep(rng.choice((0, 0, 0.001)))
        return await asyncio.wait_for(asyncio.gather(*callers), timeout=120)

    answers = asyncio.run(burst())
    assert sorted(ran) == list(range(400)), "an item ran twice or never"
    assert 1 <= most <= 2, most
    assert group.batches >= 1 and not group._waiting and not group._drains
    for i, answer in answers:
        if answer == "gave up":
            continue
        if isinstance(answer, BatchError):
            assert str(answer) == f"item {i}" or str(answer).startswith("batch "), answer
            if str(answer).startswith("batch "):
                assert str(i) in str(answer)
        else:
            assert answer == i * 10, (i, answer)


def test_items_a_full_batch_left_start_the_second_batch_while_it_runs() -> None:
    """Four callers at once with ``max_batch`` 2: the first batch takes two, and the other two
    are a second batch running beside it (as callers arriving while it runs would be), not
    left waiting for it to end. Fails while the leftovers wait: the first batch, which waits
    for a second batch to run, would time out."""
    second = threading.Event()
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int | BaseException]:
        batches.append(list(items))
        if 0 in items:  # the first batch runs until another one has run beside it
            if not second.wait(timeout=20):
                return [RuntimeError("no second batch ran while the first did")] * len(items)
        else:
            second.set()
        return [i * 10 for i in items]

    group: AsyncGroupCommit[int, int] = AsyncGroupCommit(run, max_batch=2, in_flight=2)

    async def send() -> list[int]:
        return await asyncio.wait_for(
            asyncio.gather(*(group.submit(i) for i in range(4))), timeout=60
        )

    assert asyncio.run(send()) == [0, 10, 20, 30]
    assert batches[0] == [0, 1] and sorted(batches[1]) == [2, 3], batches
    assert group.overlapped == 1
