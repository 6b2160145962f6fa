"""Fraud detectors: each fires on a hand-made platform and stays quiet on a near miss."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.fraud import FraudLabel, FraudType
from fourflow.domain.identifiers import uscc_check_character
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, Organisation, PartyRef, Role
from fourflow.domain.scenarios import Scenario
from fourflow.domain.trades import Trade
from fourflow.services.fraud import evaluate, salted_fingerprint
from fourflow.verification.fraud import (
    FraudSignal,
    PlatformView,
    codes_by_trade,
    edit_distance,
    scan,
)

D0 = dt.date(2026, 3, 2)
K = DocumentKind


def _uscc(serial: str) -> str:
    base = f"91320500{serial}"
    return base + uscc_check_character(base)


def _org(n: int, role: Role, **profile: str) -> Organisation:
    return Organisation(
        f"org-{n}",
        f"Firm {n}",
        _uscc(f"MA1FR77{n:02d}"),
        (role,),
        accounts=(f"62220000000000{n:05d}",),
        profile=tuple(sorted(profile.items())),
    )


A = _org(1, Role.SUPPLIER, address="1 Canal Rd", phone="0512-1111", industry="steel")
B = _org(2, Role.CORE_ENTERPRISE, address="2 Lake Rd", phone="0512-2222", industry="steel")
C = _org(3, Role.DISTRIBUTOR, address="3 Hill Rd", phone="0512-3333")
CARRIER = _org(4, Role.LOGISTICS, address="4 Port Rd")
STRANGER = _org(5, Role.SUPPLIER, address="5 Mill Rd")
ORGS = (A, B, C, CARRIER, STRANGER)


def _ref(org: Organisation, account: bool = False) -> PartyRef:
    return PartyRef(
        org.name, (Identifier.parse("uscc", org.uscc),), org.accounts[0] if account else None
    )


def _lines(qty: str, item: str = "SKU-1", price: str = "10.00") -> tuple[DocumentLine, ...]:
    return (
        DocumentLine("1", item, Decimal(qty), "EA", Decimal(price), Decimal(qty) * Decimal(price)),
    )


def _invoice(number: str, day: int, qty: str, seller: Organisation = A, buyer: Organisation = B,
             item: str = "SKU-1", fmt: str = "ubl-2.1") -> Document:  # fmt: skip
    net = Decimal(qty) * 10
    return Document(
        f"doc-{number}-{fmt}", K.INVOICE, number, D0 + dt.timedelta(days=day), _ref(seller),
        _ref(buyer), "CNY", _lines(qty, item), Money(net, "CNY"), due_date=D0 + dt.timedelta(60),
        references=(DocumentRef(K.ORDER, f"PO-{number}"),), source_format=fmt,
    )  # fmt: skip


def _doc(kind: DocumentKind, number: str, day: int, qty: str, seller: Organisation = A,
         buyer: Organisation = B, item: str = "SKU-1") -> Document:  # fmt: skip
    return Document(f"doc-{number}", kind, number, D0 + dt.timedelta(days=day), _ref(seller),
                    _ref(buyer), "CNY", _lines(qty, item), Money(Decimal(qty) * 10, "CNY"))  # fmt: skip


def _payment(number: str, day: int, amount: str, payer: Organisation, payee: Organisation,
             invoice: str | None = None) -> Document:  # fmt: skip
    refs = (DocumentRef(K.INVOICE, invoice),) if invoice else ()
    return Document(f"doc-{number}", K.PAYMENT, number, D0 + dt.timedelta(days=day),
                    _ref(payee, account=True), _ref(payer, account=True), "CNY",
                    total=Money(Decimal(amount), "CNY"), references=refs)  # fmt: skip


def clean_trade(n: str, day: int = 0, qty: str = "100", seller: Organisation = A,
                buyer: Organisation = B, item: str = "SKU-1") -> Trade:  # fmt: skip
    """Order, despatch by a carrier, receipt, invoice: a trade with goods behind it."""
    docs = (
        _doc(K.ORDER, f"PO-{n}", day, qty, seller, buyer, item),
        _doc(K.DESPATCH_ADVICE, f"DN-{n}", day + 2, qty, seller, buyer, item),
        _doc(K.TRANSPORT_EVENT, f"EV-{n}", day + 2, qty, CARRIER, buyer, item),
        _doc(K.RECEIPT_ADVICE, f"GRN-{n}", day + 4, qty, seller, buyer, item),
        _invoice(n, day + 5, qty, seller, buyer, item),
    )
    return Trade(f"t-{n}", Scenario.MANUFACTURING, seller.id, buyer.id, docs)


def _with(trade: Trade, *extra: Document, drop: tuple[DocumentKind, ...] = ()) -> Trade:
    docs = tuple(d for d in trade.documents if d.kind not in drop) + extra
    return dataclasses.replace(trade, documents=docs)


def _scan(
    *trades: Trade, orgs: tuple[Organisation, ...] = ORGS, **kw: object
) -> dict[str, list[str]]:
    view = PlatformView(tuple(trades), orgs, D0 + dt.timedelta(days=365), **kw)  # type: ignore[arg-type]
    return codes_by_trade(scan(view), (t.id for t in trades))


def _signals(*trades: Trade, **kw: object) -> list[FraudSignal]:
    view = PlatformView(tuple(trades), ORGS, D0 + dt.timedelta(days=365), **kw)  # type: ignore[arg-type]
    return scan(view)


def test_a_clean_platform_raises_nothing() -> None:
    trades = [clean_trade(f"{i}", day=7 * i) for i in range(8)]
    assert all(codes == [] for codes in _scan(*trades).values())


# --------------------------------------------------------------------------- duplicates


def test_the_same_invoice_in_another_format_is_a_duplicate_and_not_inflation() -> None:
    trade = clean_trade("1")
    copy = dataclasses.replace(
        trade.of_kind(K.INVOICE)[0], id="doc-copy", source_format="native-json"
    )
    codes = _scan(_with(trade, copy))
    assert codes["t-1"] == ["DUPLICATE_INVOICE"]


def test_the_same_invoice_in_two_trades_flags_both_and_names_the_other() -> None:
    first = clean_trade("1")
    second = dataclasses.replace(first, id="t-2")
    signals = [s for s in _signals(first, second) if s.fraud is FraudType.DUPLICATE_INVOICE]
    assert {s.trade_id for s in signals} == {"t-1", "t-2"}
    assert signals[0].related_trades == ("t-2",)


def test_resubmitted_or_presented_elsewhere_invoices_are_duplicates() -> None:
    trade = clean_trade("1")
    invoice = trade.of_kind(K.INVOICE)[0].id
    assert _scan(trade, resubmitted=frozenset({invoice}))["t-1"] == ["DUPLICATE_INVOICE"]
    assert _scan(trade, presented_elsewhere=frozenset({invoice}))["t-1"] == ["DUPLICATE_INVOICE"]


def test_salted_fingerprints_depend_on_the_salt() -> None:
    key = "invoice|uscc:X|uscc:Y|INV-1|2026-03-02|100.00|CNY"
    assert salted_fingerprint(b"a" * 32, key) == salted_fingerprint(b"a" * 32, key)
    assert salted_fingerprint(b"a" * 32, key) != salted_fingerprint(b"b" * 32, key)


# --------------------------------------------------------------------------- near-duplicates


def test_an_altered_copy_with_no_goods_behind_it_is_a_near_duplicate() -> None:
    trade = clean_trade("000123")
    original = trade.of_kind(K.INVOICE)[0]
    for number, days, qty in (("000123A", 0, "100"), ("0000123", 3, "100"), ("000123-1", 0, "102")):
        copy = _invoice(number, 5 + days, qty)
        copy = dataclasses.replace(copy, references=original.references)
        codes = _scan(_with(trade, copy))
        assert codes["t-000123"] == ["NEAR_DUPLICATE_INVOICE"], number


def test_split_invoices_over_partial_deliveries_are_not_near_duplicates() -> None:
    trade = clean_trade("1", qty="200")
    partial = (
        _doc(K.RECEIPT_ADVICE, "GRN-1a", 4, "100"),
        _doc(K.RECEIPT_ADVICE, "GRN-1b", 6, "100"),
        _invoice("INV-000124", 6, "100"),
        _invoice("INV-000125", 6, "100"),
    )
    split = _with(trade, *partial, drop=(K.RECEIPT_ADVICE, K.INVOICE))
    assert _scan(split)["t-1"] == []


def test_edit_distance_is_bounded() -> None:
    assert edit_distance("000123", "000123A", 2) == 1
    assert edit_distance("000123", "000132", 2) == 1  # a transposition
    assert edit_distance("000123", "999999", 2) == 3


# --------------------------------------------------------------------------- phantom, inflated


def test_an_invoice_with_no_logistics_is_a_phantom_trade() -> None:
    trade = _with(clean_trade("1"), drop=(K.DESPATCH_ADVICE, K.TRANSPORT_EVENT, K.RECEIPT_ADVICE))
    assert _scan(trade)["t-1"] == ["PHANTOM_TRADE"]


def test_evidence_from_an_unrelated_firm_is_a_phantom_trade_but_a_carrier_is_fine() -> None:
    foreign = _doc(K.TRANSPORT_EVENT, "EV-X", 2, "100", STRANGER, B)
    trade = _with(clean_trade("1"), foreign, drop=(K.TRANSPORT_EVENT, K.RECEIPT_ADVICE))
    signals = _signals(trade)
    assert [s.fraud for s in signals] == [FraudType.PHANTOM_TRADE]
    assert "Firm 5" in signals[0].message and STRANGER.id in signals[0].parties
    assert _scan(clean_trade("2"))["t-2"] == []


def test_invoicing_beyond_what_was_received_is_inflation_within_tolerance_is_not() -> None:
    short = _doc(K.RECEIPT_ADVICE, "GRN-1", 4, "80")
    signals = _signals(_with(clean_trade("1"), short, drop=(K.RECEIPT_ADVICE,)))
    assert [s.fraud for s in signals] == [FraudType.INFLATED_INVOICE]
    assert "invoiced 100, received 80" in signals[0].message
    nearly = _doc(K.RECEIPT_ADVICE, "GRN-1", 4, "99")
    assert _scan(_with(clean_trade("1"), nearly, drop=(K.RECEIPT_ADVICE,)))["t-1"] == []


def test_a_credit_note_nets_off_invoiced_quantities() -> None:
    short = _doc(K.RECEIPT_ADVICE, "GRN-1", 4, "90")
    credit = _doc(K.CREDIT_NOTE, "CN-1", 9, "10")
    assert _scan(_with(clean_trade("1"), short, credit, drop=(K.RECEIPT_ADVICE,)))["t-1"] == []


# --------------------------------------------------------------------------- circular


def _cycle(spacing: int, qty2: str = "100") -> list[Trade]:
    return [
        clean_trade("ab", 0, "100", A, B, "GTIN-A"),
        clean_trade("bc", spacing, qty2, B, C, "GTIN-A"),
        clean_trade("ca", 2 * spacing, "100", C, A, "GTIN-A"),
    ]


def test_the_same_goods_going_round_within_weeks_is_circular_trading() -> None:
    signals = [s for s in _signals(*_cycle(5)) if s.fraud is FraudType.CIRCULAR_TRADING]
    assert {s.trade_id for s in signals} == {"t-ab", "t-bc", "t-ca"}
    assert "Firm 1 -> Firm 2 -> Firm 3 -> Firm 1" in signals[0].message


def test_a_slow_cycle_or_one_of_different_values_is_not_circular_trading() -> None:
    assert all(c == [] for c in _scan(*_cycle(40)).values())
    assert all(c == [] for c in _scan(*_cycle(5, qty2="300")).values())


# --------------------------------------------------------------------------- related parties


def test_a_shared_phone_relates_the_parties_a_shared_industry_does_not() -> None:
    twin = dataclasses.replace(C, id="org-9", uscc=_uscc("MA1FR7709"), accounts=("9",),
                               profile=(("industry", "steel"), ("phone", "0512 2222")))  # fmt: skip
    orgs = (*ORGS, twin)
    signals = scan(PlatformView((clean_trade("1", seller=twin),), orgs, D0))
    assert [s.fraud for s in signals] == [FraudType.RELATED_PARTIES]
    assert "phone" in signals[0].message
    cousin = dataclasses.replace(twin, profile=(("industry", "steel"),))
    assert scan(PlatformView((clean_trade("1", seller=cousin),), (*ORGS, cousin), D0)) == []


# --------------------------------------------------------------------------- payments


def test_money_paid_back_to_the_payer_is_a_round_trip() -> None:
    paid = _with(clean_trade("1"), _payment("PAY-1", 60, "1000.00", B, A, "1"))
    back = _payment("PAY-BACK", 63, "950.00", A, B)
    signals = _signals(paid, loose_documents=(back,))
    assert [s.fraud for s in signals] == [FraudType.ROUND_TRIP_PAYMENT]
    assert "doc-PAY-BACK" in signals[0].documents
    late = _payment("PAY-BACK", 90, "950.00", A, B)
    small = _payment("PAY-BACK", 63, "300.00", A, B)
    assert _scan(paid, loose_documents=(late,))["t-1"] == []
    assert _scan(paid, loose_documents=(small,))["t-1"] == []


def test_a_payment_by_another_firm_is_a_third_party_payer() -> None:
    trade = _with(clean_trade("1"), _payment("PAY-1", 60, "1000.00", STRANGER, A, "1"))
    signals = _signals(trade)
    assert [s.fraud for s in signals] == [FraudType.THIRD_PARTY_PAYER]
    assert "Firm 5" in signals[0].message


def test_a_payment_from_the_buyers_second_account_is_fine() -> None:
    buyer = dataclasses.replace(B, accounts=(*B.accounts, "6222999"))
    pay = _payment("PAY-1", 60, "1000.00", B, A, "1")
    pay = dataclasses.replace(pay, buyer=dataclasses.replace(pay.buyer, account="6222999"))
    orgs = (A, buyer, C, CARRIER, STRANGER)
    assert _scan(_with(clean_trade("1"), pay), orgs=orgs)["t-1"] == []


# --------------------------------------------------------------------------- volume spikes


def _history(*quantities: str) -> list[Trade]:
    return [clean_trade(f"{i}", 10 * i, q) for i, q in enumerate(quantities)]


def test_a_trade_far_above_the_relationships_history_is_a_spike() -> None:
    codes = _scan(*_history("100", "120", "90", "110", "105", "800"))
    assert codes["t-5"] == ["VOLUME_SPIKE"]
    assert all(c == [] for t, c in codes.items() if t != "t-5")


def test_normal_variation_or_too_short_a_history_is_no_spike() -> None:
    assert all(c == [] for c in _scan(*_history("100", "120", "90", "110", "105", "300")).values())
    assert all(c == [] for c in _scan(*_history("100", "120", "800")).values())


# --------------------------------------------------------------------------- evaluation


def test_evaluation_counts_per_type_and_clean_false_alarms() -> None:
    trades = [clean_trade(f"{i}") for i in range(4)]
    labels = [FraudLabel(FraudType.PHANTOM_TRADE, A.uscc, ("0", "1"))]
    signals = {"t-0": ["PHANTOM_TRADE"], "t-1": [], "t-2": ["PHANTOM_TRADE"], "t-3": []}
    result = evaluate(signals=signals, labels=labels, trades=trades)
    phantom = result["by_type"]["PHANTOM_TRADE"]
    assert (phantom["precision"], phantom["recall"], phantom["false_alarm_rate"]) == (0.5, 0.5, 0.5)
    assert result["clean_trades"] == 2 and result["clean_flagged"] == 1
    assert result["met"] is False
