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
    caller waits on a future, not on a thread of its own, and one thread of the loop's
    executor runs the batches, one at a time, by ``run``.

    An item arriving while no batch runs starts one as soon as the loop comes round (with the
    items that arrived in that same turn); items arriving while one runs wait, and the next
    batch takes all of them (at most ``max_batch``). ``run`` raising tells every caller of
    its batch that exception. A caller that stops waiting (its client went away) does not
    take its item back: it is decided with its batch, as a thread's would be.
    """

    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Answer | BaseException]],
        max_batch: int | None = None,
    ) -> None:
        self._run = run
        self.max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._draining: asyncio.Task[None] | None = None
        self.batches = 0  # batches run so far
        self.largest = 0  # the most items one batch held

    async def submit(self, item: Item) -> Answer:
        """Run ``item`` in the next batch; its answer, or its exception raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((item, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

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
                items = [i for i, _ in batch]
                try:
                    answers: Sequence[Answer | BaseException] = await loop.run_in_executor(
                        None, self._run, items
                    )
                except Exception as exc:  # every caller of the batch is told
                    answers = [exc] * len(batch)
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
            self._draining = None
            for _, future in self._waiting:  # only if this task itself was cancelled
                if not future.done():
                    future.set_exception(RuntimeError("the batch of this call was interrupted"))
            if self._waiting:
                self._waiting.clear()
