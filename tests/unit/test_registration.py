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
from fourflow.domain.errors import DomainValueError, NotFoundError
from fourflow.domain.financing import Decision, FinancingStatus, GoodsFinancing, Outcome, Reason
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.parties import Identifier, Role
from fourflow.domain.receipts import WarehouseReceipt
from fourflow.services.registration import (
    CSV_COLUMNS,
    DISCHARGE,
    FOURFLOW,
    GOODS_PLEDGE_TYPE,
    INITIAL,
    MEMBER,
    PLEDGE_TYPE,
    every_registration,
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


# ----------------------------------------------------------------- every financing, both kinds


def _with_goods(factory: SqlUnitOfWorkFactory, status: FinancingStatus) -> None:
    """Warehouse org-4 issued receipt wr-1 to org-1, pledged to bank org-3 (financing gfin-1)."""
    with factory() as uow:
        if uow.organisations.get("org-4") is None:
            uow.organisations.add(b.org(4, Role.WAREHOUSE))
            uow.receipts.add(WarehouseReceipt(
                id="wr-1", warehouse_id="org-4", holder_id="org-1", goods_code="REBAR-HRB400",
                description="螺纹钢 HRB400", description_hash="aa" * 32, quantity=20,
                unit="TNE", location="苏州港 A1 库", evidence_hash="bb" * 32, op_id="op-wr",
            ))  # fmt: skip
        decision = Decision(
            Outcome.APPROVE,
            (Reason("APPROVED", "within value"),),
            8_000_000,
            450,
            "policy-1",
            model_version="goods-collateral",
            value=8_680_000,
        )
        uow.goods_financings.add(GoodsFinancing(
            id=f"gfin-{status.value}", receipt_id="wr-1", borrower_id="org-1", bank_id="org-3",
            requested=8_000_000, principal=8_000_000 if status is not FinancingStatus.DECLINED
            else 0, rate_bps=450, start_date=dt.date(2025, 3, 1), currency="CNY",
            goods_code="REBAR-HRB400", quantity=20, status=status, decision=decision,
        ))  # fmt: skip
        uow.commit()


def test_every_financing_is_exported_receivable_and_goods(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    _with_goods(uow_factory, FinancingStatus.ACTIVE)
    _with_goods(uow_factory, FinancingStatus.DECLINED)  # never pledged: nothing to register
    records = every_registration(uow_factory=uow_factory)
    assert [(r.kind.value, r.financing_id) for r in records] == [
        ("receivable", "fin-1"), ("goods", "gfin-active")
    ]  # fmt: skip
    receivable, goods = records
    assert receivable.value("registration.type") == PLEDGE_TYPE
    assert goods.value("registration.type") == GOODS_PLEDGE_TYPE == "仓单质押"
    # both pledges are live: an initial registration each
    assert receivable.value("registration.action") == goods.value("registration.action")
    assert goods.value("registration.action") == INITIAL == "初始登记"
    assert goods.receipt_id == "wr-1" and goods.item_id == "" and goods.holding_id == ""
    assert goods.value("pledgor.uscc") == b.uscc(1) and goods.value("pledgee.uscc") == b.uscc(3)
    assert goods.value("pledgee.lei") == LEI
    assert goods.value("secured.principal") == "80000.00"
    assert goods.value("secured.term_start") == "2025-03-01"
    assert goods.value("property.receipt_number") == "wr-1"
    assert goods.value("property.warehouse_uscc") == b.uscc(4)
    assert goods.value("property.goods") == "螺纹钢 HRB400"
    assert (goods.value("property.quantity"), goods.value("property.unit")) == ("20", "TNE")
    assert goods.value("property.value") == "86800.00"
    description = goods.value("property.description") or ""
    assert "wr-1" in description and "苏州港 A1 库" in description and "CNY 86800.00" in description
    # a receipt pledge has no agreed maturity: the term's end and the period are the member's
    assert {"secured.term_end", "registration.period_months"} <= set(goods.to_fill)
    assert goods.as_dict()["kind"] == "goods" and goods.as_dict()["receipt_id"] == "wr-1"


def test_every_registration_filters_by_bank_and_kind_and_fills_both(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    _with_goods(uow_factory, FinancingStatus.REPAID)
    (repaid,) = every_registration(uow_factory=uow_factory, kind="goods")
    assert repaid.kind.value == "goods"
    assert repaid.value("registration.action") == DISCHARGE == "注销登记"  # released: discharge
    assert "registration.number" in repaid.to_fill  # the initial registration's, the filer's
    assert [r.financing_id for r in every_registration(uow_factory=uow_factory,
                                                        kind="receivable")] == ["fin-1"]  # fmt: skip
    assert len(every_registration(uow_factory=uow_factory, bank=b.uscc(3))) == 2
    with uow_factory() as uow:
        uow.organisations.add(b.org(5, Role.BANK))
        uow.commit()
    assert every_registration(uow_factory=uow_factory, bank="org-5") == []
    filled = every_registration(
        uow_factory=uow_factory,
        overrides={"pledgor.address": "江苏省无锡市", "secured.term_end": "2025-09-01"},
    )
    assert all(r.value("pledgor.address") == "江苏省无锡市" for r in filled)
    goods = next(r for r in filled if r.kind.value == "goods")
    assert goods.value("secured.term_end") == "2025-09-01"
    with pytest.raises(NotFoundError, match=r"no registration field named pledgor\.adress"):
        every_registration(uow_factory=uow_factory, overrides={"pledgor.adress": "x"})
    with pytest.raises(DomainValueError, match="kind 'bonds'"):
        every_registration(uow_factory=uow_factory, kind="bonds")
    rows = list(csv.reader(io.StringIO(to_csv(filled))))
    kinds = {row[CSV_COLUMNS.index("kind")] for row in rows[1:]}
    assert kinds == {"receivable", "goods"}
    receipts = {row[CSV_COLUMNS.index("receipt_id")] for row in rows[1:]}
    assert receipts == {"", "wr-1"}
