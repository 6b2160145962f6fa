"""Group commit in one process: callers arriving while a batch runs wait, and the next batch
takes all of them (``GroupCommit``, callers on threads; ``AsyncGroupCommit``, callers on one
event loop): the financing decisions of ``POST /financings`` (``financing.DecisionBatcher``)
and the audit trail's appends (``identity.record_request``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass(slots=True)
class _Slot(Generic[Item, Answer]):
    item: Item
    answer: Answer | BaseException | None = None
    done: bool = False


class GroupCommit(Generic[Item, Answer]):
    """Batches of callers' items run one at a time by ``run`` (its answers in the order of the
    items: each an answer, or the exception to raise to that caller).

    An item arriving while no batch runs is run at once (a batch of one); items arriving while
    one runs wait, and the next batch takes all of them (at most ``max_batch``). Nothing waits
    for a timer: a lone caller costs nothing more, and under load the batches grow with the
    callers waiting. ``run`` raising tells every caller of its batch that exception.
    """

    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Answer | BaseException]],
        max_batch: int | None = None,
    ) -> None:
        self._run = run
        self.max_batch = max_batch
        self._changed = threading.Condition()
        self._waiting: list[_Slot[Item, Answer]] = []
        self._busy = False
        self.batches = 0  # batches run so far
        self.largest = 0  # the most items one batch held

    def submit(self, item: Item) -> Answer:
        """Run ``item`` in the next batch; its answer, or its exception raised."""
        slot: _Slot[Item, Answer] = _Slot(item)
        with self._changed:
            self._waiting.append(slot)
            while not slot.done:
                if self._busy:  # a batch runs: the next one takes this item
                    self._changed.wait(timeout=1.0)
                    continue
                if all(s is not slot for s in self._waiting):  # its batch ended unanswered
                    slot.answer, slot.done = (
                        RuntimeError("the batch of this call was interrupted"),
                        True,
                    )
                    break
                self._busy = True
                size = len(self._waiting) if self.max_batch is None else self.max_batch
                batch = self._waiting[:size]
                del self._waiting[:size]
                self._changed.release()
                try:
                    self._answer(batch)
                finally:
                    self._changed.acquire()
                    self._busy = False
                    self._changed.notify_all()
        if isinstance(slot.answer, BaseException):
            raise slot.answer
        return cast(Answer, slot.answer)

    def _answer(self, batch: list[_Slot[Item, Answer]]) -> None:
        try:
            answers: Sequence[Answer | BaseException] = self._run([s.item for s in batch])
        except Exception as exc:  # every caller of the batch is told
            answers = [exc] * len(batch)
        for slot, answer in zip(batch, answers, strict=True):
            slot.answer, slot.done = answer, True
        self.batches += 1
        self.largest = max(self.largest, len(batch))


#: The most turns of the event loop a batch waits for callers still arriving
#: (``AsyncGroupCommit._gathered``).
GATHER_TURNS = 16


class AsyncGroupCommit(Generic[Item, Answer]):
    """``GroupCommit`` for callers on one asyncio event loop (an API process's requests): a
    caller waits on a future, not on a thread of its own, and threads of the loop's executor
    run the batches by ``run``, at most ``in_flight`` at once (by default one at a time).

    An item arriving while no batch runs starts one as soon as the loop comes round (with the
    items that arrived in that same turn); items arriving while ``in_flight`` batches run
    wait, and the next batch takes all of them (at most ``max_batch``). With ``in_flight``
    2, items arriving while one batch runs start a second at once instead of waiting for the
    first to end (``run`` must then be safe on two threads at once, as the financing
    decisions are: two batches take turns on the store's locks as two processes' do). ``run``
    raising tells every caller of its batch that exception. A caller that stops waiting (its
    client went away) does not take its item back: it is decided with its batch, as a
    thread's would be.
    """

    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Answer | BaseException]],
        max_batch: int | None = None,
        in_flight: int = 1,
    ) -> None:
        if in_flight < 1:
            raise ValueError(f"at least one batch runs at a time, not {in_flight}")
        self._run = run
        self.max_batch = max_batch
        self.in_flight = in_flight
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._drains: set[asyncio.Task[None]] = set()
        self._free = 0  # drains not running a batch: the next of them takes what arrives
        self.batches = 0  # batches run so far
        self.largest = 0  # the most items one batch held
        self.overlapped = 0  # batches begun while another ran

    async def submit(self, item: Item) -> Answer:
        """Run ``item`` in the next batch; its answer, or its exception raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((item, future))
        self._start_drain(loop)
        return await future

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """A drain for the items waiting, unless a free one will take them or ``in_flight``
        drains run batches already."""
        if self._free == 0 and len(self._drains) < self.in_flight:
            self._free += 1  # from now: a caller in this same turn joins it
            task = loop.create_task(self._drain())
            self._drains.add(task)

    async def _gathered(self) -> None:
        """Let the loop go round while callers keep arriving (at most ``GATHER_TURNS`` turns,
        no timer): requests the loop has already read are on their way here, a few awaits
        each, and join this batch instead of waiting for it. A lone caller costs a few turns
        of an idle loop."""
        for _ in range(GATHER_TURNS):
            if self.max_batch is not None and len(self._waiting) >= self.max_batch:
                return
            before = len(self._waiting)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if len(self._waiting) == before:
                return

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                await self._gathered()
                size = len(self._waiting) if self.max_batch is None else self.max_batch
                batch = self._waiting[:size]
                del self._waiting[:size]
                if not batch:  # another drain took them meanwhile
                    continue
                items = [i for i, _ in batch]
                self._free -= 1
                if len(self._drains) - self._free > 1:
                    self.overlapped += 1
                if self._waiting:  # more than a batch waited: the rest start the next at once
                    self._start_drain(loop)
                try:
                    answers: Sequence[Answer | BaseException] = await loop.run_in_executor(
                        None, self._run, items
                    )
                except Exception as exc:  # every caller of the batch is told
                    answers = [exc] * len(batch)
                finally:
                    self._free += 1
                for (_, future), answer in zip(batch, answers, strict=True):
                    if future.done():  # its caller stopped waiting
                        continue
                    if isinstance(answer, BaseException):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
                self.batches += 1
                self.largest = max(self.largest, len(batch))
        finally:
            self._free -= 1
            task = asyncio.current_task()
            if task is not None:
                self._drains.discard(task)
            if not self._drains:  # only if this task itself was cancelled: nobody takes them
                for _, future in self._waiting:
                    if not future.done():
                        future.set_exception(RuntimeError("the batch of this call was interrupted"))
                self._waiting.clear()
