"""The main path over HTTP only, on a fresh home: six organisations register and are admitted,
each party uploads its own documents, the seller issues, the debtor confirms with its own
signature, a part is passed on and financed after a four-eyes decision, the debtor's bank
attests the payment, the regulator and the district's local government read their figures;
the store and the chain agree."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fourflow.bootstrap import Platform
from fourflow.services.audit import audit
from tests.api.main_path_flow import main_path
from tests.api.world import operator_admin

pytestmark = pytest.mark.chain


def test_the_main_path_over_http(client: TestClient, api_platform: Platform) -> None:
    main_path(client, operator_admin(client, api_platform), api_platform.clock.today())

    report = audit(
        uow_factory=api_platform.uow_factory, ledger=api_platform.require_contracts(),
        reader_for=api_platform.stored_reader_for,
    )  # fmt: skip
    assert report.ok, report.discrepancies
