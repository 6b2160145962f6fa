"""0012 moves documents' warnings out of the settings table into ``document_findings``."""

from __future__ import annotations

import datetime as dt
import json

from alembic import command
from sqlalchemy import Engine, text

from fourflow.adapters.db import SqlUnitOfWorkFactory, current_revision, migrate
from fourflow.adapters.db.migration import alembic_config
from fourflow.domain.facts import DocumentFinding

BEFORE = "0011"
KEPT = [
    {"code": "BR-CL-23", "flag": "warning", "message": "unit code not in the list",
     "location": "/Invoice[1]/cac:InvoiceLine[1]"},
    {"code": "DATE-BEFORE-ORDER", "flag": "warning", "message": "dated before its order"},
]  # fmt: skip


def _downgrade(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    assert current_revision(engine) == BEFORE


def _settings(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT key, value FROM settings")).all())


def test_findings_move_into_their_table_and_back(store_engine: Engine) -> None:
    _downgrade(store_engine)
    with store_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO settings (key, value, updated_at) VALUES (:k, :v, :t)"),
            {"k": "documents.findings.doc-9", "v": json.dumps(KEPT), "t": dt.datetime.now(dt.UTC)},
        )
    migrate(store_engine)
    with SqlUnitOfWorkFactory(store_engine)() as u:
        assert u.document_findings.for_document("doc-9") == [
            DocumentFinding("doc-9", "BR-CL-23", "warning", "unit code not in the list",
                            "/Invoice[1]/cac:InvoiceLine[1]"),
            DocumentFinding("doc-9", "DATE-BEFORE-ORDER", "warning", "dated before its order"),
        ]  # fmt: skip
    assert not any(k.startswith("documents.findings.") for k in _settings(store_engine))

    _downgrade(store_engine)
    assert json.loads(_settings(store_engine)["documents.findings.doc-9"]) == KEPT
    migrate(store_engine)
