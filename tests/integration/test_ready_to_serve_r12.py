"""An API process whose warm-up fails still starts (``server.ready_to_serve``, 7c7b462): the
warm-up only saves the first batch of decisions some reads, so a store whose platform view
cannot be read or scanned at start (here a stored document whose payload no longer decodes)
is logged and the process goes on to freeze its heap and serve (uvicorn would otherwise
restart the process, failing again, forever: no route of the API served). On SQLite and
PostgreSQL with the real node."""

from __future__ import annotations

import gc

import pytest
import structlog
from sqlalchemy import text

from fourflow.bootstrap import Platform
from fourflow.entrypoints.api import server
from fourflow.services import financing, fraud
from tests.integration.test_lifecycle import _story

pytestmark = pytest.mark.chain


def test_a_failed_warm_up_is_logged_and_the_process_still_serves(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _story(platform)
    engine = platform.uow_factory.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:  # one document's payload no longer decodes
        doc_id = connection.execute(
            text("SELECT id FROM documents WHERE trade_id IS NOT NULL ORDER BY id LIMIT 1")
        ).scalar_one()
        connection.execute(
            text("UPDATE documents SET payload = :p WHERE id = :i"), {"p": "{}", "i": doc_id}
        )
    monkeypatch.setattr(fraud, "_TRADES", fraud._TradeCache())  # a new process: none kept
    financing.forget_running_state()
    gc.unfreeze()
    try:
        with structlog.testing.capture_logs() as logs:
            server.ready_to_serve(platform)
        assert gc.get_freeze_count() > 0  # frozen all the same
        warned = [e for e in logs if e.get("log_level") == "warning"]
        assert any("warm" in str(e.get("event")) for e in warned), logs
    finally:
        gc.unfreeze()
    assert s.item.id  # the platform itself is untouched
