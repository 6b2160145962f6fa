"""Ingest applies the EN 16931 business rules and the date checks: refused means nothing stored.

The four hostile invoices of issue 19 (negative payable, every amount negative, totals off by
one cent, dated five years ahead) are made from CEN's own valid example invoice; each is
refused naming the rule, its text and where, and neither a document, a finding nor a chain
operation is left behind. Runs on SQLite and on PostgreSQL; no chain is needed (ingest only
queues chain operations).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from fourflow.adapters.documents.standards import standards_dir
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.domain.scenarios import Scenario
from fourflow.services import ingest
from fourflow.services.demo import MEMBERS, trade_bundle
from fourflow.services.ingest import DocumentOutcome, SubmittedFile
from fourflow.services.onboarding import onboard
from tests.fakes import FixedClock
from tests.store.fixtures import store_url  # noqa: F401  (fixture)

EXAMPLE = ("en16931", "ubl-examples", "ubl-tc434-example1.xml")
TODAY = dt.date(2026, 12, 6)
SUPPLIER_USCC = "91110000600037341L"


@pytest.fixture
def platform(tmp_path: Path, store_url: str) -> Platform:  # noqa: F811
    return Platform(Settings(tmp_path / "home", store_url, None, "pw"), clock=FixedClock(TODAY))


def _submitter(p: Platform) -> str:
    return onboard(uow_factory=p.uow_factory, keystore=p.keystore, name="Rules Supplier",
                   uscc=SUPPLIER_USCC, roles=[Role.SUPPLIER], admit=False).id  # fmt: skip


def _example() -> str:
    return standards_dir().joinpath(*EXAMPLE).read_text(encoding="utf-8")


def _set(xml: str, tag: str, value: str) -> str:
    """Replace the text of every ``cbc:<tag>`` (keeping its attributes)."""
    out, n = re.subn(rf"(<cbc:{tag}\b[^>]*>)[^<]*(</cbc:{tag}>)", rf"\g<1>{value}\g<2>", xml)
    assert n, tag
    return out


def _negate_amounts(xml: str) -> str:
    """Every amount in the invoice negated (price amounts included)."""

    def neg(m: re.Match[str]) -> str:
        return f"{m.group(1)}-{m.group(2)}{m.group(3)}"

    return re.sub(r"(<cbc:\w*Amount\b[^>]*>)([0-9.]+)(</cbc:\w*Amount>)", neg, xml)


def _ingest(p: Platform, submitter: str, name: str, xml: str | bytes) -> DocumentOutcome:
    raw = xml.encode("utf-8") if isinstance(xml, str) else xml
    [outcome] = ingest.ingest_files(
        uow_factory=p.uow_factory, reader=p.reader_for(submitter), clock=p.clock,
        files=[SubmittedFile(name, raw)], submitter_id=submitter,
    )  # fmt: skip
    return outcome


def _ops(p: Platform) -> int:
    with p.uow_factory() as uow:
        return len(uow.outbox.list())


def _nothing_stored(p: Platform, ops_before: int) -> None:
    """No document, no finding and no chain operation was added."""
    with p.uow_factory() as uow:
        assert uow.documents.count() == 0
        assert len(uow.outbox.list()) == ops_before


HOSTILE: dict[str, tuple[Callable[[str], str], str]] = {
    # PayableAmount negative while the totals say 250.33: BR-CO-16 (amount due).
    "negative_payable": (lambda x: _set(x, "PayableAmount", "-250.33"), "BR-CO-16"),
    # Every amount negative: a line's net price may not be negative (BR-27).
    "all_negative": (_negate_amounts, "BR-27"),
    # Tax-inclusive total one cent above exclusive + VAT: BR-CO-15.
    "totals_off_by_a_cent": (lambda x: _set(x, "TaxInclusiveAmount", "250.34"), "BR-CO-15"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_invoice_is_refused_naming_rule_text_and_place(
    platform: Platform, case: str
) -> None:
    submitter = _submitter(platform)
    ops = _ops(platform)
    change, rule = HOSTILE[case]
    outcome = _ingest(platform, submitter, f"{case}.xml", change(_example()))
    assert outcome.status == "rejected"
    codes = {e["code"] for e in outcome.errors}
    assert rule in codes, outcome.errors
    [error] = [e for e in outcome.errors if e["code"] == rule][:1]
    assert f"[{rule}]" in error["message"] and f"{case}.xml" in error["message"]
    assert error["location"].startswith("/"), error
    _nothing_stored(platform, ops)


def test_invoice_dated_five_years_ahead_is_refused(platform: Platform) -> None:
    submitter = _submitter(platform)
    ops = _ops(platform)
    ahead = TODAY.replace(year=TODAY.year + 5).isoformat()
    xml = _set(_set(_example(), "IssueDate", ahead), "DueDate", ahead)
    outcome = _ingest(platform, submitter, "ahead.xml", xml)
    assert outcome.status == "rejected"
    [error] = outcome.errors
    assert error["code"] == "DATE-IN-FUTURE" and ahead in error["message"]
    _nothing_stored(platform, ops)


def test_the_valid_example_is_accepted_and_registered(platform: Platform) -> None:
    submitter = _submitter(platform)
    ops = _ops(platform)
    outcome = _ingest(platform, submitter, "good.xml", _example())
    assert outcome.status == "accepted", outcome.errors
    assert outcome.findings == ()
    with platform.uow_factory() as uow:
        assert uow.documents.count() == 1
        assert len(uow.outbox.list()) == ops + 1  # its fingerprint, queued for the chain


@pytest.mark.parametrize(
    ("days_ahead", "tolerance", "accepted"),
    [(0, 1, True), (1, 1, True), (2, 1, False), (1, 0, False), (3, 5, True)],
)
def test_date_tolerance_is_applied_as_configured(
    platform: Platform, days_ahead: int, tolerance: int, accepted: bool
) -> None:
    submitter = _submitter(platform)
    day = (TODAY + dt.timedelta(days=days_ahead)).isoformat()
    xml = _set(_set(_example(), "IssueDate", day), "DueDate", day)
    [outcome] = ingest.ingest_files(
        uow_factory=platform.uow_factory, reader=platform.reader_for(submitter),
        clock=platform.clock, files=[SubmittedFile("d.xml", xml.encode())],
        submitter_id=submitter, date_tolerance=dt.timedelta(days=tolerance),
    )  # fmt: skip
    assert (outcome.status == "accepted") is accepted, outcome.errors


def test_settings_read_the_date_tolerance_and_standards_dir() -> None:
    env = {"FOURFLOW_HOME": "/tmp/x", "FOURFLOW_DATE_TOLERANCE_DAYS": "3",
           "FOURFLOW_STANDARDS_DIR": "/somewhere/standards"}  # fmt: skip
    settings = Settings.from_env(env)
    assert settings.date_tolerance_days == 3
    assert settings.standards_dir == Path("/somewhere/standards")
    defaults = Settings.from_env({"FOURFLOW_HOME": "/tmp/x"})
    assert defaults.date_tolerance_days == 1 and defaults.standards_dir is None


def _bundle(invoice_shift_days: int) -> bytes:
    m = {x.key: x for x in MEMBERS}
    raw = trade_bundle(
        prefix="R1", seller=m["tier1"], buyer=m["core"], carrier=m["logistics"],
        lines=[("SKU-1", "10", "EA", "100.00")], received_factor="1",
        day0=dt.date(2026, 9, 1), terms_days=30, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    bundle = json.loads(raw)
    [invoice] = [d for d in bundle["documents"] if d["kind"] == "invoice"]
    invoice["issue_date"] = (
        dt.date(2026, 9, 1) + dt.timedelta(days=invoice_shift_days)
    ).isoformat()
    return json.dumps(bundle).encode()


def test_invoice_dated_before_its_order_is_kept_with_a_finding(platform: Platform) -> None:
    submitter = _submitter(platform)
    outcomes = ingest.ingest_files(
        uow_factory=platform.uow_factory, reader=platform.reader_for(submitter),
        clock=platform.clock, files=[SubmittedFile("bundle.json", _bundle(-2))],
        submitter_id=submitter,
    )  # fmt: skip
    assert {o.status for o in outcomes} == {"accepted"}
    [invoice] = [o for o in outcomes if o.parsed and o.parsed.document.kind.value == "invoice"]
    assert [f["code"] for f in invoice.findings] == ["DATE-BEFORE-ORDER"]
    assert all(not o.findings for o in outcomes if o is not invoice)
    with platform.uow_factory() as uow:
        kept = uow.document_findings.for_document(str(invoice.document_id))
    assert [f.code for f in kept] == ["DATE-BEFORE-ORDER"]


def test_invoice_dated_after_its_order_has_no_finding(platform: Platform) -> None:
    submitter = _submitter(platform)
    outcomes = ingest.ingest_files(
        uow_factory=platform.uow_factory, reader=platform.reader_for(submitter),
        clock=platform.clock, files=[SubmittedFile("bundle.json", _bundle(6))],
        submitter_id=submitter,
    )  # fmt: skip
    assert {o.status for o in outcomes} == {"accepted"}
    assert all(not o.findings for o in outcomes)
