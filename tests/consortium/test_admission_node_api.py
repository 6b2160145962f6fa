"""The operator's admission over the API refuses a member's node before anything changes when
the server's home has no development network (the network's own case is in
``test_clique_signers.py``). No chain is needed: the check comes first."""

from __future__ import annotations

from fourflow.services.demo import demo_uscc
from tests.api.test_identity import Home, home  # noqa: F401  (fixture)
from tests.api.world import API, KYC, PASSWORD

ENODE = "enode://" + "ab" * 64 + "@127.0.0.1:30399"


def test_a_node_is_refused_without_a_development_network_and_nothing_changes(
    home: Home,  # noqa: F811
) -> None:
    body = {"name": "苏州节点物流有限公司", "uscc": demo_uscc("320500", "MA1ND0001"),
            "org_type": "logistics",
            "licence": {"address": "苏州工业园区 9 号", "legal_representative": "王五"},
            "accounts": [], "admin_email": "admin@node-logistics.example.cn",
            "admin_name": "Wang Wu", "admin_password": PASSWORD}  # fmt: skip
    registered = home.client.post(f"{API}/registrations", json=body)
    assert registered.status_code == 201, registered.text
    app_id = registered.json()["application"]["id"]
    operator = home.user(home.platform.operator_id(), "ops@operator.example.cn")
    token = home.sign_in(operator.user.email, totp=home.code(operator.totp_uri)).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    review = {"admit": True, "checks": KYC, "note": "licence checked", "node_enode": ENODE}
    refused = home.client.post(f"{API}/registrations/{app_id}/review", json=review, headers=auth)
    assert refused.status_code == 409, refused.text
    assert "no consortium network in" in refused.json()["detail"]
    listed = home.client.get(f"{API}/registrations", headers=auth).json()
    assert next(a for a in listed if a["id"] == app_id)["status"] == "pending"
