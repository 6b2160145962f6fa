"""Goods revalued as prices move (issue 20): the price feed, margin calls and the forced sale.

The operator configures a goods price feed (``Settings.price_feed``: a CSV file with the
columns ``goods_code,price,currency,as_of``; tests write a simulated one). ``load_price_feed``
records its prices; ``margin_watch`` then revalues every pledged warehouse receipt (units still
in the warehouse × the latest price × (1 − the pledgee's haircut), as the bank's review values
it) against what its bank is still owed:

* below ``maintenance_ratio`` × owed, the bank and the pledgor get a margin call with a
  deadline (``deadline_days`` after today);
* back at or above it (the price rose, or the pledgor paid the bank down) the call is met;
* still below it after the deadline, the goods are offered through the existing DvP sale
  (``receipts.sell_receipt``) to the named buyer at no less than the bank is owed, so the
  buyer's payment goes to the bank first (the WarehouseReceipt contract pays the pledgee first).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fourflow.domain.errors import DomainValueError, NotFoundError
from fourflow.domain.money import CURRENCY_MINOR_UNITS, validate_currency
from fourflow.domain.parties import Role
from fourflow.domain.settlement import Notice, NoticeKind
from fourflow.services import receipts
from fourflow.services.credit.valuation import set_price, value_receipt
from fourflow.services.ports import Ledger, UnitOfWork, UnitOfWorkFactory

FEED_COLUMNS = ("goods_code", "price", "currency", "as_of")
DEFAULT_MAINTENANCE_RATIO = Decimal("1.2")
DEFAULT_DEADLINE_DAYS = 2
_CLOSING = (NoticeKind.MARGIN_MET, NoticeKind.MARGIN_SALE)


@dataclass(frozen=True, slots=True)
class FeedPrice:
    """One line of the price feed: a goods code's price per unit (major units) on a day."""

    goods_code: str
    price: Decimal
    currency: str
    as_of: dt.date


def read_price_feed(path: Path) -> list[FeedPrice]:
    """The prices in a feed file; DomainValueError naming the file, line and field if bad."""
    if not path.is_file():
        raise DomainValueError(f"price feed {path} does not exist")
    prices: list[FeedPrice] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in FEED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DomainValueError(f"price feed {path}: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            where = f"price feed {path} line {line}"
            code = (row["goods_code"] or "").strip()
            if not code:
                raise DomainValueError(f"{where}: goods_code is empty")
            try:
                price = Decimal((row["price"] or "").strip())
            except InvalidOperation:
                raise DomainValueError(f"{where}: price {row['price']!r} is not a number") from None
            if not price > 0:
                raise DomainValueError(f"{where}: price must be positive")
            try:
                as_of = dt.date.fromisoformat((row["as_of"] or "").strip())
            except ValueError:
                raise DomainValueError(
                    f"{where}: as_of {row['as_of']!r} is not YYYY-MM-DD"
                ) from None
            currency = validate_currency((row["currency"] or "").strip())
            prices.append(FeedPrice(code, price, currency, as_of))
    return prices


def write_price_feed(path: Path, prices: list[FeedPrice]) -> Path:
    """Write a feed file (the simulated feed of tests and the demo)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FEED_COLUMNS)
        for p in prices:
            writer.writerow((p.goods_code, str(p.price), p.currency, p.as_of.isoformat()))
    return path


def load_price_feed(*, uow_factory: UnitOfWorkFactory, path: Path) -> list[FeedPrice]:
    """Record the feed's prices (latest line per goods code wins); returns what was read."""
    prices = read_price_feed(path)
    latest: dict[str, FeedPrice] = {}
    for p in sorted(prices, key=lambda p: p.as_of):
        latest[p.goods_code] = p
    for p in latest.values():
        set_price(uow_factory=uow_factory, goods_code=p.goods_code, price=float(p.price),
                  currency=p.currency, as_of=p.as_of)  # fmt: skip
    return prices


@dataclass(frozen=True, slots=True)
class ReceiptMargin:
    """One pledged receipt, revalued.

    ``action``: ``ok``, ``called`` (a margin call now), ``open`` (a call stands, before its
    deadline), ``met`` (a call met), ``sold`` (the unmet call's sale offered), ``no_price``.
    """

    receipt_id: str
    bank_id: str
    pledgor_id: str
    owed: int
    value: int
    ratio: float | None
    action: str
    deadline: dt.date | None = None
    sale_id: str | None = None


@dataclass(slots=True)
class MarginReport:
    """One run of the margin watcher."""

    day: dt.date
    receipts: list[ReceiptMargin] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "day": self.day.isoformat(),
            "receipts": [
                {
                    "receipt": r.receipt_id, "bank": r.bank_id, "pledgor": r.pledgor_id,
                    "owed": r.owed, "value": r.value, "ratio": r.ratio, "action": r.action,
                    "deadline": r.deadline.isoformat() if r.deadline else None,
                    "sale_id": r.sale_id,
                }
                for r in self.receipts
            ],
        }  # fmt: skip


