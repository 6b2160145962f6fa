"""Each trade's invoice facts as the store keeps them (``trade_facts``, migration 0028).

``risk.features.invoice_facts`` of a trade depends only on its documents, which never change
(a trade gains documents: a payment, a credit note). So the facts are computed once, outside
requests: by the worker for the trades verified or given documents since its last pass
(``credit.history.fill_changed``, a pass step) and by ``Platform.initialise`` for every trade
without a current row (``credit.history.fill``); they are kept with the key of that document
set and the version of the computation, written by upsert (two fillers at once do not
collide). A reader (``credit.history.FACTS``) uses a kept row only when both match the trade
now, and decodes the documents otherwise (a trade the worker has not reached yet).
Disputes are not documents: readers add them afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from fourflow.domain.trades import Trade
from fourflow.risk.features import InvoiceFacts, invoice_facts
from fourflow.services.ports import StoredFacts

#: The version of the kept facts: raise it when ``invoice_facts`` or this encoding changes
#: what they hold (rows of another version are decoded again, and refilled by ``fill``).
VERSION = 1


def documents_key(document_ids: Sequence[str]) -> str:
    """The key of a trade's document set (its ids in link order)."""
    return hashlib.sha256("\n".join(document_ids).encode()).hexdigest()


def _day(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def encode(facts: Sequence[InvoiceFacts]) -> str:
    """The facts (without their disputes) as compact JSON."""
    return json.dumps(
        [
            {
                "key": f.key, "trade_id": f.trade_id, "creditor": f.creditor,
                "debtor": f.debtor, "scenario": f.scenario, "issue_date": _day(f.issue_date),
                "due_date": _day(f.due_date), "amount": f.amount,
                "payments": [[_day(d), a] for d, a in f.payments],
                "credits": [[_day(d), a] for d, a in f.credits],
                "logistics": [[_day(d), k] for d, k in f.logistics],
                "ordered_on": _day(f.ordered_on),
                "rejected": [[_day(d), a, _day(r)] for d, a, r in f.rejected],
            }
            for f in facts
        ],
        ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip


def decode(text: str) -> list[InvoiceFacts]:
    """``encode``'s facts back (their disputes empty)."""
    day = dt.date.fromisoformat

    def one(x: dict[str, Any]) -> InvoiceFacts:
        return InvoiceFacts(
            key=x["key"], trade_id=x["trade_id"], creditor=x["creditor"], debtor=x["debtor"],
            scenario=x["scenario"], issue_date=day(x["issue_date"]),
            due_date=day(x["due_date"]), amount=x["amount"],
            payments=tuple((day(d), a) for d, a in x["payments"]),
            credits=tuple((day(d), a) for d, a in x["credits"]),
            logistics=tuple((day(d), k) for d, k in x["logistics"]),
            ordered_on=None if x["ordered_on"] is None else day(x["ordered_on"]),
            rejected=tuple((day(d), a, day(r)) for d, a, r in x["rejected"]),
        )  # fmt: skip

    return [one(x) for x in json.loads(text)]


def current(row: StoredFacts | None, document_ids: Sequence[str]) -> bool:
    """Whether a kept row holds the facts of these documents by this computation."""
    return (
        row is not None
        and row.version == VERSION
        and row.documents_key == documents_key(document_ids)
    )


def rows_of(trades: Iterable[tuple[Sequence[str], Trade]]) -> list[StoredFacts]:
    """The rows to keep for ``trades``: (the trade record's document ids, the trade with
    those documents)."""
    return [
        StoredFacts(t.id, documents_key(ids), VERSION, encode(invoice_facts(t)))
        for ids, t in trades
    ]
