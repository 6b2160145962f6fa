"""EnvelopeKeyStore: chain keys sealed under per-organisation data keys, the data keys wrapped
by a master key; conversion of the older layout; atomic master key rotation; self-held keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from fourflow.adapters.crypto import envelope
from fourflow.adapters.crypto.keystore import (
    DATA_KEYS_FILE,
    EnvelopeKeyStore,
    FileKeyStore,
    KeyStoreError,
    MasterKeySource,
    SelfCustodyError,
    WrongPasswordError,
)
from fourflow.domain.errors import ConflictError


def _key_file(tmp_path: Path, name: str) -> tuple[Path, envelope.MasterKey]:
    path = tmp_path / name
    return path, envelope.write_key_file(path)


def _store(home: Path, key_file: Path | None = None, **kw: object) -> EnvelopeKeyStore:
    source = MasterKeySource(file=key_file, default_file=home / "master.key")
    store = EnvelopeKeyStore(home, source, **kw)  # type: ignore[arg-type]
    store.open()
    return store


def test_keys_are_sealed_under_data_keys_wrapped_by_the_master_key(tmp_path: Path) -> None:
    key_file, master = _key_file(tmp_path, "master.b64")
    home = tmp_path / "home"
    store = _store(home, key_file)
    address = store.create("org-1")
    secret = store.private_key("org-1")
    keys = home / "keys"
    for name in ("org-1.json", DATA_KEYS_FILE):
        path = keys / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert secret.hex() not in text and envelope.encode_key(secret) not in text
    ring = json.loads((keys / DATA_KEYS_FILE).read_text())
    assert ring["master_key_id"] == master.key_id and set(ring["keys"]) >= {"org-1"}
    assert not (home / "master.key").exists()  # the configured key, not a home default
    reloaded = _store(home, key_file)  # a new process
    assert reloaded.address("org-1") == address
    assert Account.from_key(reloaded.private_key("org-1")).address == address
    with pytest.raises(ConflictError):
        reloaded.create("org-1")


def test_a_wrong_or_missing_master_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    key_file, _ = _key_file(tmp_path, "master.b64")
    other_file, _ = _key_file(tmp_path, "other.b64")
    home = tmp_path / "home"
    _store(home, key_file).create("org-1")
    with pytest.raises(envelope.MasterKeyError, match="FOURFLOW_MASTER_KEY_FILE"):
        _store(home, other_file)
    with pytest.raises(envelope.MasterKeyError, match="set FOURFLOW_MASTER_KEY or"):
        _store(home)  # no setting and no home key: nothing is generated over wrapped keys
    assert not (home / "master.key").exists()
    bad = tmp_path / "bad.b64"
    bad.write_text("not base64!")
    with pytest.raises(envelope.MasterKeyError, match=r"FOURFLOW_MASTER_KEY_FILE.*not base64"):
        _store(home, bad)
    source = MasterKeySource(value="c2hvcnQ=", default_file=home / "master.key")
    with pytest.raises(envelope.MasterKeyError, match="FOURFLOW_MASTER_KEY: a master key is 32"):
        EnvelopeKeyStore(home, source).open()


def test_a_sealed_key_moved_to_another_organisation_does_not_open(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = _store(home)  # a home default master key, created on first use
    store.create("org-1")
    assert (home / "master.key").exists()
    store.create("org-2")
    one = json.loads((home / "keys" / "org-1.json").read_text())
    two_path = home / "keys" / "org-2.json"
    two = json.loads(two_path.read_text())
    two["chain_key"] = one["chain_key"]
    two_path.write_text(json.dumps(two))
    with pytest.raises(KeyStoreError, match="chain key of org-2"):
        _store(home).private_key("org-2")


def test_the_older_layout_is_converted_on_opening(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = FileKeyStore(home, "legacy-pw")
    address = old.create("org-1")
    secret = old.private_key("org-1")
    with pytest.raises(WrongPasswordError, match="FOURFLOW_KEYSTORE_PASSWORD"):
        _store(home, legacy_password=lambda: "guess")
    assert "crypto" in json.loads((home / "keys" / "org-1.json").read_text())  # unchanged
    store = _store(home, legacy_password=lambda: "legacy-pw")
    record = json.loads((home / "keys" / "org-1.json").read_text())
    assert "crypto" not in record and record["format"] == "fourflow-key-2"
    assert _store(home).private_key("org-1") == secret  # no legacy password needed now
    assert store.address("org-1") == address


def test_rotation_rewraps_every_data_key_and_the_old_key_opens_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = _store(home)  # starts on the home default key
    store.create("org-1")
    old = envelope.read_master_key_file(home / "master.key", "old")
    store.create("org-2")
    box = store.secret_box("webhooks")
    sealed = box.seal("whsec_abc")
    secrets = {o: store.private_key(o) for o in ("org-1", "org-2")}
    new_file, new = _key_file(tmp_path, "new.b64")
    assert store.rotate_master(new) == 3
    assert not (home / "master.key").exists()  # the previous key was the home's: gone
    rotated = _store(home, new_file)
    assert {o: rotated.private_key(o) for o in secrets} == secrets
    assert rotated.secret_box("webhooks").open(sealed) == "whsec_abc"
    old_file = tmp_path / "old.b64"
    old_file.write_text(envelope.encode_key(old.key))
    with pytest.raises(envelope.MasterKeyError, match="not the master key"):
        _store(home, old_file)
    ring = json.loads((home / "keys" / DATA_KEYS_FILE).read_text())
    for name, wrapped in ring["keys"].items():  # below the key-id check too
        with pytest.raises(envelope.DecryptionError):
            envelope.unseal(old.key, wrapped, f"fourflow data key|{name}".encode(), name)


def test_a_rotation_failing_halfway_changes_nothing(tmp_path: Path) -> None:
    key_file, _ = _key_file(tmp_path, "master.b64")
    home = tmp_path / "home"
    store = _store(home, key_file)
    for org in ("org-1", "org-2", "org-3"):
        store.create(org)
    path = home / "keys" / DATA_KEYS_FILE
    ring = json.loads(path.read_text())
    ring["keys"]["org-2"]["ciphertext"] = ring["keys"]["org-1"]["ciphertext"]  # damaged
    path.write_text(json.dumps(ring))
    before = path.read_bytes()
    _, new = _key_file(tmp_path, "new.b64")
    with pytest.raises(envelope.MasterKeyError, match="data key of org-2"):
        _store(home, key_file).rotate_master(new)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [
        ".lock",
        DATA_KEYS_FILE,
        "org-1.json",
        "org-2.json",
        "org-3.json",
    ]  # no draft left behind
    fresh = _store(home, key_file)  # the current master key still opens the others
    assert fresh.private_key("org-1") and fresh.private_key("org-3")


def test_an_organisation_holding_its_own_key_is_never_signed_for(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = _store(home)
    own = Account.create()
    assert store.hold_own("org-own", own.address.lower()) == own.address
    assert store.holds_own_key("org-own") and not store.holds_own_key("nobody")
    assert store.address("org-own") == own.address
    with pytest.raises(SelfCustodyError, match="holds its own key"):
        store.private_key("org-own")
    assert not (home / "keys" / DATA_KEYS_FILE).exists()  # no data key made for it
    with pytest.raises(ConflictError):
        store.hold_own("org-own", own.address)


def test_the_address_is_read_again_only_when_the_key_file_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``address`` (asked before every signature) reads a key file once while it is unchanged,
    and sees a custody change made by another store on the same home (another process)."""
    key_file, _ = _key_file(tmp_path, "master.b64")
    home = tmp_path / "home"
    mine, other = _store(home, key_file), _store(home, key_file)
    first = mine.create("org-a")
    reads: list[str] = []
    real = EnvelopeKeyStore._read

    def counted(what: str, path: Path) -> dict[str, object]:
        reads.append(what)
        return real(what, path)

    monkeypatch.setattr(EnvelopeKeyStore, "_read", staticmethod(counted))
    assert [mine.address("org-a") for _ in range(50)] == [first] * 50
    assert not mine.holds_own_key("org-a")
    assert reads == ["org-a"]  # once, then from the cache
    own = Account.create().address
    old, new = other.change_custody("org-a", own, at="now")
    assert (old, new) == (first, own)
    assert mine.address("org-a") == own  # the file changed: read again
    assert mine.holds_own_key("org-a")
    with pytest.raises(SelfCustodyError):
        mine.private_key("org-a")
    _, back = mine.change_custody("org-a", None, at="later")
    assert other.address("org-a") == back != own
    assert not other.holds_own_key("org-a")
    assert mine.address("org-none") is None
