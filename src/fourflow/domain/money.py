"""Money: an exact Decimal amount in an ISO 4217 currency; integer minor units on the chain."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import NewType

from fourflow.domain.errors import DomainValueError

MinorUnits = NewType("MinorUnits", int)

# ISO 4217 active codes and their minor units (the subset that trade finance meets; extendable).
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0,
    "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MOP": 2, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PHP": 2, "PLN": 2, "RON": 2, "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2,
    "TND": 3, "TRY": 2, "TWD": 2, "UGX": 0, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip

# ISO 4217 numeric codes, used to name a currency on the chain compactly.
CURRENCY_NUMERIC: dict[str, int] = {
    "AED": 784, "AUD": 36, "BHD": 48, "BRL": 986, "CAD": 124, "CHF": 756, "CLP": 152, "CNY": 156,
    "CZK": 203, "DKK": 208, "EUR": 978, "GBP": 826, "HKD": 344, "HUF": 348, "IDR": 360,
    "ILS": 376, "INR": 356, "ISK": 352, "JOD": 400, "JPY": 392, "KRW": 410, "KWD": 414,
    "MOP": 446, "MXN": 484, "MYR": 458, "NOK": 578, "NZD": 554, "OMR": 512, "PHP": 608,
    "PLN": 985, "RON": 946, "RUB": 643, "SAR": 682, "SEK": 752, "SGD": 702, "THB": 764,
    "TND": 788, "TRY": 949, "TWD": 901, "UGX": 800, "USD": 840, "VND": 704, "ZAR": 710,
}  # fmt: skip


def validate_currency(code: str) -> str:
    """Return the ISO 4217 code upper-cased, or raise if FourFlow does not know it."""
    upper = code.strip().upper()
    if upper not in CURRENCY_MINOR_UNITS:
        raise DomainValueError(f"currency {code!r}: not a supported ISO 4217 code")
    return upper


def to_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Convert a str, int or Decimal to Decimal; floats are refused (they are not exact)."""
    if isinstance(value, (bool, float)):
        raise DomainValueError(f"{what}: {value!r} is a float or bool; give a decimal string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise DomainValueError(f"{what}: {value!r} is not a decimal number") from None
    else:
        raise DomainValueError(f"{what}: {value!r} is not a decimal number")
    if not result.is_finite():
        raise DomainValueError(f"{what}: {value!r} is not a finite number")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency.

    Attributes:
        amount: the value, a Decimal with at most the currency's minor-unit digits.
        currency: the ISO 4217 alphabetic code.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        currency = validate_currency(self.currency)
        amount = to_decimal(self.amount)
        digits = CURRENCY_MINOR_UNITS[currency]
        if amount != amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN):
            raise DomainValueError(f"amount {amount} {currency}: more than {digits} decimal places")
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "amount", amount)

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        """Build Money from a decimal string, int or Decimal."""
        return cls(to_decimal(amount), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Build Money from integer minor units (as held on the chain)."""
        digits = CURRENCY_MINOR_UNITS[validate_currency(currency)]
        return cls(Decimal(minor).scaleb(-digits), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero of ``currency``."""
        return cls(Decimal(0), currency)

    @property
    def minor(self) -> MinorUnits:
        """The amount in integer minor units."""
        digits = CURRENCY_MINOR_UNITS[self.currency]
        return MinorUnits(int(self.amount.scaleb(digits)))

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise DomainValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount == 0

    def __str__(self) -> str:
        digits = CURRENCY_MINOR_UNITS[self.currency]
        return f"{self.amount:,.{digits}f} {self.currency}"

    def plain(self) -> str:
        """The amount as a plain decimal string with exactly the minor-unit digits."""
        digits = CURRENCY_MINOR_UNITS[self.currency]
        return f"{self.amount:.{digits}f}"


def round_money(amount: Decimal, currency: str) -> Money:
    """Round an exact Decimal to the currency's minor units (half-even)."""
    digits = CURRENCY_MINOR_UNITS[validate_currency(currency)]
    return Money(amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN), currency)
