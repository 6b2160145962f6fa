"""Expected loss and the value of a digital asset now (docs/risk.md, "Loss and valuation").

Expected loss is PD × LGD × EAD. LGD assumptions per asset type are stated here, once:

* a receivable **confirmed by the debtor** (the debtor signed an irrevocable promise to pay):
  35%, the senior-unsecured corporate LGD of the Basel foundation IRB approach
  (CRE32.6: 45%) less the recourse a confirmed, registered receivable gives;
* a receivable **verified on the evidence** only (the debtor did not take part): 45%, the
  Basel F-IRB senior-unsecured figure itself;
* **warehouse goods** under a pledged receipt: 25%, the F-IRB figure for "other physical
  collateral" (CRE32.9: 25% once over-collateralised), since the bank holds title to goods
  it can sell.

A bank may override any of them in its product policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class AssetClass(StrEnum):
    """What a bank lends against, for loss given default."""

    CONFIRMED_RECEIVABLE = "confirmed_receivable"
    VERIFIED_RECEIVABLE = "verified_receivable"
    WAREHOUSE_GOODS = "warehouse_goods"


DEFAULT_LGD: dict[AssetClass, float] = {
    AssetClass.CONFIRMED_RECEIVABLE: 0.35,
    AssetClass.VERIFIED_RECEIVABLE: 0.45,
    AssetClass.WAREHOUSE_GOODS: 0.25,
}


def expected_loss(pd: float, lgd: float, ead: float) -> float:
    """PD × LGD × EAD, with each input checked."""
    if not 0.0 <= pd <= 1.0:
        raise ValueError(f"PD {pd} is not a probability")
    if not 0.0 <= lgd <= 1.0:
        raise ValueError(f"LGD {lgd} is not a fraction")
    if ead < 0:
        raise ValueError(f"EAD {ead} is negative")
    return pd * lgd * ead


@dataclass(frozen=True, slots=True)
class Valuation:
    """A receivable's value now and how it was reached (major units).

    Attributes:
        face: outstanding face value.
        expected_dilution: face × the expected dilution rate (credit notes to come).
        expected_loss: PD × LGD × (face − expected dilution).
        discount: the discount to maturity at the bank's rate.
        value: face − dilution − loss − discount.
        pd: the probability of default used.
        lgd: the loss given default used.
        days: days from the valuation date to maturity.
    """

    face: float
    expected_dilution: float
    expected_loss: float
    discount: float
    value: float
    pd: float
    lgd: float
    days: int


def value_receivable(
    *,
    face: float,
    pd: float,
    lgd: float,
    dilution_rate: float,
    rate_bps: int,
    as_of: dt.date,
    maturity: dt.date,
) -> Valuation:
    """Face value less expected dilution and expected loss, discounted to maturity.

    Discounting is simple interest on an ACT/365 basis, the convention of Chinese
    supply-chain finance and factoring quotes: value = net / (1 + r × days / 365).
    """
    if face < 0:
        raise ValueError(f"face value {face} is negative")
    dilution = face * min(1.0, max(0.0, dilution_rate))
    exposure = face - dilution
    loss = expected_loss(pd, lgd, exposure)
    days = max(0, (maturity - as_of).days)
    net = exposure - loss
    present = net / (1.0 + rate_bps / 10_000 * days / 365)
    return Valuation(face, dilution, loss, net - present, present, pd, lgd, days)


@dataclass(frozen=True, slots=True)
class GoodsValuation:
    """Pledged goods' value now: quantity × price × (1 − haircut) (major units)."""

    quantity: float
    price: float
    haircut: float
    market_value: float
    value: float


def value_goods(*, quantity: float, price: float, haircut: float) -> GoodsValuation:
    """Quantity × the latest price feed × (1 − haircut)."""
    if quantity < 0 or price < 0:
        raise ValueError("quantity and price must not be negative")
    if not 0.0 <= haircut < 1.0:
        raise ValueError(f"haircut {haircut} must be in [0, 1)")
    market = quantity * price
    return GoodsValuation(quantity, price, haircut, market, market * (1.0 - haircut))
