"""Two anchorers at once (two ingesting processes ending together) on PostgreSQL.

The second waits for the first and finds nothing left: no batch counts, or puts in its Merkle
root, documents another batch took. The first anchorer's transaction is held open here until
the second is seen waiting on a lock (pg_stat_activity), so the two really overlap.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from fourflow.adapters.db import make_engine
from fourflow.adapters.documents.standards import standards_dir
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.services import ingest
from fourflow.services.ingest import SubmittedFile
from fourflow.services.onboarding import onboard
from fourflow.services.ports import Batch
from tests.fakes import FixedClock
from tests.store.fixtures import pg_schema_url, require_postgres

pytestmark = pytest.mark.postgres

TODAY = dt.date(2026, 12, 6)
EXAMPLES = standards_dir() / "en16931" / "ubl-examples"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema_url(require_postgres()) as url:
        # this test's connections are told apart from every other test's by their name
        yield (
            make_url(url)
            .update_query_dict({"application_name": "ff-anchor-lock"})
            .render_as_string(hide_password=False)
        )


def _waiting_on_a_lock(url: str, timeout: float = 60.0) -> bool:
    """Whether a connection of this test waits on a lock within ``timeout`` seconds."""
    engine = make_engine(url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ff-anchor-lock' "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(query).scalar_one() > 0:
                    return True
            time.sleep(0.05)
        return False
    finally:
        engine.dispose()


def test_a_second_anchorer_waits_and_takes_nothing_the_first_took(
    pg_url: str, tmp_path: Path
) -> None:
    with Platform(Settings(tmp_path, pg_url, None, "pw"), clock=FixedClock(TODAY)) as p:
        submitter = onboard(uow_factory=p.uow_factory, keystore=p.keystore, name="Anchors",
                            uscc="91110000600037341L", roles=[Role.SUPPLIER], admit=False).id  # fmt: skip
        files = [SubmittedFile(f.name, f.read_bytes()) for f in sorted(EXAMPLES.iterdir())]
        outcomes = ingest.ingest_files(
            uow_factory=p.uow_factory, reader=p.reader_for(submitter), clock=p.clock,
            files=files, submitter_id=submitter,
        )  # fmt: skip
        accepted = [o.document_id for o in outcomes if o.status == "accepted" and o.document_id]
        assert len(accepted) >= 5, outcomes

        second: list[Batch | None] = []
        with p.uow_factory() as uow:
            first = ingest._anchor(uow, p.clock, submitter, 4096)
            assert first is not None and first.count == len(accepted)

            def anchor_again() -> None:
                second.append(
                    ingest.anchor_pending(
                        uow_factory=p.uow_factory, clock=p.clock, operator_id=submitter
                    )
                )

            thread = threading.Thread(target=anchor_again)
            thread.start()
            try:
                assert _waiting_on_a_lock(pg_url), "the second anchorer never waited"
            finally:
                uow.commit()
        thread.join(60)
        assert not thread.is_alive()
        assert second == [None]  # nothing was left to anchor
        with p.uow_factory() as uow:
            assert [b.id for b in uow.batches.list()] == [first.id]
            stored = uow.documents.get_many(accepted)
            assert {s.batch_id for s in stored} == {first.id}
            assert all(uow.documents.proof(doc_id) for doc_id in accepted)
