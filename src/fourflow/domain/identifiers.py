"""Real-world party identifiers and their check-digit rules.

* USCC, the Unified Social Credit Code of GB 32100-2015 (统一社会信用代码);
* GLN, the GS1 Global Location Number (13 digits, GS1 mod-10);
* LEI, the ISO 17442 Legal Entity Identifier (ISO 7064 MOD 97-10);
* BIC (ISO 9362) and IBAN (ISO 13616).

Each ``validate_*`` returns the compact, canonical form or raises ``DomainValueError``
with a message that says what is wrong.
"""

from __future__ import annotations

import re
import string
from enum import StrEnum

from fourflow.domain.errors import DomainValueError

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 32100-2015 table 1: registration authority codes (1-9, A military, N agriculture, Y other).
_USCC_AUTHORITIES = frozenset("123456789ANY")


class IdScheme(StrEnum):
    """The identifier schemes a party can be known by."""

    USCC = "uscc"
    GLN = "gln"
    LEI = "lei"
    VAT = "vat"
    BIC = "bic"
    IBAN = "iban"
    ACCOUNT = "account"
    SM2_KEY = "sm2key"  # an SM2 public key the organisation signs documents with
    OTHER = "other"


def _compact(value: str) -> str:
    return re.sub(r"[\s\-]", "", value).upper()


def uscc_check_character(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC."""
    total = 0
    for char, weight in zip(first17, _USCC_WEIGHTS, strict=True):
        index = USCC_ALPHABET.find(char)
        if index < 0:
            raise DomainValueError(f"USCC: character {char!r} is not allowed")
        total += index * weight
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Validate a Unified Social Credit Code (GB 32100-2015) and return it compacted."""
    code = _compact(value)
    if len(code) != 18:
        raise DomainValueError(f"USCC {value!r}: must be 18 characters, got {len(code)}")
    if code[0] not in _USCC_AUTHORITIES:
        raise DomainValueError(f"USCC {value!r}: unknown registration authority code {code[0]!r}")
    if not code[2:8].isdigit():
        raise DomainValueError(f"USCC {value!r}: characters 3-8 must be a region code (digits)")
    bad = [c for c in code if c not in USCC_ALPHABET]
    if bad:
        raise DomainValueError(f"USCC {value!r}: characters {''.join(bad)!r} are not allowed")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise DomainValueError(
            f"USCC {value!r}: check character is {code[17]!r}, expected {expected!r}"
        )
    return code


def gs1_check_digit(digits: str) -> str:
    """Return the GS1 mod-10 check digit for the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def validate_gln(value: str) -> str:
    """Validate a GS1 Global Location Number (13 digits with a mod-10 check digit)."""
    code = _compact(value)
    if len(code) != 13 or not code.isdigit():
        raise DomainValueError(f"GLN {value!r}: must be 13 digits")
    if gs1_check_digit(code[:12]) != code[12]:
        raise DomainValueError(f"GLN {value!r}: check digit does not match")
    return code


def _mod97(text: str) -> int:
    digits = "".join(str(int(c, 36)) for c in text)
    return int(digits) % 97


def validate_lei(value: str) -> str:
    """Validate an ISO 17442 Legal Entity Identifier (20 characters, MOD 97-10)."""
    code = _compact(value)
    if len(code) != 20 or not code.isalnum():
        raise DomainValueError(f"LEI {value!r}: must be 20 letters or digits")
    if not code[18:].isdigit() or _mod97(code) != 1:
        raise DomainValueError(f"LEI {value!r}: check digits do not match")
    return code


_BIC_RE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")


def validate_bic(value: str) -> str:
    """Validate the form of an ISO 9362 BIC (8 or 11 characters)."""
    code = _compact(value)
    if not _BIC_RE.match(code):
        raise DomainValueError(f"BIC {value!r}: must be 8 or 11 characters, bank-country-location")
    return code


def validate_iban(value: str) -> str:
    """Validate an ISO 13616 IBAN (country code, check digits, MOD 97-10)."""
    code = _compact(value)
    if len(code) < 15 or len(code) > 34 or not code.isalnum():
        raise DomainValueError(f"IBAN {value!r}: must be 15-34 letters or digits")
    if code[:2] not in _ALPHA2 or not code[2:4].isdigit():
        raise DomainValueError(f"IBAN {value!r}: must start with a country code and two digits")
    if _mod97(code[4:] + code[:4]) != 1:
        raise DomainValueError(f"IBAN {value!r}: check digits do not match")
    return code


_ALPHA2 = frozenset(a + b for a in string.ascii_uppercase for b in string.ascii_uppercase)


def validate_sm2_key(value: str) -> str:
    """Validate an uncompressed SM2 public key: 64 bytes (x || y) as hex, optional 04 prefix."""
    key = value.strip().lower().removeprefix("0x")
    if len(key) == 130 and key.startswith("04"):
        key = key[2:]
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raise DomainValueError(f"SM2 key {value!r}: not hex") from None
    if len(raw) != 64:
        raise DomainValueError(f"SM2 key {value!r}: must be 64 bytes (x || y), got {len(raw)}")
    return key


_VALIDATORS = {
    IdScheme.USCC: validate_uscc,
    IdScheme.GLN: validate_gln,
    IdScheme.LEI: validate_lei,
    IdScheme.BIC: validate_bic,
    IdScheme.IBAN: validate_iban,
    IdScheme.SM2_KEY: validate_sm2_key,
}


def normalise_identifier(scheme: IdScheme, value: str) -> str:
    """Validate ``value`` under ``scheme`` where the scheme has a rule; compact it otherwise."""
    validator = _VALIDATORS.get(scheme)
    if validator is not None:
        return validator(value)
    compact = value.strip()
    if not compact:
        raise DomainValueError(f"{scheme.value} identifier must not be empty")
    return compact
