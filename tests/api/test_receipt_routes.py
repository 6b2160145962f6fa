"""Warehouse receipts over HTTP on a real chain (issue 16 item 1: the CLI's `receipt issue`,
`pledge`, `release`, `sell`, `pay` and `show` have endpoints calling the same service
functions): each allowed for its party, refused for a wrong organisation type or role (403),
another organisation's receipt (404), a state that refuses it (409) and a bad quantity (422),
and a refusal changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.services import credit
from fourflow.services.demo import demo_uscc
from tests.api.world import (
    API,
    KYC,
    PASSWORD,
    Party,
    Person,
    assert_refused,
    http_world,
    invite,
    ok,
    sign_in,
)

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-receipt-routes")]

GOODS = "COPPER-CATHODE"
ZERO = "0x" + "0" * 40


@dataclass
class World:
    client: TestClient
    platform: Platform
    parties: dict[str, Party]
    clerk: Person  # tier 1's clerk (no right to pledge, sell or ask for goods)
    approver: Person  # the bank's approver (no right to release a pledge)
    operator: Person


def _warehouse(client: TestClient, operator: Person) -> Party:
    """A warehouse registers over HTTP, the operator admits it after KYC, its admin signs in."""
    email = "admin@warehouse.example.cn"
    body = {
        "name": "苏州港保税仓储有限公司", "uscc": demo_uscc("320500", "MA1FFWH01"),
        "org_type": "warehouse",
        "licence": {"address": "1 Port Road", "legal_representative": "Warehouse Rep",
                    "licence_number": "WH-1", "registered_capital": "CNY 10,000,000"},
        "accounts": ["6222020001000000099"], "admin_email": email,
        "admin_name": "warehouse admin", "admin_password": PASSWORD,
    }  # fmt: skip
    registered = ok(client.post(f"{API}/registrations", json=body), 201)
    review = {"admit": True, "checks": KYC, "note": "licence checked"}
    app_id = registered["application"]["id"]
    admitted = ok(
        client.post(f"{API}/registrations/{app_id}/review", json=review, headers=operator.auth)
    )
    admin = sign_in(client, Person(email, registered["totp_uri"]))
    return Party("warehouse", admitted["org_id"], {"admin": admin})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The six members and a warehouse over HTTP; the copper price feed (the operator's
    `fourflow risk price`) gives today's price."""
    with http_world(tmp_path_factory.mktemp("receipt-routes"), anvil.url) as w:
        parties = dict(w.parties)
        parties["warehouse"] = _warehouse(w.client, w.operator)
        clerk = invite(w.client, parties["tier1"], "clerk")
        approver = invite(w.client, parties["bank"], "approver")
        credit.set_price(
            uow_factory=w.platform.uow_factory, goods_code=GOODS, price=68_000.0,
            currency="CNY", as_of=w.platform.clock.today(),
        )  # fmt: skip
        yield World(w.client, w.platform, parties, clerk, approver, w.operator)


def _auth(who: Person | Party) -> dict[str, str]:
    return who.admin.auth if isinstance(who, Party) else who.auth


def _post(w: World, path: str, who: Person | Party, body: Any = None) -> Any:
    return w.client.post(f"{API}{path}", json=body, headers=_auth(who))


def _show(w: World, receipt_id: str, who: Person | Party) -> Any:
    return w.client.get(f"{API}/receipts/{receipt_id}", headers=_auth(who))


def _rows(w: World, table: str, receipt_id: str) -> int:
    with w.platform.engine.connect() as connection:
        query = text(f"SELECT count(*) FROM {table} WHERE receipt_id = :r")
        return int(connection.execute(query, {"r": receipt_id}).scalar_one())


