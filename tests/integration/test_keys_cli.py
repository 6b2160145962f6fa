"""The master key on a real home (SQLite, no chain needed): webhook secrets sealed at rest,
a home of the older key layout upgraded on opening, and ``fourflow keys rotate-master``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from fourflow.adapters.crypto.keystore import FileKeyStore
from fourflow.adapters.db import tables as t
from fourflow.adapters.db.engine import default_sqlite_url
from fourflow.bootstrap import Platform, Settings
from fourflow.entrypoints.cli.main import app
from fourflow.services import webhooks

NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


def _settings(home: Path, key_file: Path | None = None) -> Settings:
    return Settings(
        home=home, database_url=default_sqlite_url(home), chain_url=None,
        keystore_password="old-layout-pw", master_key_file=key_file,
    )  # fmt: skip


def test_webhook_secrets_are_sealed_at_rest_and_old_rows_sealed_on_opening(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with Platform(_settings(home)) as p:
        endpoint, secret = webhooks.register(
            p.webhooks, org_id="org-1", url="https://erp.example.com/hook",
            kinds=["item.issued"], now=NOW,
        )  # fmt: skip
        with p.engine.begin() as c:
            stored = c.execute(select(t.webhook_endpoints.c.secret)).scalar_one()
            c.execute(  # a row written in plaintext before secrets were sealed
                insert(t.webhook_endpoints).values(
                    id="wh_old", org_id="org-1", url="https://erp.example.com/old",
                    kinds=["item.issued"], secret="whsec_plaintext", active=True,
                    created_at=NOW,
                )
            )  # fmt: skip
        assert stored.startswith("enc1:") and secret not in stored
        assert p.webhooks.secret(endpoint.id) == secret
        assert p.webhooks.secret("wh_old") == "whsec_plaintext"  # still reads before sealing
    assert secret.encode() not in (home / "fourflow.db").read_bytes()
    with Platform(_settings(home)) as p:  # opening seals what is left in plaintext
        with p.engine.connect() as c:
            stmt = select(t.webhook_endpoints.c.id, t.webhook_endpoints.c.secret)
            rows = {r.id: r.secret for r in c.execute(stmt)}
        assert all(v.startswith("enc1:") for v in rows.values())
        assert p.webhooks.secret("wh_old") == "whsec_plaintext"
        assert p.webhooks.secret(endpoint.id) == secret
        assert p.webhooks.seal_plaintext_secrets() == 0


def test_a_home_of_the_older_key_layout_is_upgraded_on_opening(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = FileKeyStore(home, "old-layout-pw")
    address = old.create("org-1")
    secret = old.private_key("org-1")
    with Platform(_settings(home)) as p:
        assert p.keystore.address("org-1") == address
        assert p.keystore.private_key("org-1") == secret
    assert '"crypto"' not in (home / "keys" / "org-1.json").read_text()


class Cli(Protocol):
    """The ``cli`` fixture: ``fourflow`` with this master key file, answering (code, out, err)."""

    def __call__(self, *args: str, key_file: Path) -> tuple[int, str, str]: ...


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    home = tmp_path / "home"
    for name in ("FOURFLOW_DATABASE_URL", "FOURFLOW_CHAIN_URL", "FOURFLOW_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOURFLOW_HOME", str(home))
    runner = CliRunner()

    def invoke(*args: str, key_file: Path) -> tuple[int, str, str]:
        monkeypatch.setenv("FOURFLOW_MASTER_KEY_FILE", str(key_file))
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, " ".join(result.stderr.split())  # unwrapped

    return invoke


def test_rotate_master_rewraps_every_key_and_the_old_key_opens_nothing(
    tmp_path: Path, cli: Cli
) -> None:
    home = tmp_path / "home"
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    for path in (old_file, new_file):
        code, out, err = cli("keys", "new-master-key", "--out", str(path), key_file=path)
        assert code == 0 and "written to" in out, err
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    code, _, err = cli("keys", "new-master-key", "--out", str(old_file), key_file=old_file)
    assert code == 1 and "not overwritten" in err
    with Platform(_settings(home, old_file)) as p:
        addresses = {org: p.keystore.create(org) for org in ("org-a", "org-b")}
        keys = {org: p.keystore.private_key(org) for org in addresses}
        _, secret = webhooks.register(
            p.webhooks, org_id="org-a", url="https://erp.example.com/hook",
            kinds=["item.issued"], now=NOW,
        )  # fmt: skip
    code, out, err = cli("keys", "rotate-master", "--new-key-file", str(new_file),
                         "--json", key_file=old_file)  # fmt: skip
    assert code == 0, err
    assert '"rewrapped": 4' in out  # two organisations, the webhook and TOTP secrets' keys
    code, _, err = cli("webhooks", "deliver", "--once", key_file=old_file)
    assert code == 1 and "FOURFLOW_MASTER_KEY_FILE" in err and "not the master key" in err
    code, _, err = cli("webhooks", "deliver", "--once", key_file=new_file)
    assert code == 0, err
    with Platform(_settings(home, new_file)) as p:
        assert {org: p.keystore.private_key(org) for org in addresses} == keys
        (endpoint,) = p.webhooks.endpoints("org-a")
        assert p.webhooks.secret(endpoint.id) == secret
    # a rotation refused (the new key is the current one) changes nothing
    before = (home / "keys" / "data-keys.json").read_bytes()
    code, _, err = cli("keys", "rotate-master", "--new-key-file", str(new_file),
                       key_file=new_file)  # fmt: skip
    assert code == 1 and "is the current one" in err
    assert (home / "keys" / "data-keys.json").read_bytes() == before


def test_totp_secrets_are_sealed_at_rest_and_old_rows_sealed_on_opening(tmp_path: Path) -> None:
    import pyotp
    from sqlalchemy import update

    from fourflow.domain.identity import UserRole
    from fourflow.domain.parties import Role
    from fourflow.services import identity, onboarding
    from fourflow.services.demo import demo_uscc

    home = tmp_path / "home"
    users = t.platform_users
    with Platform(_settings(home)) as p:
        bank = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name="密钥测试银行",
            uscc=demo_uscc("310000", "MA1KEYTT1"), roles=[Role.BANK], admit=False,
        )  # fmt: skip
        new = identity.add_user(
            p.identities, org_id=bank.id, email="co@keys.example.cn", name="Officer",
            role=UserRole.CREDIT_OFFICER, password="a long enough password",
        )  # fmt: skip
        assert new.totp_uri is not None
        secret = pyotp.parse_uri(new.totp_uri).secret
        with p.engine.begin() as c:
            stored = c.execute(select(users.c.totp_secret)).scalar_one()
        assert stored.startswith("enc1:") and secret not in stored
        with p.identities.store() as store:
            assert store.users.get(new.user.id).totp_secret == secret  # type: ignore[union-attr]
        with p.engine.begin() as c:  # as an older FourFlow stored it
            c.execute(update(users).values(totp_secret=secret))
    with Platform(_settings(home)) as p:  # opening seals it
        with p.engine.connect() as c:
            stored = c.execute(select(users.c.totp_secret)).scalar_one()
        assert stored.startswith("enc1:")
        with p.identities.store() as store:
            assert store.users.get(new.user.id).totp_secret == secret  # type: ignore[union-attr]
