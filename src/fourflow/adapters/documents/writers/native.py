"""FourFlow native JSON writer (``fourflow-native/1``) for invoices (docs/formats/native.md)."""

from __future__ import annotations

import json
from typing import Any

from fourflow.domain.issued import Invoice, Party


def _party(party: Party, *, account: bool) -> dict[str, str]:
    out = {"name": party.name, "uscc": party.uscc, "gln": party.gln}
    if account:
        out["account"] = party.account
    return out


def invoice_document(invoice: Invoice) -> dict[str, Any]:
    """The native JSON object of an invoice: same business key as its UBL form."""
    t = invoice.totals
    return {
        "kind": "invoice",
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "seller": _party(invoice.seller, account=True),
        "buyer": _party(invoice.buyer, account=False),
        "currency": invoice.currency,
        "lines": [
            {
                "id": ln.line_id,
                "item": ln.gtin,
                "description": ln.name,
                "quantity": f"{ln.quantity:f}",
                "unit": ln.unit,
                "unit_price": f"{ln.unit_price:.2f}",
                "amount": f"{ln.amount:.2f}",
            }
            for ln in invoice.lines
        ],
        "total": f"{t.gross:.2f}",
        "tax_total": f"{t.tax:.2f}",
        "references": [{"kind": "order", "number": invoice.order_number}],
    }


def invoice_json(invoice: Invoice) -> bytes:
    """A native JSON file holding one invoice."""
    doc = {"format": "fourflow-native/1", **invoice_document(invoice)}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
