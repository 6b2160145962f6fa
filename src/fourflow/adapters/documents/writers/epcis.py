"""GS1 EPCIS 2.0 JSON-LD writer: one ObjectEvent per document.

Goods are a ``quantityList`` of SGTIN patterns (read back as GTIN-14); the carrier or warehouse
is the source ``possessing_party`` (PGLN), the buyer the destination ``owning_party`` (PGLN);
the order, despatch advice and invoice are CBV business transactions. See docs/simulator.md.
"""

from __future__ import annotations

import json
from typing import Any

from fourflow.domain.issued import Event, Party

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
TIME_ZONE = "+08:00"


def pgln(party: Party) -> str:
    """The party's PGLN URN (company prefix . party reference)."""
    return f"urn:epc:id:pgln:{party.gln[:7]}.{party.gln[7:12]}"


def sgln(party: Party) -> str:
    """The SGLN URN of the party's (only) location."""
    return f"urn:epc:id:sgln:{party.gln[:7]}.{party.gln[7:12]}.0"


def sgtin_class(gtin: str) -> str:
    """The ``urn:epc:idpat:sgtin`` pattern of a GTIN-14 whose company prefix has 7 digits."""
    return f"urn:epc:idpat:sgtin:{gtin[1:8]}.{gtin[0]}{gtin[8:13]}.*"


def _bt(kind: str, owner: Party, number: str) -> dict[str, str]:
    return {"type": kind, "bizTransaction": f"urn:epcglobal:cbv:bt:{owner.gln}:{number}"}


def event_document(event: Event) -> dict[str, Any]:
    """The EPCIS document (a JSON object) holding one ObjectEvent."""
    location = event.origin if event.biz_step == "shipping" else event.actor
    transactions = [
        _bt("po", event.owner, event.order_number),
        _bt("desadv", event.origin, event.despatch_number),
    ]
    if event.invoice_number:
        transactions.append(_bt("inv", event.origin, event.invoice_number))
    stamp = event.event_time.strftime("%Y-%m-%dT%H:%M:%S") + TIME_ZONE
    body: dict[str, Any] = {
        "eventID": event.event_id,
        "type": "ObjectEvent",
        "eventTime": stamp,
        "eventTimeZoneOffset": TIME_ZONE,
        "action": "OBSERVE",
        "bizStep": event.biz_step,
        "disposition": "in_transit" if event.biz_step == "shipping" else "in_progress",
        "readPoint": {"id": sgln(location)},
        "bizLocation": {"id": sgln(location)},
        "quantityList": [
            {"epcClass": sgtin_class(ln.gtin), "quantity": int(ln.quantity), "uom": ln.unit}
            for ln in event.lines
        ],
        "bizTransactionList": transactions,
        "sourceList": [
            {"type": "possessing_party", "source": pgln(event.actor)},
            {"type": "location", "source": sgln(event.origin)},
        ],
        "destinationList": [
            {"type": "owning_party", "destination": pgln(event.owner)},
            {"type": "location", "destination": sgln(event.owner)},
        ],
    }
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": stamp,
        "epcisBody": {"eventList": [body]},
    }


def event_json(event: Event) -> bytes:
    """The EPCIS 2.0 JSON-LD bytes of one event."""
    text = json.dumps(event_document(event), ensure_ascii=False, indent=1)
    return text.encode("utf-8")
