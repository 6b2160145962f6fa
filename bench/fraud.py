"""Fraud-scan benchmarks: a platform-wide scan over 100,000 synthetic trades.

``bench_fraud_scan(line)`` yields JSON figures made by ``line(name, value, unit, **context)``
(``bench.figures.line``). The platform is built in memory from domain records (no parsing, no
store): a supplier network of about 1,000 relationships, each trade with an order, a despatch,
a carrier's transport event, a receipt, an invoice and a payment, and a sprinkling of frauds so
every detector has work to do.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.identifiers import uscc_check_character
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, Organisation, PartyRef, Role
from fourflow.domain.scenarios import Scenario
from fourflow.domain.trades import Trade
from fourflow.verification.fraud import FRAUD_DETECTORS, PlatformView, scan, scan_context

Line = Callable[..., str]
K = DocumentKind
START = dt.date(2025, 1, 1)


def _org(n: int, role: Role) -> Organisation:
    base = f"91320500MA{n:07d}"
    uscc = base + uscc_check_character(base)
    return Organisation(
        f"org-{n}",
        f"Firm {n}",
        uscc,
        (role,),
        accounts=(f"6222{n:015d}",),
        profile=(("address", f"{n} Road"), ("phone", f"0512-{n:06d}")),
    )


def _party(org: Organisation, account: bool = False) -> PartyRef:
    ident = (Identifier.parse("uscc", org.uscc),)
    return PartyRef(org.name, ident, org.accounts[0] if account else None)


def synthetic_platform(trades: int, seed: int = 7) -> PlatformView:
    """A platform of ``trades`` trades over a tiered network, about 1% of them fraudulent."""
    rng = random.Random(seed)
    cores = [_org(i, Role.CORE_ENTERPRISE) for i in range(1, 26)]
    suppliers = [_org(100 + i, Role.SUPPLIER) for i in range(700)]
    carriers = [_org(900 + i, Role.LOGISTICS) for i in range(20)]
    buyers_of = {s.id: rng.sample(cores, 1) + rng.sample(suppliers[:100], 1) for s in suppliers}
    edges = [(s, b) for s in suppliers for b in buyers_of[s.id] if b.id != s.id]
    base = {(s.id, b.id): Decimal(rng.randint(20_000, 600_000)) for s, b in edges}
    out = []
    for n in range(trades):
        seller, buyer = edges[rng.randrange(len(edges))]
        day = START + dt.timedelta(days=rng.randrange(365))
        qty = Decimal(rng.randint(50, 500))
        price = (base[(seller.id, buyer.id)] / 275 * Decimal(rng.uniform(0.7, 1.4))).quantize(
            Decimal("0.01")
        )
        fraud = n % 100
        received = qty if fraud != 1 else (qty * Decimal("0.8")).quantize(Decimal(1))
        docs = _documents(n, seller, buyer, rng.choice(carriers), day, qty, received, price)
        if fraud == 2:  # phantom: no logistics
            docs = [d for d in docs if d.kind.flow.value != "logistics"]
        if fraud == 3:  # duplicate in another format
            docs.append(_copy(docs[4]))
        out.append(Trade(f"t-{n}", Scenario.MANUFACTURING, seller.id, buyer.id, tuple(docs)))
    return PlatformView(tuple(out), (*cores, *suppliers, *carriers), START + dt.timedelta(400))


def _copy(invoice: Document) -> Document:
    return Document(
        invoice.id + "-copy",
        invoice.kind,
        invoice.number,
        invoice.issue_date,
        invoice.seller,
        invoice.buyer,
        invoice.currency,
        invoice.lines,
        invoice.total,
        references=invoice.references,
        source_format="native-json",
    )


def _documents(
    n: int,
    seller: Organisation,
    buyer: Organisation,
    carrier: Organisation,
    day: dt.date,
    qty: Decimal,
    received: Decimal,
    price: Decimal,
) -> list[Document]:
    item = f"GTIN-{seller.id}-1"

    def doc(kind: DocumentKind, number: str, offset: int, q: Decimal, **kw: object) -> Document:
        line = DocumentLine("1", item, q, "EA", price, q * price)
        issuer = carrier if kind is K.TRANSPORT_EVENT else seller
        payer = kind is K.PAYMENT
        return Document(
            f"d-{number}",
            kind,
            number,
            day + dt.timedelta(days=offset),
            _party(issuer, payer),
            _party(buyer, payer),
            "CNY",
            () if payer else (line,),
            Money(q * price, "CNY"),
            **kw,  # type: ignore[arg-type]
        )

    order = DocumentRef(K.ORDER, f"PO-{n}")
    return [
        doc(K.ORDER, f"PO-{n}", 0, qty),
        doc(K.DESPATCH_ADVICE, f"DN-{n}", 5, qty, references=(order,)),
        doc(K.TRANSPORT_EVENT, f"EV-{n}", 5, qty, references=(order,)),
        doc(K.RECEIPT_ADVICE, f"GRN-{n}", 8, received, references=(order,)),
        doc(K.INVOICE, f"INV-{n}", 10, qty, references=(order,)),
        doc(K.PAYMENT, f"PAY-{n}", 70, qty, references=(DocumentRef(K.INVOICE, f"INV-{n}"),)),
    ]


def bench_fraud_scan(line: Line, trades: int = 100_000) -> Iterator[str]:
    """Time a platform-wide fraud scan (every detector) over ``trades`` synthetic trades."""
    view = synthetic_platform(trades)
    # The loaded platform lives through the scan: keep the collector from re-walking its
    # millions of objects on every generation-2 pass (as a long-running service would).
    gc.collect()
    gc.freeze()
    start = time.perf_counter()
    ctx = scan_context(view)
    indexed = time.perf_counter() - start
    timings = {}
    count = 0
    for detector in FRAUD_DETECTORS:
        t0 = time.perf_counter()
        count += len(detector(ctx))
        timings[detector.__name__.removeprefix("detect_")] = round(time.perf_counter() - t0, 3)
    total = time.perf_counter() - start
    yield line("fraud.scan_s", total, "s", trades=trades, signals=count,
               index_s=round(indexed, 3), **timings)  # fmt: skip
    yield line("fraud.scan_trades_per_s", trades / total, "trades/s", trades=trades)
    assert count == len(scan(view))  # the same scan through the public entry point
    gc.unfreeze()
