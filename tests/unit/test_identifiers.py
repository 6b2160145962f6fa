"""Party identifiers: USCC (GB 32100-2015), GLN, LEI, BIC and IBAN check rules."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import (
    uscc_check_character,
    validate_bic,
    validate_gln,
    validate_iban,
    validate_lei,
    validate_uscc,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
USCC_CSV = SHARED / "china" / "uscc" / "uscc_examples.csv"


def _uscc_rows() -> list[tuple[str, bool]]:
    with USCC_CSV.open(encoding="utf-8") as handle:
        return [(r["uscc"], r["stdnum_2.2_validate"] == "valid") for r in csv.DictReader(handle)]


@pytest.mark.parametrize(("code", "valid"), _uscc_rows())
def test_uscc_agrees_with_the_public_labelled_examples(code: str, valid: bool) -> None:
    if valid:
        assert validate_uscc(code) == code
    else:
        with pytest.raises(DomainValueError):
            validate_uscc(code)


def test_uscc_error_names_the_expected_check_character() -> None:
    with pytest.raises(DomainValueError, match="check character is 'X', expected 'L'"):
        validate_uscc("91110000600037341X")


def test_uscc_is_compacted_and_upper_cased() -> None:
    assert validate_uscc(" 9111 0000-600037341l ") == "91110000600037341L"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("9111000060003734", "must be 18 characters"),
        ("Z1110000600037341L", "registration authority"),
        ("9111A000600037341L", "region code"),
        ("91110000600037I41L", "not allowed"),
    ],
)
def test_uscc_errors_say_what_is_wrong(code: str, message: str) -> None:
    with pytest.raises(DomainValueError, match=message):
        validate_uscc(code)


def test_uscc_check_character_matches_python_stdnum() -> None:
    from stdnum.cn import uscc

    for base in ("91320500MA1FF0001", "92371000MA3MXH0E3", "91110000600037341"):
        assert uscc_check_character(base) == uscc.calc_check_digit(base + "0")


def test_gln() -> None:
    assert validate_gln("5790000435951") == "5790000435951"
    with pytest.raises(DomainValueError, match="check digit"):
        validate_gln("5790000435952")
    with pytest.raises(DomainValueError, match="13 digits"):
        validate_gln("57900004359")


def test_lei() -> None:
    assert validate_lei("5493001KJTIIGC8Y1R12") == "5493001KJTIIGC8Y1R12"
    with pytest.raises(DomainValueError, match="check digits"):
        validate_lei("5493001KJTIIGC8Y1R13")


def test_bic_and_iban() -> None:
    assert validate_bic("DEUTDEFF500") == "DEUTDEFF500"
    with pytest.raises(DomainValueError):
        validate_bic("DEUT1EFF")
    assert validate_iban("GB82 WEST 1234 5698 7654 32") == "GB82WEST12345698765432"
    with pytest.raises(DomainValueError, match="check digits"):
        validate_iban("GB82WEST12345698765433")