def open_call(uow: UnitOfWork, receipt_id: str) -> Notice | None:
    """The receipt's standing margin call (the latest call not met or sold since), if any."""
    standing: Notice | None = None
    for notice in uow.settlement.notices(subject_id=receipt_id):
        if notice.kind is NoticeKind.MARGIN_CALL and standing is None:
            standing = notice
        elif notice.kind in _CLOSING:
            standing = None
    return standing


def _minor(value: float, currency: str) -> int:
    """A major-unit float value in whole minor units, rounded down."""
    digits = CURRENCY_MINOR_UNITS[currency]
    return int(Decimal(repr(value)).scaleb(digits))


def margin_watch(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    buyer_id: str | None = None,
    maintenance_ratio: Decimal = DEFAULT_MAINTENANCE_RATIO,
    deadline_days: int = DEFAULT_DEADLINE_DAYS,
) -> MarginReport:
    """Revalue every pledged receipt on the chain's today (see the module's docstring).

    ``buyer_id`` is the member that buys goods of unmet calls (a bank's appointed buyer); with
    none, an unmet call stays open. Queues the sale offers; the caller relays them.
    """
    if maintenance_ratio <= 0:
        raise DomainValueError("the maintenance ratio must be positive")
    if deadline_days < 0:
        raise DomainValueError("the margin call deadline must not be negative")
    today = ledger.chain_today()
    report = MarginReport(today)
    with uow_factory() as uow:
        banks = [o.id for o in uow.organisations.list() if o.has_role(Role.BANK)]
        pledged = [(p.receipt_id, bank) for bank in banks for p in uow.receipts.live_pledges(bank)]
    for receipt_id, bank_id in pledged:
        report.receipts.append(
            _watch_one(uow_factory, ledger, receipt_id, bank_id, today, buyer_id,
                       maintenance_ratio, deadline_days)
        )  # fmt: skip
    return report


