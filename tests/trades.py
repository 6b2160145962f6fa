"""A demo trade for the tests: tier 1 selling to the core enterprise (``tier1_sale``), and a
trade's documents ingested by their submitters through the services, anchored, linked and
verified (``verified_trade``). Shared by the API world (``tests.api.world``) and the
integration stories (``tests.integration.test_lifecycle``, ``test_refusals_kept_records``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fourflow.bootstrap import Platform
from fourflow.domain.documents import DocumentKind
from fourflow.domain.scenarios import Scenario
from fourflow.services import ingest, linking
from fourflow.services.demo import MEMBERS, trade_bundle
from fourflow.services.verification import verify

MEMBER = {m.key: m for m in MEMBERS}
#: The two goods lines of the worked example (docs/routing.md): 1,000,000.00 CNY in all.
TWO_LINES = (
    ("GEAR-HOUSING-Φ320", "500", "EA", "1200.00"),
    ("DRIVE-SHAFT-S45C", "225", "EA", "1266.47"),
)
#: One line of 600,000.00 CNY.
ONE_LINE = (("GEAR-HOUSING-Φ320", "500", "EA", "1200.00"),)


def tier1_sale(prefix: str, day0: dt.date, goods: Sequence[tuple[str, str, str, str]]) -> bytes:
    """The native bundle of one manufacturing trade begun on ``day0``: tier 1 sells ``goods``
    (code, quantity, unit, price) to the core enterprise on 90 days' terms, the logistics member
    carries them, all received; its documents numbered with ``prefix`` (``INV-<prefix>``)."""
    member = MEMBER
    return trade_bundle(
        prefix=prefix, seller=member["tier1"], buyer=member["core"], carrier=member["logistics"],
        day0=day0, terms_days=90, received_factor="1", lines=list(goods),
        scenario=Scenario.MANUFACTURING,
    )  # fmt: skip


def verified_trade(
    p: Platform, submitted: Sequence[tuple[str, bytes, str]], invoice_number: str, start: dt.date
) -> tuple[str, dt.date]:
    """Each (submitter org id, bundle, source name) of ``submitted`` ingested by its submitter
    (every document accepted), the documents anchored and linked, and the trade of the invoice
    ``invoice_number`` verified on ``start``'s eighth day: (its id, that day)."""
    for org_id, raw, source in submitted:
        outcomes = ingest.ingest_bytes(
            uow_factory=p.uow_factory, reader=p.reader_for(org_id), clock=p.clock, raw=raw,
            source=source, submitter_id=org_id,
        )  # fmt: skip
        assert all(o.status == "accepted" for o in outcomes), [o.status for o in outcomes]
    ingest.anchor_pending(uow_factory=p.uow_factory, clock=p.clock, operator_id=p.operator_id())
    linking.link_documents(uow_factory=p.uow_factory)
    with p.uow_factory() as uow:
        (invoice,) = uow.documents.by_number(DocumentKind.INVOICE, invoice_number)
    assert invoice.trade_id is not None
    day = start + dt.timedelta(days=8)
    verify(uow_factory=p.uow_factory, trade_id=invoice.trade_id, as_of=day)
    return invoice.trade_id, day
