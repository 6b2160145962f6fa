"""The audit trail against a hostile path (13th session's review, R13): the API records a
state-changing request's path as the ASGI server decoded it (``scope["path"]``), so a caller
who sends ``%00`` in a path parameter (``POST /holdings/%00/split``, before signing in: the
action is known before the authentication, ``routing.guard``) gets a NUL character into the
record. PostgreSQL's text refuses NUL; the records appended in the same group
(``identity._append_all``: the requests recorded at the same time in a process, in one
statement since a75d201 as in one transaction before) must not be lost with it, and the
hostile request's own record must be kept too (every state-changing request is recorded)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from fastapi.testclient import TestClient

from fourflow.bootstrap import Platform
from fourflow.domain.identity import AuditRecord
from fourflow.entrypoints.api.app import create_app
from fourflow.services import identity

pytestmark = pytest.mark.chain

HOSTILE = "/api/v1/holdings/\x00/split"


def _answered(path: str) -> identity.AnsweredRequest:
    return identity.AnsweredRequest(
        principal=None, action="holdings.split", method="POST", path=path,
        client="127.0.0.1", status=401,
    )  # fmt: skip


def test_a_nul_in_a_recorded_path_is_recorded_and_the_trail_verifies(platform: Platform) -> None:
    before = identity.verify_trail(platform.identities).records
    record = identity.record_request(platform.identities, _answered(HOSTILE))
    assert isinstance(record, AuditRecord)
    check = identity.verify_trail(platform.identities)
    assert check.ok, check.problems
    assert check.records == before + 1


def test_a_hostile_record_does_not_lose_the_records_appended_with_it(
    platform: Platform,
) -> None:
    """Requests recorded at once on one loop are appended in one group: a hostile path among
    them must not make the others' appends fail (their requests were answered, their changes
    committed: a failed append answers them 500 and leaves them unrecorded)."""
    ids = platform.identities
    before = identity.verify_trail(ids).records
    paths = ["/api/v1/financings?n=0", HOSTILE] + [f"/api/v1/financings?n={n}" for n in (1, 2)]

    async def burst() -> list[AuditRecord | BaseException]:
        return await asyncio.gather(
            *(identity.record_request_async(ids, _answered(p)) for p in paths),
            return_exceptions=True,
        )

    answers = asyncio.run(burst())
    good = [a for p, a in zip(paths, answers, strict=True) if "\x00" not in p]
    assert all(isinstance(a, AuditRecord) for a in good), answers
    check = identity.verify_trail(ids)
    assert check.ok, check.problems
    stored = {r.path for r in identity.trail_records(ids, after=before, limit=100)}
    assert {p for p in paths if "\x00" not in p} <= stored, stored


def test_an_unauthenticated_post_with_nul_in_its_path_is_refused_and_recorded(
    platform: Platform,
) -> None:
    """Over HTTP: the caller is refused (401, not a server error) and its request recorded."""
    before = identity.verify_trail(platform.identities).records
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        answer = client.post("/api/v1/holdings/%00/split", json={"amount": "1.00"})
    assert answer.status_code == 401, answer.text
    check = identity.verify_trail(platform.identities)
    assert check.ok, check.problems
    assert check.records == before + 1


def test_a_record_the_store_refuses_loses_only_itself(
    platform: Platform, migrated_store_url: str
) -> None:
    """Whatever else the store refuses in one record of a group (here a NUL in the action,
    which only the authorisation table names: PostgreSQL refuses it, SQLite keeps it), the
    group's other records are appended one by one, in order, and that record's caller alone
    is told."""
    ids = platform.identities
    before = identity.verify_trail(ids).records
    asked = [_answered(f"/api/v1/financings?n={n}") for n in range(4)]
    asked[1] = dataclasses.replace(asked[1], action="holdings.\x00split")

    async def burst() -> list[AuditRecord | BaseException]:
        return await asyncio.gather(
            *(identity.record_request_async(ids, a) for a in asked), return_exceptions=True
        )

    answers = asyncio.run(burst())
    refused = migrated_store_url.startswith("postgresql")
    assert [isinstance(a, AuditRecord) for a in answers] == [True, not refused, True, True]
    check = identity.verify_trail(ids)
    assert check.ok, check.problems
    assert check.records == before + (3 if refused else 4)
    stored = [r.path for r in identity.trail_records(ids, after=before, limit=100)]
    assert stored == [a.path for i, a in enumerate(asked) if not (refused and i == 1)]
