"""What a receivable and pledged goods are worth today; goods prices from the feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace

from fourflow.domain.debt import DebtItem
from fourflow.domain.errors import DomainValueError, NotFoundError
from fourflow.domain.facts import GoodsPrice
from fourflow.risk.bootstrap import HistorySource
from fourflow.risk.features import History, features
from fourflow.risk.review import ProductPolicy
from fourflow.risk.valuation import (
    AssetClass,
    GoodsValuation,
    Valuation,
    value_goods,
    value_receivable,
)
from fourflow.services.common import get_item
from fourflow.services.credit.history import FACTS
from fourflow.services.credit.policies import get_policy
from fourflow.services.credit.registry import champion_scorer
from fourflow.services.credit.review import asset_terms
from fourflow.services.ports import Ledger, UnitOfWork, UnitOfWorkFactory


def items_history(uow: UnitOfWork, items: Iterable[DebtItem]) -> History:
    """The invoice history the features of ``items`` read, and no more: the trades in which
    one of their debtors buys (``History.debtor_before``) or one of their creditors sells
    (``creditor_before``), and their own trades; not those in which a debtor sells or a
    creditor buys (a core enterprise's sales: most of its trades). Read as verdicts."""
    wanted = list(items)
    debtors = {i.debtor_id for i in wanted}
    creditors = {i.creditor_id for i in wanted}
    own = {i.trade_id for i in wanted}
    # one statement for only the trades read (not every trade of the parties and a count)
    oldest = uow.trades.verdicts_of(sorted(debtors), sorted(creditors))
    missing = own - {r.id for r in oldest}  # an item's trade between others (not expected)
    if missing:
        oldest = [*uow.trades.verdicts(sorted(missing))[::-1], *oldest]
    return FACTS.history(uow, oldest)


def value_item(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    as_of: dt.date,
    cold_start: HistorySource,
    bank_id: str | None = None,
    pd: float | None = None,
    history: History | None = None,
) -> tuple[Valuation, Mapping[str, float | str]]:
    """A receivable's value on ``as_of`` (outstanding face less expected dilution and loss,
    discounted at the bank's rate), from the champion's PD on that day's features, or from
    ``pd`` when given (a credit review's own PD: the champion is then not asked).
    ``history``: one read already holding every trade of the item's debtor and creditor (the
    features read only theirs; a queue values many items on one read), else read here."""
    scorer = (
        None
        if pd is not None
        else champion_scorer(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    )
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        holdings = uow.items.holdings(item.id)
        if history is None:
            history = items_history(uow, [item])
        own = [f for f in history.all() if f.trade_id == item.trade_id]
        root = holdings[0] if holdings else None
        if root is None:
            raise NotFoundError(f"item {item_id} has no holdings")
        whole = replace(root, outstanding=item.outstanding)
        terms, _ = asset_terms(uow, item, whole, own, as_of)
        vector = features(history, terms, as_of)
        policy = get_policy(uow, bank_id) if bank_id else ProductPolicy(bank_id="")
    chance = scorer.score(vector).pd if scorer is not None else pd
    assert chance is not None
    asset = (
        AssetClass.CONFIRMED_RECEIVABLE
        if terms.basis == "confirmed"
        else AssetClass.VERIFIED_RECEIVABLE
    )
    lgd = policy.loss_given_bad(asset)
    valuation = value_receivable(
        face=item.outstanding / 100,
        pd=chance,
        lgd=lgd,
        dilution_rate=float(vector["rel_dilution_rate"]),
        rate_bps=policy.base_rate_bps + policy.min_spread_bps,
        as_of=as_of,
        maturity=item.maturity_date,
    )
    return valuation, vector


#: The latest price of a goods code (per unit, major units) and its previous one.
Price = GoodsPrice


def set_price(
    *, uow_factory: UnitOfWorkFactory, goods_code: str, price: float, currency: str,
    as_of: dt.date,
) -> Price:  # fmt: skip
    """Record a price from the feed; pledged goods are revalued at it from now on."""
    if not price > 0:
        raise DomainValueError(f"price of {goods_code} must be positive")
    with uow_factory() as uow:
        old = get_price(uow, goods_code)
        new = Price(goods_code, float(price), currency, as_of, old.price if old else None)
        uow.prices.add(new)
        uow.commit()
    return new


def get_price(uow: UnitOfWork, goods_code: str) -> Price | None:
    """The latest price of ``goods_code``, if the feed gave one."""
    return uow.prices.latest(goods_code)


def _goods_code(uow: UnitOfWork, receipt_id: str) -> str:
    """The goods code of a receipt: from its issue, or from the receipt it was sold out of."""
    receipt = uow.receipts.get(receipt_id)
    if receipt is not None:
        return receipt.goods_code
    sale = uow.receipts.sale_into(receipt_id)
    if sale is not None:
        return _goods_code(uow, sale.receipt_id)
    raise NotFoundError(f"warehouse receipt {receipt_id} is not known on this platform")


def value_receipt(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, receipt_id: str,
    bank_id: str | None = None,
) -> tuple[GoodsValuation, Price]:  # fmt: skip
    """Pledged goods' value now: the quantity still in the warehouse (on the chain) × the
    latest price × (1 − the bank's haircut)."""
    with uow_factory() as uow:
        code = _goods_code(uow, receipt_id)
        price = get_price(uow, code)
        policy = get_policy(uow, bank_id) if bank_id else ProductPolicy(bank_id="")
    if price is None:
        raise NotFoundError(
            f"no price for goods {code}; record one with `fourflow risk price {code} PRICE`"
        )
    state = ledger.read("receipt", receipt_id)
    if state is None:
        raise NotFoundError(f"warehouse receipt {receipt_id} is not on the chain (yet)")
    quantity = int(state["quantity"]) - int(state["released"])
    valuation = value_goods(
        quantity=float(quantity), price=price.price, haircut=policy.goods_haircut_bps / 10_000
    )
    return valuation, price
