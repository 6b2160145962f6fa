"""Group commit in one process: callers arriving while a batch runs wait, and the next batch
takes all of them (``GroupCommit``): the financing decisions of ``POST /financings``
(``financing.DecisionBatcher``) and the audit trail's appends (``identity.record_request``)."""

from __future__ import annotations

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