def _issue(w: World, quantity: int = 100) -> str:
    body = {
        "holder": w.parties["tier1"].org_id, "goods_code": GOODS,
        "description": "电解铜 99.99%", "quantity": quantity, "unit": "TNE",
        "location": "SZ-B3-07", "evidence": f"urn:epcis:receiving:{quantity}",
    }  # fmt: skip
    made = ok(_post(w, "/receipts", w.parties["warehouse"], body), 201)
    assert made["holder_id"] == w.parties["tier1"].org_id and made["quantity"] == quantity
    return str(made["receipt_id"])


def test_issue_show_pledge_release_and_goods_out(world: World) -> None:
    w, p = world, world.parties
    body = {"holder": p["tier1"].org_id, "goods_code": GOODS, "description": "x",
            "quantity": 1, "unit": "TNE", "location": "L", "evidence": "e"}  # fmt: skip
    assert_refused(_post(w, "/receipts", p["tier1"], body), 403, "may not")  # not a warehouse
    assert_refused(_post(w, "/receipts", p["warehouse"], {**body, "quantity": 0}), 422, "positive")
    assert_refused(_post(w, "/receipts", p["warehouse"], {**body, "holder": "nope"}), 404, "nope")
    receipt_id = _issue(w)

    shown = ok(_show(w, receipt_id, p["tier1"]))
    assert shown["chain"]["holder"] and [h["op"] for h in shown["history"]] == ["receipt_issue"]
    assert ok(_show(w, receipt_id, p["warehouse"]))["receipt_id"] == receipt_id
    assert ok(_show(w, receipt_id, p["regulator"]))["receipt_id"] == receipt_id
    assert_refused(_show(w, receipt_id, p["tier2"]), 404, receipt_id)  # no part in it
    assert_refused(_show(w, receipt_id, p["bank"]), 404, receipt_id)  # not pledged to it (yet)

    pledge = {"bank": p["bank"].org_id, "amount": "300000.00"}
    assert_refused(_post(w, f"/receipts/{receipt_id}/pledge", w.clerk, pledge), 403, "may not")
    assert_refused(_post(w, f"/receipts/{receipt_id}/pledge", p["tier2"], pledge), 404, receipt_id)
    assert_refused(
        _post(w, f"/receipts/{receipt_id}/pledge", p["warehouse"], pledge), 403, "may not"
    )
    assert_refused(
        _post(w, f"/receipts/{receipt_id}/pledge", p["tier1"], {**pledge, "amount": "0.001"}),
        422,
    )
    pledged = ok(_post(w, f"/receipts/{receipt_id}/pledge", p["tier1"], pledge), 201)
    assert (pledged["status"], pledged["amount"]) == ("approved", "300000.00"), pledged
    chain = ok(_show(w, receipt_id, p["bank"]))["chain"]  # the bank is a party now
    assert str(chain["pledge_bank"]).lower() != ZERO and chain["pledge_amount"] == 30_000_000, chain
    again = _post(w, f"/receipts/{receipt_id}/pledge", p["tier1"], {**pledge, "amount": "1.00"})
    assert_refused(again, 409, "already pledged")
    assert _rows(w, "receipt_pledges", receipt_id) == 1  # the refusal recorded nothing

    release = f"/receipts/{receipt_id}/pledge/release"
    assert_refused(_post(w, release, w.approver), 403, "may not")
    assert_refused(_post(w, release, p["tier1"]), 403, "may not")  # an enterprise: not its action
    assert ok(_post(w, release, p["bank"])) == {"receipt_id": receipt_id, "pledge": "released"}
    assert_refused(_post(w, release, p["bank"]), 409, "is not pledged")
    assert _rows(w, "receipt_pledges", receipt_id) == 2
    shown = ok(_show(w, receipt_id, p["tier1"]))
    assert shown["chain"]["pledge_amount"] == 0, shown  # the contract's "not pledged"

    ask = f"/receipts/{receipt_id}/release-requests"
    assert_refused(_post(w, ask, p["warehouse"], {"quantity": 40}), 403, "may not")
    assert_refused(_post(w, ask, p["tier1"], {"quantity": 0}), 422, "positive")
    assert ok(_post(w, ask, p["tier1"], {"quantity": 40}), 201)["state"] == "requested"
    out = f"/receipts/{receipt_id}/releases"
    shipped = {"quantity": 40, "evidence": "urn:epcis:ship:1"}
    assert_refused(_post(w, out, p["tier1"], shipped), 403, "may not")
    # more than the holder asked for: the chain refuses, nothing is recorded
    assert_refused(_post(w, out, p["warehouse"], {**shipped, "quantity": 50}), 409)
    assert _rows(w, "goods_releases", receipt_id) == 0
    assert ok(_post(w, out, p["warehouse"], shipped), 201)["state"] == "released"
    assert _rows(w, "goods_releases", receipt_id) == 1
    assert ok(_show(w, receipt_id, p["tier1"]))["chain"]["released"] == 40


