"""The simulator's records: the issued documents of ``fourflow.domain.issued``.

They live in the domain so that the writers (adapters) serialise them without importing the
simulator; this module names them for the simulator's own modules.
"""

from __future__ import annotations

from fourflow.domain.issued import (
    CENT,
    Despatch,
    Event,
    Invoice,
    Line,
    Order,
    Party,
    Payment,
    Receipt,
    Totals,
    cents,
    totals,
)

__all__ = [
    "CENT",
    "Despatch",
    "Event",
    "Invoice",
    "Line",
    "Order",
    "Party",
    "Payment",
    "Receipt",
    "Totals",
    "cents",
    "totals",
]
