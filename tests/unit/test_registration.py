"""中登网 registration exports: one record per pledge, FourFlow's fields filled, the rest marked."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory, make_engine, migrate
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import NotFoundError
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.parties import Identifier, Role
from fourflow.services.registration import (
    CSV_COLUMNS,
    FOURFLOW,
    MEMBER,
    PLEDGE_TYPE,
    period_months,
    pledge_registrations,
    to_csv,
)
from tests.store import builders as b

LEI = "529900T8BM49AURSDO55"


@pytest.fixture
def uow_factory(tmp_path: Path) -> SqlUnitOfWorkFactory:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    migrate(engine)
    factory = SqlUnitOfWorkFactory(engine)
    supplier = b.org(1, Role.SUPPLIER)
    debtor = b.org(2, Role.CORE_ENTERPRISE)
    bank = replace(b.org(3, Role.BANK), identifiers=(Identifier(IdScheme.LEI, LEI),))
    with factory() as uow:
        for org in (supplier, debtor, bank):
            uow.organisations.add(org)
        uow.documents.add(b.stored(1, number="INV-2025-0001", seller=supplier, buyer=debtor))
        uow.documents.add(
            b.stored(2, number="PO-88", kind=DocumentKind.ORDER, seller=supplier, buyer=debtor)
        )
        uow.trades.add(replace(b.trade(1), document_ids=("doc-1", "doc-2")))
        uow.items.add(b.item(1, "trade-1"))
        uow.items.add_holding(b.holding("h-1", "item-1", "org-1", 4_155_010))
        uow.items.add_holding(b.holding("h-2", "item-1", "org-1", 1_000_000, pledge=b.pledge()))
        uow.financings.add(b.financing("fin-1", "item-1", "h-2", FinancingStatus.ACTIVE))
        uow.commit()
    return factory


def test_one_record_per_pledge_with_fourflows_fields_filled(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    (record,) = pledge_registrations(uow_factory=uow_factory, item_id="item-1")
    assert (record.holding_id, record.financing_id) == ("h-2", "fin-1")
    assert record.value("registration.type") == PLEDGE_TYPE
    assert record.value("pledgor.name") == "Company 1 有限公司"
    assert record.value("pledgor.uscc") == b.uscc(1)
    assert record.value("pledgee.uscc") == b.uscc(3)
    assert record.value("pledgee.type") == "金融机构" and record.value("pledgor.type") == "企业"
    assert record.value("pledgee.lei") == LEI and record.value("pledgor.lei") is None
    assert record.value("secured.principal") == "9000.00"
    assert record.value("secured.currency") == "CNY"
    assert record.value("secured.term_start") == "2025-03-01"
    assert record.value("secured.term_end") == "2025-05-30"
    assert record.value("property.amount") == "10000.00"
    assert record.value("property.debtor_uscc") == b.uscc(2)
    assert record.value("property.invoice_numbers") == "INV-2025-0001"
    assert record.value("property.contract_numbers") == "PO-88"
    assert record.value("registration.period_months") == "9"  # 3 months + 6 margin
    description = record.value("property.description") or ""
    assert "INV-2025-0001" in description and "PO-88" in description
    assert "CNY 51550.10" in description and "2025-05-30" in description


def test_fields_only_a_member_knows_are_marked_to_fill(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    (record,) = pledge_registrations(uow_factory=uow_factory, item_id="item-1")
    by_key = {f.key: f for f in record.fields}
    for key in ("pledgor.address", "pledgor.legal_representative", "pledgee.institution_code",
                "pledgor.industry", "pledgor.size", "filer.account"):  # fmt: skip
        assert by_key[key].source == MEMBER and by_key[key].value is None
        assert key in record.to_fill
    assert by_key["pledgor.uscc"].source == FOURFLOW
    assert "pledgor.lei" not in record.to_fill  # optional


def test_overrides_fill_member_fields_and_unknown_keys_are_refused(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    (record,) = pledge_registrations(
        uow_factory=uow_factory,
        item_id="item-1",
        overrides={"pledgor.address": "江苏省无锡市新吴区长江路 8 号"},
    )
    assert record.value("pledgor.address") == "江苏省无锡市新吴区长江路 8 号"
    assert "pledgor.address" not in record.to_fill
    with pytest.raises(NotFoundError, match=r"pledgor\.adress"):
        pledge_registrations(
            uow_factory=uow_factory, item_id="item-1", overrides={"pledgor.adress": "x"}
        )


def test_declined_financings_and_unknown_items(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.financings.update(b.financing("fin-1", "item-1", "h-2", FinancingStatus.DECLINED))
        uow.commit()
    assert pledge_registrations(uow_factory=uow_factory, item_id="item-1") == []
    with pytest.raises(NotFoundError, match="item-9"):
        pledge_registrations(uow_factory=uow_factory, item_id="item-9")


def test_csv_has_one_row_per_field(uow_factory: SqlUnitOfWorkFactory) -> None:
    records = pledge_registrations(uow_factory=uow_factory, item_id="item-1")
    rows = list(csv.reader(io.StringIO(to_csv(records))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + len(records[0].fields)
    principal = next(row for row in rows if row[2] == "secured.principal")
    assert principal[:2] == ["fin-1", "h-2"] and principal[4] == "9000.00"


@pytest.mark.parametrize(
    ("start", "end", "margin", "months"),
    [
        (dt.date(2025, 1, 15), dt.date(2025, 4, 15), 0, 3),
        (dt.date(2025, 1, 15), dt.date(2025, 4, 16), 0, 4),
        (dt.date(2025, 1, 15), dt.date(2025, 1, 20), 0, 1),
        (dt.date(2025, 1, 1), dt.date(2060, 1, 1), 6, 360),
    ],
)
def test_period_is_the_term_plus_margin_within_the_registrys_bounds(
    start: dt.date, end: dt.date, margin: int, months: int
) -> None:
    assert period_months(start, end, margin) == months