def _watch_one(
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    receipt_id: str,
    bank_id: str,
    today: dt.date,
    buyer_id: str | None,
    maintenance_ratio: Decimal,
    deadline_days: int,
) -> ReceiptMargin:
    state = ledger.read("receipt", receipt_id)
    with uow_factory() as uow:
        _pledge, owed = receipts.live_pledge(uow, receipt_id)
        stored = uow.receipts.get(receipt_id)
        holder = str(state["holder"]).lower() if state is not None else ""
        on_chain = [
            o.id for o in uow.organisations.list() if (o.chain_address or "").lower() == holder
        ]
        pledgor = on_chain[0] if on_chain else (stored.holder_id if stored else "")
    try:
        valuation, price = value_receipt(
            uow_factory=uow_factory, ledger=ledger, receipt_id=receipt_id, bank_id=bank_id
        )
    except NotFoundError:
        return ReceiptMargin(receipt_id, bank_id, pledgor, owed, 0, None, "no_price")
    currency = validate_currency(price.currency)
    value = _minor(valuation.value, currency)
    market = _minor(valuation.market_value, currency)
    ratio = float(Decimal(value) / Decimal(owed)) if owed else None
    below = owed > 0 and Decimal(value) < maintenance_ratio * owed
    with uow_factory() as uow:
        standing = open_call(uow, receipt_id)
        parties = [bank_id, pledgor]
        if standing is None and not below:
            return ReceiptMargin(receipt_id, bank_id, pledgor, owed, value, ratio, "ok")
        if standing is None:
            deadline = today + dt.timedelta(days=deadline_days)
            _tell(uow, NoticeKind.MARGIN_CALL, receipt_id, parties, today,
                  f"margin call on warehouse receipt {receipt_id}: the goods are worth {value} "
                  f"minor units after the haircut, below {maintenance_ratio} x the {owed} owed "
                  f"to the bank; restore the margin by {deadline}",
                  amount=owed, deadline=deadline)  # fmt: skip
            uow.commit()
            return ReceiptMargin(
                receipt_id, bank_id, pledgor, owed, value, ratio, "called", deadline
            )
        if not below:
            _tell(uow, NoticeKind.MARGIN_MET, receipt_id, parties, today,
                  f"margin call on warehouse receipt {receipt_id} met: the goods are worth "
                  f"{value} against {owed} owed", amount=owed)  # fmt: skip
            uow.commit()
            return ReceiptMargin(receipt_id, bank_id, pledgor, owed, value, ratio, "met")
        deadline = standing.deadline or today
        if today <= deadline or buyer_id is None or state is None:
            return ReceiptMargin(receipt_id, bank_id, pledgor, owed, value, ratio, "open", deadline)
    quantity = int(state["quantity"]) - int(state["released"])
    sale_price = max(owed, market)
    sale_id, _buyer_receipt = receipts.sell_receipt(
        uow_factory=uow_factory, receipt_id=receipt_id, buyer_id=buyer_id, quantity=quantity,
        price=sale_price, actor_id=pledgor,
    )  # fmt: skip
    with uow_factory() as uow:
        sale = uow.receipts.get_sale(sale_id)
        _tell(uow, NoticeKind.MARGIN_SALE, receipt_id, [*parties, buyer_id], today,
              f"margin call on warehouse receipt {receipt_id} unmet by {deadline}: {quantity} "
              f"units offered to the buyer for {sale_price} minor units; the buyer's payment "
              f"pays the bank's {owed} first", amount=sale_price,
              op_id=sale.op_id if sale else None)  # fmt: skip
        uow.commit()
    return ReceiptMargin(
        receipt_id, bank_id, pledgor, owed, value, ratio, "sold", deadline, sale_id
    )


def _tell(
    uow: UnitOfWork,
    kind: NoticeKind,
    receipt_id: str,
    recipients: list[str],
    today: dt.date,
    text: str,
    *,
    amount: int | None = None,
    deadline: dt.date | None = None,
    op_id: str | None = None,
) -> None:
    # A receipt may be called, met and called again on one day: each call's round (how many
    # calls were closed before it) is part of the key, so one round notifies once.
    given = uow.settlement.notices(subject_id=receipt_id)
    closed = len(
        {(n.kind, n.on_day, n.key.rsplit("#", 1)[-1]) for n in given if n.kind in _CLOSING}
    )
    for recipient in dict.fromkeys(r for r in recipients if r):
        uow.settlement.notify(
            Notice(
                key=f"{Notice.key_of(kind, receipt_id, recipient, today)}#{closed}",
                kind=kind,
                subject_id=receipt_id,
                recipient_id=recipient,
                on_day=today,
                text=text,
                amount=amount,
                deadline=deadline,
                op_id=op_id,
            )
        )
