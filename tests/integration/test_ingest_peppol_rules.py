"""Ingest applies the Peppol BIS Billing 3 rules to an invoice claiming Peppol.

Made from Peppol's own valid ``base-example.xml``: a fatal Peppol rule refuses it with nothing
stored (rule id, the Schematron's text, the element's path), a Peppol warning is kept as a
finding, and the same change on an invoice that does not claim Peppol (CEN's customization)
is not judged by Peppol's rules. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fourflow.adapters.documents.standards import standards_dir
from fourflow.bootstrap import Platform, Settings
from tests.fakes import FixedClock
from tests.integration.test_ingest_rules import (
    TODAY,
    _ingest,
    _nothing_stored,
    _ops,
    _submitter,
)
from tests.store.fixtures import store_url  # noqa: F401  (fixture)


@pytest.fixture
def platform(tmp_path: Path, store_url: str) -> Platform:  # noqa: F811
    return Platform(Settings(tmp_path / "home", store_url, None, "pw"), clock=FixedClock(TODAY))


PEPPOL = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
SUPPLIER_ENDPOINT = '<cbc:EndpointID schemeID="0088">9482348239847239874</cbc:EndpointID>'


def _base() -> str:
    path = standards_dir() / "peppol-billing" / "examples" / "examples" / "base-example.xml"
    xml = path.read_text(encoding="utf-8")
    assert PEPPOL in xml and SUPPLIER_ENDPOINT in xml
    return xml


def _endpoint(xml: str, scheme: str, value: str) -> str:
    return xml.replace(
        SUPPLIER_ENDPOINT, f'<cbc:EndpointID schemeID="{scheme}">{value}</cbc:EndpointID>'
    )


def test_peppol_base_example_is_accepted(platform: Platform) -> None:
    submitter = _submitter(platform)
    outcome = _ingest(platform, submitter, "base-example.xml", _base())
    assert outcome.status == "accepted", outcome.errors
    assert outcome.findings == ()


def test_a_fatal_peppol_rule_refuses_the_invoice_with_nothing_stored(platform: Platform) -> None:
    submitter = _submitter(platform)
    ops = _ops(platform)
    # 0207 is an EAS code, but not one Peppol accepts (PEPPOL-EN16931-CL008)
    outcome = _ingest(platform, submitter, "eas.xml", _endpoint(_base(), "0207", "12345"))
    assert outcome.status == "rejected"
    [error] = [e for e in outcome.errors if e["code"] == "PEPPOL-EN16931-CL008"]
    assert "Electronic address identifier scheme must be from the codelist" in error["message"]
    assert "eas.xml" in error["message"]
    assert error["location"] == (
        "/Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]/cbc:EndpointID[1]"
    )
    _nothing_stored(platform, ops)


def test_peppol_rules_judge_only_an_invoice_claiming_peppol(platform: Platform) -> None:
    submitter = _submitter(platform)
    # Peppol wants a buyer reference or an order reference (PEPPOL-EN16931-R003); EN does not
    xml = re.sub(r"<cbc:BuyerReference>[^<]*</cbc:BuyerReference>", "", _base())
    assert "OrderReference" not in xml and "BuyerReference" not in xml
    claimed = _ingest(platform, submitter, "peppol.xml", xml)
    assert claimed.status == "rejected"
    assert [e["code"] for e in claimed.errors] == ["PEPPOL-EN16931-R003"]
    unclaimed = _ingest(
        platform, submitter, "cen.xml", xml.replace(PEPPOL, "urn:cen.eu:en16931:2017")
    )
    assert unclaimed.status == "accepted", unclaimed.errors


def test_a_peppol_warning_is_kept_as_a_finding(platform: Platform) -> None:
    submitter = _submitter(platform)
    # 0201 (Italian IPA code) wants six letters or digits: PEPPOL-COMMON-R044, a warning
    outcome = _ingest(platform, submitter, "ipa.xml", _endpoint(_base(), "0201", "1234567"))
    assert outcome.status == "accepted", outcome.errors
    assert [(f["code"], f["flag"]) for f in outcome.findings] == [("PEPPOL-COMMON-R044", "warning")]
    assert outcome.findings[0]["location"].endswith("/cbc:EndpointID[1]")
