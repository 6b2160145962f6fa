"""FileKeyStore: encrypted per-organisation key files under the home directory."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from eth_account import Account

from fourflow.adapters.crypto.keystore import SCRYPT_N, FileKeyStore, WrongPasswordError
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError


def test_create_stores_an_encrypted_key_only_the_owner_can_read(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, "s3cret")
    address = store.create("org-1")
    path = tmp_path / "keys" / "org-1.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keyfile = json.loads(path.read_text())
    assert keyfile["crypto"]["kdf"] == "scrypt"
    assert keyfile["crypto"]["kdfparams"]["n"] == SCRYPT_N
    assert Account.from_key(store.private_key("org-1")).address == address
    assert store.private_key("org-1").hex() not in path.read_text()


def test_a_new_process_reloads_the_same_account(tmp_path: Path) -> None:
    address = FileKeyStore(tmp_path, "s3cret").create("org-1")
    reloaded = FileKeyStore(tmp_path, "s3cret")
    assert reloaded.address("org-1") == address
    assert Account.from_key(reloaded.private_key("org-1")).address == address
    assert reloaded.org_ids() == ["org-1"]


def test_a_wrong_password_is_refused(tmp_path: Path) -> None:
    FileKeyStore(tmp_path, "s3cret").create("org-1")
    other = FileKeyStore(tmp_path, "guess")
    assert other.address("org-1") is not None  # the address is public
    with pytest.raises(WrongPasswordError, match="wrong password for org-1"):
        other.private_key("org-1")


def test_decryption_is_fast_enough_for_a_cli_start(tmp_path: Path) -> None:
    FileKeyStore(tmp_path, "s3cret").create("org-1")
    # The work of one decryption (scrypt: about 0.07 s of CPU), not the wall clock: on a loaded
    # 2-core machine a 0.07 s decryption took 1.5 s of wall time, waiting for a core.
    started = time.thread_time()
    FileKeyStore(tmp_path, "s3cret").private_key("org-1")
    assert time.thread_time() - started < 0.5


def test_unknown_org_duplicates_and_unsafe_ids(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, "s3cret")
    assert store.address("nobody") is None
    with pytest.raises(NotFoundError):
        store.private_key("nobody")
    store.create("org-1")
    with pytest.raises(ConflictError):
        store.create("org-1")
    with pytest.raises(DomainValueError):
        store.create("../escape")
    with pytest.raises(DomainValueError):
        FileKeyStore(tmp_path, "")
