"""Small, valid domain records for store tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Engine, text

from fourflow.domain.debt import AssetType, Basis, DebtItem, Holding, PledgeState
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.financing import Decision, Financing, FinancingStatus, Outcome, Reason
from fourflow.domain.findings import Finding, Severity, VerificationReport, VerificationStatus
from fourflow.domain.identifiers import IdScheme, uscc_check_character
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, Organisation, PartyRef, Role
from fourflow.domain.scenarios import Scenario
from fourflow.services.commands import command_from_json
from fourflow.services.ports import (
    Batch,
    ChainOp,
    OpKind,
    Repayment,
    RoutedPart,
    StoredDocument,
    TradeRecord,
    UnitOfWork,
    UnitOfWorkFactory,
)

DAY = dt.date(2025, 3, 1)
#: A rename of the bank of ``add_parties`` (a change every page of the organisation shows).
RENAME_BANK = "UPDATE organisations SET name = 'Renamed' WHERE id = 'org-3'"
NOW = dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC)


def add_parties(u: UnitOfWork) -> None:
    """Add the three organisations most store tests start from (not committed): org-1 a
    supplier, org-2 a core enterprise, org-3 a bank."""
    for n, role in enumerate((Role.SUPPLIER, Role.CORE_ENTERPRISE, Role.BANK), start=1):
        u.organisations.add(org(n, role))


def uscc(n: int) -> str:
    """A valid Unified Social Credit Code numbered ``n``."""
    first17 = f"91310000{n:09d}"
    return first17 + uscc_check_character(first17)


def org(n: int, *roles: Role, accounts: tuple[str, ...] = ()) -> Organisation:
    """Organisation ``org-<n>`` with a valid USCC, a GLN-like identifier and accounts."""
    return Organisation(
        id=f"org-{n}",
        name=f"Company {n} 有限公司",
        uscc=uscc(n),
        roles=roles or (Role.SUPPLIER,),
        identifiers=(Identifier(IdScheme.VAT, f"CN{n:06d}"),),
        accounts=accounts or (f"6222{n:012d}",),
        chain_address=f"0x{n:040x}",
    )


def document(
    n: int,
    *,
    kind: DocumentKind = DocumentKind.INVOICE,
    number: str | None = None,
    seller: Organisation | None = None,
    buyer: Organisation | None = None,
) -> Document:
    """A document with lines, money and references, numbered ``n``."""
    seller_ref = PartyRef(
        name="Seller",
        identifiers=(Identifier(IdScheme.USCC, (seller.uscc if seller else uscc(1))),),
    )
    buyer_ref = PartyRef(
        name=None,
        identifiers=(Identifier(IdScheme.USCC, (buyer.uscc if buyer else uscc(2))),),
        account="6222000000000002",
    )
    return Document(
        id=f"doc-{n}",
        kind=kind,
        number=number or f"INV-{n:04d}",
        issue_date=DAY,
        seller=seller_ref,
        buyer=buyer_ref,
        currency="CNY",
        lines=(
            DocumentLine("1", "steel coil", Decimal("12.500"), "TNE", Decimal("4100.00")),
            DocumentLine("2", "freight", Decimal("1"), "EA", None, Decimal("300.10")),
        ),
        total=Money.of("51550.10", "CNY"),
        tax_total=Money.of("0.00", "CNY"),
        due_date=DAY + dt.timedelta(days=90),
        delivery_date=None,
        references=(DocumentRef(DocumentKind.ORDER, "PO-1"),),
        source_format="native-json",
        submitted_by="org-1",
    )


def stored(n: int, *, fingerprint: str | None = None, **kwargs: object) -> StoredDocument:
    """A stored document numbered ``n`` with its own fingerprint unless one is given."""
    return StoredDocument(
        document=document(n, **kwargs),  # type: ignore[arg-type]
        fingerprint=fingerprint or f"sha256:{n:064x}",
        business_key=f"bk-{n}",
        raw=b'{"doc": %d, "bytes": "\x00\xff"}' % n,
        media_type="application/json",
        created_at=NOW,
    )


def report(trade_id: str) -> VerificationReport:
    """A partial verification report with two findings."""
    return VerificationReport(
        trade_id=trade_id,
        status=VerificationStatus.PARTIAL,
        score=72,
        findings=(
            Finding("AMOUNT_MISMATCH", Severity.WARNING, "invoice exceeds order", ("doc-1",)),
            Finding("FLOW_PRESENT", Severity.INFO, "all four flows", ()),
        ),
        rules_version="rules-1",
    )


def trade(n: int, seller: str = "org-1", buyer: str = "org-2") -> TradeRecord:
    """An unverified trade ``trade-<n>``."""
    return TradeRecord(
        id=f"trade-{n}",
        scenario=Scenario.MANUFACTURING,
        seller_id=seller,
        buyer_id=buyer,
        document_ids=(f"doc-{n}",),
    )


def item(n: int, trade_id: str, debtor: str = "org-2", creditor: str = "org-1") -> DebtItem:
    """A pending debt item ``item-<n>`` on ``trade_id``."""
    return DebtItem(
        id=f"item-{n}",
        trade_id=trade_id,
        debtor_id=debtor,
        creditor_id=creditor,
        currency="CNY",
        face_value=5_155_010,
        issue_date=DAY,
        maturity_date=DAY + dt.timedelta(days=90),
        basis=Basis.CONFIRMED,
        asset_type=AssetType.RECEIVABLE,
        report_hash="ab" * 32,
    )


def holding(
    hid: str,
    item_id: str,
    holder: str,
    amount: int,
    *,
    parent_id: str | None = None,
    acquired_from: str | None = None,
    pledge_bank_id: str | None = None,
    pledge: PledgeState | None = None,
    received: int = 0,
) -> Holding:
    """A holding of ``amount`` minor units, all of it outstanding."""
    return Holding(
        id=hid,
        item_id=item_id,
        holder_id=holder,
        amount=amount,
        outstanding=amount,
        parent_id=parent_id,
        acquired_from=acquired_from,
        pledge_bank_id=pledge_bank_id,
        pledge=pledge,
        received=received,
    )


def pledge(bank: str = "org-3") -> PledgeState:
    """What a bank is owed on a pledged holding."""
    return PledgeState(bank=bank, principal=900_000, interest=0, rate_bps=450, accrued_to=20148)


def financing(fid: str, item_id: str, holding_id: str, status: FinancingStatus) -> Financing:
    """A financing of a holding by bank org-3."""
    return Financing(
        id=fid,
        item_id=item_id,
        holding_id=holding_id,
        borrower_id="org-1",
        bank_id="org-3",
        requested=1_000_000,
        principal=900_000,
        rate_bps=450,
        start_date=DAY,
        maturity_date=DAY + dt.timedelta(days=90),
        status=status,
        decision=Decision(
            Outcome.APPROVE,
            (Reason("VERIFIED_TRADE", "four flows agree"), Reason("LIMIT", "within limit")),
            900_000,
            450,
            "policy-1",
        ),
    )


def repayment(rid: str, item_id: str, holding_id: str) -> Repayment:
    """A repayment routed to the bank first and the holder after."""
    return Repayment(
        id=rid,
        item_id=item_id,
        amount=1_000_000,
        value_date=DAY + dt.timedelta(days=90),
        reference=f"REF-{rid}",
        parts=(
            RoutedPart(rid, item_id, holding_id, "org-3", "bank_interest", 10_000),
            RoutedPart(rid, item_id, holding_id, "org-3", "bank_principal", 900_000),
            RoutedPart(rid, item_id, holding_id, "org-1", "holder", 90_000),
        ),
    )


def batch(bid: str, count: int = 2) -> Batch:
    """An anchoring batch."""
    return Batch(id=bid, root="cd" * 32, count=count, created_at=NOW)


_SAMPLE_ARGS: dict[OpKind, dict[str, object]] = {
    OpKind.ISSUE_ITEM: {
        "item_id": "item-1", "holding_id": "holding-1", "debtor_address": "0x" + "11" * 20,
        "creditor_address": "0x" + "22" * 20, "currency": "CNY", "face_value": 5_155_010,
        "issue_day": 20_000, "maturity_day": 20_090, "asset_type": 1,
        "trade_hash": "ab" * 32, "report_hash": "cd" * 32,
        "confirmation": {"nonce": 0, "deadline": 1_900_000_000, "signature": "0x" + "ee" * 65},
    },
    OpKind.DISPUTE: {"item_id": "item-1", "reason_hash": "ef" * 32, "reason": "short delivery"},
    OpKind.WITHDRAW_DISPUTE: {"item_id": "item-1"},
}  # fmt: skip


def op(op_id: str, subject: str | None = "item-1", kind: OpKind = OpKind.ISSUE_ITEM) -> ChainOp:
    """A queued chain operation with a typed command (nested JSON when stored)."""
    return ChainOp(
        op_id=op_id,
        command=command_from_json(kind, _SAMPLE_ARGS[kind]),
        sender_org_id="org-1",
        subject_id=subject,
    )


class Mark:
    """A mark a page cache reads (the supervision views' change mark, an item view's version)
    checked after each step of a test: ``moved`` asserts a value not seen before (larger than
    the last when ``grows``), ``same`` the last value again."""

    def __init__(self, read: Callable[[], int | str | None], *, grows: bool = False) -> None:
        self.read = read
        self.grows = grows
        first = read()
        assert first is not None
        self.seen: list[int | str] = [first]

    def moved(self) -> None:
        now, last = self.read(), self.seen[-1]
        assert now is not None and now not in self.seen, (self.seen, now)
        if self.grows:
            assert isinstance(now, int) and isinstance(last, int) and now > last, (self.seen, now)
        self.seen.append(now)

    def same(self) -> None:
        assert self.read() == self.seen[-1], (self.seen, self.read())

    def after(
        self, uow_factory: UnitOfWorkFactory, *writes: Callable[[UnitOfWork], object], moves: bool
    ) -> None:
        """``writes`` in one unit of work, committed; then ``moved`` (``moves``) or ``same``."""
        with uow_factory() as u:
            for write in writes:
                write(u)
            u.commit()
        self.check(moves)

    def after_sql(self, engine: Engine, statement: str, *, moves: bool) -> None:
        """``statement`` run and committed by a connection of its own (not a unit of work);
        then ``moved`` or ``same``."""
        with engine.begin() as connection:
            connection.execute(text(statement))
        self.check(moves)

    def check(self, moves: bool) -> None:
        """``moved`` when ``moves``, else ``same``."""
        if moves:
            self.moved()
        else:
            self.same()
