"""The platform scan of a financing decision runs once per platform state in a process: an
equal view answers from the last scan, any change of what the detectors read scans afresh."""

from __future__ import annotations

import datetime as dt

import pytest

from fourflow.domain.parties import Organisation, Role
from fourflow.services import fraud
from fourflow.verification.fraud import FraudSignal, PlatformView, scan


def test_an_unchanged_view_is_scanned_once_and_a_changed_one_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[PlatformView] = []

    def counted(view: PlatformView) -> list[FraudSignal]:
        seen.append(view)
        return scan(view)

    monkeypatch.setattr(fraud, "scan", counted)  # the name services.fraud calls
    org = Organisation("org-1", "江苏某某制造有限公司", "91320000MA1XXXXX0Q", (Role.SUPPLIER,))
    day = dt.date(2026, 11, 2)
    first = fraud.scan_once(PlatformView((), (org,), day))
    again = fraud.scan_once(PlatformView((), (org,), day))  # equal by value, another object
    assert again is first and len(seen) == 1
    renamed = Organisation(org.id, "另一家公司", org.uscc, org.roles)
    fraud.scan_once(PlatformView((), (renamed,), day))
    fraud.scan_once(PlatformView((), (renamed,), day + dt.timedelta(days=1)))
    assert len(seen) == 3
