"""A receivable passed as payment pays something (issue 15, part 5).

When a holder passes part of a debt item to its own supplier in payment for the supplier's
trade, the transfer names the supplier's invoice(s) it pays. Each named invoice's share is
recorded, so the paid trade's open receivable falls by it, and neither the paid receivable nor
(while the paid one is financed) the passed share can be financed a second time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fourflow.domain.errors import DomainValueError


@dataclass(frozen=True, slots=True)
class InvoicePaidByTransfer:
    """The part of one supplier invoice a transfer of a debt item paid.

    Attributes:
        holding_id: the holding the transfer created (the passed share).
        trade_id: the paid trade (the supplier's sale to the transferring holder).
        invoice_number: the paid invoice.
        amount: minor units of the invoice paid.
        payer_id: the holder that passed the share (the paid trade's buyer).
        payee_id: the supplier that received it (the paid trade's seller).
        on_day: the day of the transfer.
        op_id: the chain operation that carries the transfer.
    """

    holding_id: str
    trade_id: str
    invoice_number: str
    amount: int
    payer_id: str
    payee_id: str
    on_day: dt.date
    op_id: str

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise DomainValueError("a transfer pays a positive amount of an invoice")