def test_sell_and_pay_delivery_versus_payment(world: World) -> None:
    w, p = world, world.parties
    receipt_id = _issue(w, 80)
    sale = {"buyer": p["tier2"].org_id, "quantity": 25, "price": "1750000.00"}
    sales = f"/receipts/{receipt_id}/sales"
    assert_refused(_post(w, sales, p["tier2"], sale), 404, receipt_id)  # no part in it yet
    assert_refused(_post(w, sales, w.clerk, sale), 403, "may not")
    assert_refused(
        _post(w, sales, p["tier1"], {**sale, "buyer": p["tier1"].org_id}), 422, "own holder"
    )
    offered = ok(_post(w, sales, p["tier1"], sale), 201)
    sale_id = offered["sale_id"]
    assert offered["buyer_receipt_id"].startswith("wr")
    assert ok(_show(w, receipt_id, p["tier2"]))["receipt_id"] == receipt_id  # the buyer sees it
    assert_refused(_post(w, sales, p["tier2"], sale), 403, "only the holder")

    pay = f"/receipts/{receipt_id}/payments"
    assert_refused(_post(w, pay, p["tier1"], {"sale_id": sale_id, "amount": "1.00"}), 403, "buyer")
    assert_refused(_post(w, pay, p["tier2"], {"sale_id": "sale-nope", "amount": "1.00"}), 409)
    mint = {"to": p["tier2"].org_id, "amount": "1000000.00", "reference": "DEP-WR-1"}
    ok(_post(w, "/tokens", p["bank"], mint), 201)
    # more than the buyer's tokens: the chain refuses, no payment is recorded
    assert_refused(_post(w, pay, p["tier2"], {"sale_id": sale_id, "amount": "1500000.00"}), 409)
    with w.platform.engine.connect() as connection:
        query = text("SELECT count(*) FROM receipt_sale_events WHERE sale_id = :s")
        assert connection.execute(query, {"s": sale_id}).scalar_one() == 0
    paid = ok(_post(w, pay, p["tier2"], {"sale_id": sale_id, "amount": "1000000.00"}), 201)
    assert paid == {"receipt_id": receipt_id, "sale_id": sale_id, "amount": "1000000.00",
                    "currency": "CNY"}  # fmt: skip
    # the buyer's receipt: the units paid for passed into it; its buyer and seller read it
    bought = ok(_show(w, offered["buyer_receipt_id"], p["tier2"]))
    assert bought["chain"]["holder"] and bought["chain"]["quantity"] > 0, bought
    assert ok(_show(w, offered["buyer_receipt_id"], p["tier1"]))["chain"] == bought["chain"]
    assert_refused(_show(w, offered["buyer_receipt_id"], p["core"]), 404, "does not exist")
    history = ok(_show(w, receipt_id, p["tier1"]))["history"]
    assert [h["op"] for h in history if h["status"] == "done"] == [
        "receipt_issue", "receipt_offer", "receipt_pay"
    ]  # fmt: skip
