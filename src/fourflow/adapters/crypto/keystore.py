"""Organisations' chain accounts in encrypted Web3 Secret Storage files under the home dir."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address

from fourflow.domain.errors import ConflictError, DomainValueError, FourFlowError, NotFoundError

# scrypt N = 2**15 with r = 8 needs 32 MiB and decrypts in about 0.07 s on a 2024 laptop core,
# well under the 0.5 s budget a CLI start can afford, yet costs an offline guesser the same
# per password. Decrypted keys are cached per process, so each key is decrypted once.
SCRYPT_N = 2**15
_ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class KeyStoreError(FourFlowError, RuntimeError):
    """A key file cannot be used (unreadable, corrupt, or locked by another password)."""


class WrongPasswordError(KeyStoreError, PermissionError):
    """The key store password does not decrypt this key file."""


class FileKeyStore:
    """One encrypted key file per organisation: ``<home>/keys/<org_id>.json`` (mode 0600).

    Keys are Web3 Secret Storage v3 JSON (scrypt, ``SCRYPT_N``) as written by
    ``eth_account.Account.encrypt``, so standard Ethereum tools can import them.
    Decryption (about 0.07 s with ``SCRYPT_N = 2**15``) happens once per organisation and
    process; the plain key then stays in memory.
    """

    def __init__(self, home_dir: str | os.PathLike[str], password: str) -> None:
        if not password:
            raise DomainValueError("key store: the password must not be empty")
        self._dir = Path(home_dir) / "keys"
        self._password = password
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def create(self, org_id: str) -> str:
        """Create and store a new account for ``org_id``; return its checksummed address."""
        path = self._path(org_id)
        account = Account.create()
        keyfile = Account.encrypt(account.key, self._password, kdf="scrypt", iterations=SCRYPT_N)
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise ConflictError(f"key store: {org_id} already has an account") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(keyfile, handle)
        with self._lock:
            self._keys[org_id] = bytes(account.key)
        return str(account.address)

    def address(self, org_id: str) -> str | None:
        """The organisation's checksummed address, or None when it has no account."""
        path = self._path(org_id)
        if not path.exists():
            return None
        raw = self._load(org_id, path).get("address", "")
        return _checksum(str(raw))

    def private_key(self, org_id: str) -> bytes:
        """Decrypt the organisation's key (cached for the rest of the process)."""
        with self._lock:
            cached = self._keys.get(org_id)
        if cached is not None:
            return cached
        path = self._path(org_id)
        if not path.exists():
            raise NotFoundError(f"key store: no account for {org_id}")
        try:
            key = bytes(Account.decrypt(self._load(org_id, path), self._password))
        except ValueError as exc:
            raise WrongPasswordError(f"key store: wrong password for {org_id}") from exc
        with self._lock:
            self._keys[org_id] = key
        return key

    def org_ids(self) -> list[str]:
        """Organisations that have a key file, sorted."""
        if not self._dir.exists():
            return []
        return sorted(p.stem for p in self._dir.glob("*.json"))

    def _path(self, org_id: str) -> Path:
        """The key file of ``org_id``, refusing ids that could escape the keys directory."""
        if not _ORG_ID.match(org_id):
            raise DomainValueError(f"key store: unusable organisation id {org_id!r}")
        return self._dir / f"{org_id}.json"

    @staticmethod
    def _load(org_id: str, path: Path) -> dict[str, Any]:
        """Read a key file as JSON."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"key store: cannot read the key file of {org_id}: {exc}") from exc
        if not isinstance(data, dict):
            raise KeyStoreError(f"key store: the key file of {org_id} is not a JSON object")
        return data


def _checksum(address: str) -> str:
    """EIP-55 checksummed form of a hex address (key files store it bare, lower case)."""
    return str(to_checksum_address(address if address.startswith("0x") else "0x" + address))
