"""Money: exact decimals in ISO 4217 currencies; floats refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fourflow.domain.errors import DomainValueError
from fourflow.domain.money import Money, round_money


def test_minor_units_round_trip() -> None:
    m = Money.of("1000000.00", "CNY")
    assert m.minor == 100_000_000
    assert Money.from_minor(100_000_000, "cny") == m
    assert Money.from_minor(1234, "JPY").amount == Decimal(1234)
    assert Money.from_minor(1234, "KWD").plain() == "1.234"


def test_floats_are_refused() -> None:
    with pytest.raises(DomainValueError, match="float"):
        Money.of(0.1, "CNY")


def test_too_many_decimals_are_refused() -> None:
    with pytest.raises(DomainValueError, match="more than 2 decimal places"):
        Money.of("1.005", "CNY")
    with pytest.raises(DomainValueError, match="more than 0 decimal places"):
        Money.of("1.5", "JPY")


def test_currencies_do_not_mix() -> None:
    with pytest.raises(DomainValueError, match="cannot combine CNY with USD"):
        Money.of("1", "CNY") + Money.of("1", "USD")


def test_unknown_currency() -> None:
    with pytest.raises(DomainValueError, match="not a supported ISO 4217"):
        Money.of("1", "XYZ")


def test_rounding_is_half_even() -> None:
    assert round_money(Decimal("0.125"), "CNY").plain() == "0.12"
    assert round_money(Decimal("0.135"), "CNY").plain() == "0.14"
    assert str(Money.of("1234567.8", "CNY")) == "1,234,567.80 CNY"
