"""A SQLite platform for the decision-latency benchmark, built from a simulated history.

The simulator's documents filed up to the decision day are ingested (UBL, camt, EPCIS, native
JSON), linked and verified; the given model is registered as champion; debt items are issued
on the trades still open that day. No chain is needed: chain operations stay queued.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import cast

from fourflow.adapters.documents.writers.output import DirectorySink
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.debt import Holding
from fourflow.domain.parties import Role
from fourflow.risk import learning
from fourflow.services import items
from fourflow.services.ingest import SubmittedFile, ingest_files
from fourflow.services.linking import link_documents
from fourflow.services.onboarding import onboard
from fourflow.services.ports import Ledger, ModelRecord, UnitOfWorkFactory
from fourflow.services.verification import verify_all
from fourflow.simulation.generator import Simulation, SimulationParams

DAY = dt.date(2025, 1, 20)


def decision_platform(
    root: Path, champion: learning.Trained, *, trades: int = 600
) -> tuple[UnitOfWorkFactory, list[Holding], str, dt.date]:
    """(uow factory, open holdings, a bank id, the decision day)."""
    sim = root / "sim"
    params = SimulationParams(seed=777, trades=trades, fraud_rate=0.0,
                              start=dt.date(2024, 1, 1), months=12)  # fmt: skip
    with DirectorySink(sim) as sink:
        Simulation(params, sink).run()
    settings = Settings(root / "home", f"sqlite:///{root}/fourflow.db", None, "bench")
    p = Platform(settings)
    p.__enter__()
    submitter = ""
    for party in json.loads((sim / "parties.json").read_text("utf-8")):
        submitter = onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name=party["name"],
            uscc=party["uscc"], roles=[Role(r) for r in party["roles"]],
            identifiers=[("gln", party["gln"])], accounts=list(party["accounts"]),
            profile=dict(party["profile"]), admit=False,
        ).id  # fmt: skip
    files = []
    for f in sorted((sim / "documents").rglob("*")):
        month, day = f.relative_to(sim / "documents").parts[:2] if f.is_file() else ("", "")
        if month and dt.date.fromisoformat(f"{month}-{day}") <= DAY:
            files.append(SubmittedFile(str(f.relative_to(sim)), f.read_bytes()))
    ingest_files(uow_factory=p.uow_factory, reader=p.reader_for(submitter), clock=p.clock,
                 files=files, submitter_id=submitter)  # fmt: skip
    link_documents(uow_factory=p.uow_factory)
    verify_all(uow_factory=p.uow_factory, as_of=DAY)
    with p.uow_factory() as uow:
        uow.risk_models.add(
            ModelRecord(
                id="scorecard-bench", kind=champion.kind, role="champion", as_of=DAY,
                training_rows=0, data_hash="0" * 64, metrics=champion.validation.as_json(),
                artifact=json.dumps(champion.model.to_json()),
            )
        )  # fmt: skip
        uow.commit()
        records = [t for t in uow.trades.list() if t.report is not None]
        bank = next(o.id for o in uow.organisations.list() if o.has_role(Role.BANK))
    no_ledger = cast(Ledger, None)  # confirm=False: issuing never touches the ledger
    holdings: list[Holding] = []
    for record in reversed(records):
        if len(holdings) == 50:
            break
        try:
            item = items.issue_item(uow_factory=p.uow_factory, ledger=no_ledger, clock=p.clock,
                                    trade_id=record.id, as_of=DAY, confirm=False)  # fmt: skip
        except Exception:
            continue
        with p.uow_factory() as uow:
            holdings.append(uow.items.holdings(item.id)[0])
    return p.uow_factory, holdings, bank, DAY
