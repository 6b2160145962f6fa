"""Financing decisions in batches (``financing.finance_many``, ``DecisionBatcher``), on the
fakes: a batch decides every request exactly as one by one (limits binding within the batch
included), a refused request writes nothing and refuses no other, and the group commit answers
each caller its own result."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pytest

from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.risk.review import ProductPolicy
from fourflow.services import credit, financing, fraud, items
from fourflow.services.group_commit import AsyncGroupCommit
from tests.services.conftest import World, no_cold_start

PART = 1_000_000  # 10,000.00 CNY a holding
ASK = "8000.00"


def at_once(count: int, call: Callable[[int], Any]) -> list[Any]:
    """``call(i)`` for each i < ``count``, in as many threads released together; their answers
    in order (an exception raised is its call's answer)."""
    barrier = threading.Barrier(count, timeout=120)
    answers: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = call(i)
        except Exception as exc:  # a refusal is an answer
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    return answers


def _parts(world: World, count: int) -> list[str]:
    """``count`` holdings of PART of tier 1, each of its own item (trade)."""
    ids = []
    for _ in range(count):
        item = world.item()
        (root,) = world.holdings(item.id)
        part = items.split(
            uow_factory=world.uow, holding_id=root.id, amount=PART, actor_id=world.id("tier1")
        )
        ids.append(part.id)
    assert not world.relay().failed
    return ids


def _limit(world: World, approvals: int) -> None:
    """The bank approves up to ``approvals`` requests of ASK for one borrower."""
    policy = ProductPolicy(
        bank_id=world.id("bank"), refer_pd=0.9, max_pd=1.0,
        limit_per_borrower=approvals * 800_000 + 1,
    )  # fmt: skip
    credit.set_policy(uow_factory=world.uow, policy=policy)


def _ask(world: World, holding_id: str, **changes: Any) -> financing.FinanceRequest:
    asked = financing.FinanceRequest(
        target=holding_id, bank=world.id("bank"), amount=ASK, as_of=world.clock.today(),
        holder=world.id("tier1"), own_holding_of=world.id("tier1"),
    )  # fmt: skip
    return dataclasses.replace(asked, **changes)


def _receivable(row: financing.FinancingRow) -> Financing:
    """The row's financing: a receivable's (these requests finance debt items, not goods)."""
    assert isinstance(row.financing, Financing), row.financing
    return row.financing


def _decided(row: financing.FinancingRow) -> tuple[Any, ...]:
    """What must not differ between a batch and one by one (ids and input hashes do)."""
    fin = _receivable(row)
    assert fin.decision is not None
    decision = dataclasses.replace(fin.decision, input_hash=None)  # the rest of it, all
    return (fin.holding_id, fin.status, fin.principal, fin.rate_bps, decision, row.chain,
            row.borrower_name, row.bank_name, row.debtor_name)  # fmt: skip


def test_a_batch_decides_every_request_as_one_by_one(credit_world: World) -> None:
    world = credit_world
    holdings = _parts(world, 6)
    _limit(world, 4)  # the fifth and sixth break the borrower's limit
    before = world.uow.committed.copy()
    asked = [_ask(world, h) for h in reversed(holdings)]  # decided in holding-id order
    alone = [
        financing.finance(
            uow_factory=world.uow, target=a.target, bank=a.bank, amount=a.amount,
            as_of=a.as_of, cold_start=no_cold_start, holder=a.holder, ledger=world.ledger,
            own_holding_of=a.own_holding_of,
        )
        for a in sorted(asked, key=lambda a: a.target)
    ]  # fmt: skip
    world.uow.committed = before
    commits = world.uow.commits
    batch = financing.finance_many(
        uow_factory=world.uow, requests=asked, cold_start=no_cold_start, ledger=world.ledger
    )
    assert world.uow.commits == commits + 1  # one transaction for the batch
    rows = [r for r in batch if isinstance(r, financing.FinancingRow)]
    assert [_receivable(r).holding_id for r in rows] == [a.target for a in asked]  # in order
    by_holding = {_decided(r)[0]: _decided(r) for r in rows}
    assert [by_holding[_receivable(r).holding_id] for r in alone] == [_decided(r) for r in alone]
    statuses = [r.financing.status for r in alone]
    assert statuses.count(FinancingStatus.APPROVED) == 4, statuses
    limited = [r for r in alone if r.financing.status is not FinancingStatus.APPROVED]
    assert all(
        any(x.code == "LIMIT_BORROWER" for x in r.financing.decision.reasons)  # type: ignore[union-attr]
        for r in limited
    )
    with world.uow() as uow:  # the exposure kept in the batch is the store's sum
        stored = credit.exposure(uow, world.id("bank"))
        assert stored.by_borrower == {world.id("tier1"): 4 * 800_000}
        assert len(uow.financings.list()) == 6


def test_a_refused_request_writes_nothing_and_refuses_no_other(credit_world: World) -> None:
    world = credit_world
    good, taken, other, disputed = _parts(world, 4)
    (root,) = world.holdings(world.item().id)
    theirs = items.transfer(
        uow_factory=world.uow, holding_id=root.id, amount=PART, to_org_id=world.id("tier2"),
        actor_id=world.id("tier1"),
    ).id  # fmt: skip
    with world.uow() as uow:  # the fourth holding's item is disputed meanwhile
        holding = uow.items.get_holding(disputed)
        assert holding is not None
        item_id = holding.item_id
    items.dispute_item(
        uow_factory=world.uow, item_id=item_id, actor_id=world.id("core"), reason="short",
        on=world.clock.today(),
    )  # fmt: skip
    assert not world.relay().failed
    before = world.uow.committed.copy()
    asked = [
        _ask(world, good),
        _ask(world, taken),
        _ask(world, taken),  # the same holding again: the second one loses
        _ask(world, theirs),  # another's holding: 404
        _ask(world, other, amount="0.001"),  # three decimals
        _ask(world, other, bank=world.id("tier2")),  # not a bank
        _ask(world, disputed),  # refused under the locks
    ]
    answers = financing.finance_many(
        uow_factory=world.uow, requests=asked, cold_start=no_cold_start, ledger=world.ledger
    )
    kinds = [type(a).__name__ for a in answers]
    assert kinds == ["FinancingRow", "FinancingRow", "ConflictError", "NotFoundError",
                     "DomainValueError", "DomainValueError", "ConflictError"], answers  # fmt: skip
    assert isinstance(answers[3], NotFoundError) and theirs in str(answers[3])
    assert isinstance(answers[4], DomainValueError) and "decimal places" in str(answers[4])
    assert isinstance(answers[6], ConflictError) and "disputed" in str(answers[6])
    assert isinstance(answers[2], ConflictError) and taken in str(answers[2])
    with world.uow() as uow:
        stored = {f.holding_id: f for f in uow.financings.list()}
        assert set(stored) == {good, taken}
        assert all(f.status is FinancingStatus.APPROVED for f in stored.values())
        for refused in (theirs, other, disputed):
            found = uow.items.get_holding(refused)
            assert found is not None and not found.locked
        # chain work only of the two stored financings: nothing of a refused request
        added = [o for k, o in world.uow.committed.outbox.items() if k not in before.outbox]
        shown = [o for o in added if (o.subject_id or "").startswith(fraud.PRESENTATION_SUBJECT)]
        assert len(shown) <= 2
        assert {o.subject_id for o in added if o not in shown} == {
            *(f.id for f in stored.values()), *(f"decision:{f.id}" for f in stored.values())
        }  # fmt: skip
    assert not world.relay().failed
    with world.uow() as uow:
        assert {f.status for f in uow.financings.list()} == {FinancingStatus.ACTIVE}


def test_a_batch_queues_its_chain_work_stage_by_stage(credit_world: World) -> None:
    """A batch's ops are queued every presentation first, then every pledge offer, every
    acceptance, every decision anchor (``financing._queue_stage``), each request's own in
    its order; the relay applies them all."""
    world = credit_world
    holdings = _parts(world, 4)
    _limit(world, 3)  # the fourth is declined: its anchor alone
    before = set(world.uow.committed.outbox)
    answers = financing.finance_many(
        uow_factory=world.uow, requests=[_ask(world, h) for h in holdings],
        cold_start=no_cold_start, ledger=world.ledger,
    )  # fmt: skip
    rows = [a for a in answers if isinstance(a, financing.FinancingRow)]
    rows.sort(key=lambda r: _receivable(r).holding_id)  # the order they were decided in
    approved = [r.financing.id for r in rows if r.financing.status is FinancingStatus.APPROVED]
    assert len(rows) == 4 and len(approved) == 3
    added = sorted(
        (o for k, o in world.uow.committed.outbox.items() if k not in before),
        key=lambda o: o.seq or 0,
    )
    stages = [financing._queue_stage(o) for o in added]
    assert stages == sorted(stages) and set(stages) == {0, 1, 2, 3}, stages
    assert [o.subject_id for o in added if financing._queue_stage(o) == 1] == approved
    assert [o.subject_id for o in added if financing._queue_stage(o) == 2] == approved
    anchors = [o.subject_id for o in added if financing._queue_stage(o) == 3]
    assert anchors == [credit.DECISION_SUBJECT + r.financing.id for r in rows]
    assert not world.relay().failed
    with world.uow() as uow:
        assert sorted(f.status.value for f in uow.financings.list()) == [
            "active",
            "active",
            "active",
            "declined",
        ]
        assert not uow.outbox.pending(100)


def test_group_commit_answers_each_caller_its_own_result(credit_world: World) -> None:
    world = credit_world
    holdings = _parts(world, 8)
    batcher = financing.DecisionBatcher(
        uow_factory=world.uow, cold_start=no_cold_start, ledger=world.ledger, max_batch=4
    )
    asked = [_ask(world, h) for h in holdings] + [_ask(world, holdings[0])]  # one loses
    answers = at_once(len(asked), lambda i: batcher.finance(asked[i]))
    rows = [a for a in answers if isinstance(a, financing.FinancingRow)]
    refused = [a for a in answers if isinstance(a, Exception)]
    assert len(rows) == 8 and len(refused) == 1 and isinstance(refused[0], ConflictError)
    for a, answer in zip(asked, answers, strict=True):  # each its own holding's answer
        if isinstance(answer, financing.FinancingRow):
            assert _receivable(answer).holding_id == a.target
    # how the 9 requests fall into batches depends on thread timing; that no batch went over
    # max_batch, and that the batches held every request, does not
    assert batcher.largest <= 4 and batcher.batches >= 3
    assert batcher.batches * batcher.largest >= len(asked)
    with world.uow() as uow:
        assert {f.holding_id for f in uow.financings.list()} == set(holdings)
    with pytest.raises(DomainValueError, match="at least one request"):
        financing.DecisionBatcher(uow_factory=world.uow, cold_start=no_cold_start, max_batch=0)


def test_async_group_commit_answers_each_caller_on_the_loop(credit_world: World) -> None:
    """``finance_async``: callers on one event loop, sent at once, are decided in batches of
    at most ``max_batch`` (the first takes every caller that arrived in the loop's turn),
    each answered its own result or refusal."""
    world = credit_world
    holdings = _parts(world, 8)
    batcher = financing.DecisionBatcher(  # one batch at a time: the fakes keep the last commit
        uow_factory=world.uow, cold_start=no_cold_start, ledger=world.ledger, max_batch=4,
        in_flight=1,
    )  # fmt: skip
    asked = [_ask(world, h) for h in holdings] + [_ask(world, holdings[0])]  # one loses

    async def send() -> list[Any]:
        return await asyncio.gather(
            *(batcher.finance_async(a) for a in asked), return_exceptions=True
        )

    answers = asyncio.run(send())
    assert [type(a).__name__ for a in answers] == ["FinancingRow"] * 8 + ["ConflictError"]
    for a, answer in zip(asked, answers, strict=True):
        if isinstance(answer, financing.FinancingRow):
            assert _receivable(answer).holding_id == a.target
    assert (batcher.batches, batcher.largest) == (3, 4)  # 4, 4 and 1
    with world.uow() as uow:
        assert {f.holding_id for f in uow.financings.list()} == set(holdings)


def test_async_group_commit_tells_a_failed_batch_to_each_caller() -> None:
    ran: list[list[int]] = []

    def run(items: list[int]) -> list[int | BaseException]:
        ran.append(items)
        if 3 in items:
            raise RuntimeError("broken")
        return [i * 10 if i != 2 else ValueError("two") for i in items]

    group: AsyncGroupCommit[int, int] = AsyncGroupCommit(run, max_batch=2)

    async def send() -> list[Any]:
        return await asyncio.gather(*(group.submit(i) for i in range(5)), return_exceptions=True)

    answers = asyncio.run(send())
    assert ran == [[0, 1], [2, 3], [4]]
    assert answers[:2] == [0, 10] and answers[4] == 40
    assert isinstance(answers[2], RuntimeError) and isinstance(answers[3], RuntimeError)


def test_async_group_commit_gathers_callers_still_arriving() -> None:
    """Callers a few turns of the loop behind the first join its batch (no timer); a lone
    caller is answered alone."""
    ran: list[list[int]] = []

    def run(items: list[int]) -> list[int | BaseException]:
        ran.append(list(items))
        return [i * 10 for i in items]

    group: AsyncGroupCommit[int, int] = AsyncGroupCommit(run)

    async def caller(i: int) -> int:
        for _ in range(i % 3):  # on its way: a few awaits, as a request's middlewares
            await asyncio.sleep(0)
        return await group.submit(i)

    async def send() -> list[int]:
        return list(await asyncio.gather(*(caller(i) for i in range(6))))

    assert asyncio.run(send()) == [0, 10, 20, 30, 40, 50]
    assert len(ran) == 1 and sorted(ran[0]) == list(range(6)), ran
    assert asyncio.run(group.submit(7)) == 70 and ran[-1] == [7]


def test_async_group_commit_runs_a_second_batch_while_the_first_runs() -> None:
    """``in_flight=2`` (the API's decisions): callers arriving while a batch runs start the
    next at once, not when the first ends (a burst's first request, decided alone, held the
    others of its process for its whole run); the default runs one batch at a time."""
    release = threading.Event()
    ran: list[list[int]] = []
    running = threading.Semaphore(0)

    def run(items: list[int]) -> list[int | BaseException]:
        if 0 in items:
            running.release()
            assert release.wait(timeout=60), "never released"
        ran.append(list(items))
        return [i * 10 for i in items]

    group: AsyncGroupCommit[int, int] = AsyncGroupCommit(run, in_flight=2)

    async def send() -> list[int]:
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(group.submit(0))
        assert await loop.run_in_executor(None, running.acquire, True, 60)  # batch 1 runs
        later = asyncio.gather(*(group.submit(i) for i in (1, 2, 3)))
        others = await asyncio.wait_for(later, timeout=60)  # while batch 1 still runs
        assert not first.done()
        release.set()
        return [await first, *others]

    assert asyncio.run(send()) == [0, 10, 20, 30]
    assert ran == [[1, 2, 3], [0]] and group.overlapped == 1, ran
    assert (group.batches, group.largest) == (2, 3)
    with pytest.raises(ValueError, match="at least one batch"):
        AsyncGroupCommit(run, in_flight=0)
    one_at_a_time: AsyncGroupCommit[int, int] = AsyncGroupCommit(run)
    assert one_at_a_time.in_flight == 1
