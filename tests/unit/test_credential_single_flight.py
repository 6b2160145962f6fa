"""The API's credential check shared by the requests of one credential arriving at once
(``routing._checked``): a refusal reaches every waiter and is not kept, a waiter that goes
away neither cancels the check for the others nor leaves it behind."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import cast

import pytest

from fourflow.domain.identity import AuthenticationError, OrgType, Principal, UserRole
from fourflow.entrypoints.api import routing
from fourflow.services import identity
from fourflow.services.identity import CredentialCache


def _principal() -> Principal:
    return Principal(
        org_id="org-1", org_types=frozenset({OrgType.ENTERPRISE}), role=UserRole.CLERK,
        user_id=None, credential_id="key-1", name="erp",
    )  # fmt: skip


class _Checks:
    """``identity.authenticate`` counted, held until released, refusing while ``refuse``."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.refuse = True

    def __call__(self, ids: identity.Identities, secret: str) -> Principal:
        self.calls += 1
        self.started.release()
        assert self.release.wait(timeout=60), "the test never let the check finish"
        if self.refuse:
            raise AuthenticationError("the token or key is unknown, expired or revoked")
        return _principal()


def _ids() -> identity.Identities:
    cache = CredentialCache(30.0)
    return cast(identity.Identities, SimpleNamespace(credential_cache=cache))


async def _started(checks: _Checks) -> None:
    assert await asyncio.to_thread(checks.started.acquire, True, 60), "no check started"


def test_a_refusal_reaches_every_waiter_and_the_next_request_is_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = _Checks()
    monkeypatch.setattr(identity, "authenticate", checks)
    ids = _ids()

    async def go() -> list[BaseException | Principal]:
        waiting = [asyncio.ensure_future(routing._checked(ids, "s3cret")) for _ in range(5)]
        await _started(checks)
        await asyncio.sleep(0)  # every waiter joined the one check
        checks.release.set()
        answers = await asyncio.gather(*waiting, return_exceptions=True)
        assert not routing._CHECKING.get(asyncio.get_running_loop())  # nothing left behind
        checks.refuse = False
        answers.append(await routing._checked(ids, "s3cret"))  # the refusal was not kept
        return answers

    answers = asyncio.run(go())
    assert all(isinstance(a, AuthenticationError) for a in answers[:5]), answers
    assert answers[5] == _principal()
    assert checks.calls == 2


def test_a_waiter_that_goes_away_does_not_cancel_the_check_of_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = _Checks()
    checks.refuse = False
    monkeypatch.setattr(identity, "authenticate", checks)
    ids = _ids()

    async def go() -> list[BaseException | Principal]:
        first = asyncio.ensure_future(routing._checked(ids, "s3cret"))
        await _started(checks)
        others = [asyncio.ensure_future(routing._checked(ids, "s3cret")) for _ in range(3)]
        await asyncio.sleep(0)
        first.cancel()  # its client went away while the check ran
        with pytest.raises(asyncio.CancelledError):
            await first
        checks.release.set()
        answers = await asyncio.gather(*others, return_exceptions=True)
        assert not routing._CHECKING.get(asyncio.get_running_loop())
        return answers

    assert asyncio.run(go()) == [_principal()] * 3
    assert checks.calls == 1
