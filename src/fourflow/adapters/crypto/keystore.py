"""Organisations' chain accounts under the home dir.

``EnvelopeKeyStore`` (what the platform uses): each chain key sealed under its organisation's
own data key, the data keys wrapped by a master key kept outside the store (envelope.py).
``FileKeyStore``: the older layout (Web3 Secret Storage files under one password), read to
convert a home of that layout and kept for tools that want standard key files.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address

from fourflow.adapters.crypto import envelope
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

    def holds_own_key(self, org_id: str) -> bool:
        """Always False: this layout keeps every organisation's key."""
        return False

    def hold_own(self, org_id: str, address: str) -> str:
        """Not supported by this layout (``EnvelopeKeyStore`` records self-held keys)."""
        raise KeyStoreError("key store: the older key file layout cannot record self-held keys")

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


# ---------------------------------------------------------------------------- envelope store

KEY_FORMAT = "fourflow-key-2"
RING_FORMAT = "fourflow-data-keys-1"
DATA_KEYS_FILE = "data-keys.json"
LEGACY_PASSWORD_SETTING = "FOURFLOW_KEYSTORE_PASSWORD (or the home's keystore.secret)"  # noqa: S105


class SelfCustodyError(ConflictError, KeyStoreError):
    """The organisation holds its own key: the platform has only its address (a conflict with
    what was asked: the organisation signs itself, docs/security.md)."""


class MasterKeySource:
    """Where the master key comes from, in order: ``FOURFLOW_MASTER_KEY`` (``value``),
    ``FOURFLOW_MASTER_KEY_FILE`` (``file``), else the home's ``master.key`` (``default_file``),
    created only while no data key is wrapped yet."""

    def __init__(
        self, *, value: str | None = None, file: Path | None = None, default_file: Path
    ) -> None:
        self.value = value
        self.file = file
        self.default_file = default_file

    @property
    def uses_default_file(self) -> bool:
        """True when neither setting is given (the home's own key file is used)."""
        return not self.value and self.file is None

    def load(self, *, may_create: bool) -> envelope.MasterKey:
        """The master key; MasterKeyError naming the setting when missing or malformed."""
        if self.value:
            return envelope.parse_master_key(self.value, "FOURFLOW_MASTER_KEY")
        if self.file is not None:
            return envelope.read_master_key_file(self.file, "FOURFLOW_MASTER_KEY_FILE")
        source = f"the home's master key {self.default_file}"
        if self.default_file.exists():
            return envelope.read_master_key_file(self.default_file, source)
        if not may_create:
            raise envelope.MasterKeyError(
                "key store: the data keys are wrapped by a master key and none is given: "
                f"set {envelope.SETTING}"
            )
        try:
            return envelope.write_key_file(self.default_file)
        except DomainValueError:  # another process created it first: use that one
            return envelope.read_master_key_file(self.default_file, source)


class EnvelopeKeyStore:
    """Organisations' chain keys under envelope encryption in ``<home>/keys``.

    * ``<org_id>.json`` (mode 0600): the organisation's address and its chain key sealed
      (AES-256-GCM) under the organisation's own data key, bound to its id and address; or,
      for an organisation that holds its own key, its address only.
    * ``data-keys.json`` (mode 0600): every data key wrapped (AES-256-GCM) by the master key,
      with the master key's public id. Rotating the master key rewrites this one file
      atomically (``rotate_master``).

    Key files of the older layout (Web3 Secret Storage under one password) are converted on
    opening (``open``). Decrypted chain keys stay in memory for the rest of the process.
    Writers across processes take ``keys/.lock`` (``flock``).
    """

    def __init__(
        self,
        home_dir: str | os.PathLike[str],
        master: MasterKeySource,
        legacy_password: Callable[[], str] | None = None,
    ) -> None:
        self._dir = Path(home_dir) / "keys"
        self._source = master
        self._legacy_password = legacy_password
        self._master: envelope.MasterKey | None = None
        self._keys: dict[str, tuple[bytes, str]] = {}  # decrypted: (key, its address)
        #: Each key file read, by organisation: (its stamp, the record, its checksummed
        #: address); used while the file keeps that stamp (``_record``).
        self._records: dict[str, tuple[tuple[int, int, int], dict[str, Any], str]] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening

    def open(self) -> int:
        """Check the master key against the wrapped data keys and convert key files of the
        older layout; returns how many were converted. MasterKeyError naming the setting when
        the master key is missing or not the one the data keys are wrapped with."""
        ring = self._ring()
        if ring is not None and ring["keys"]:
            self._master_for(ring)
        legacy = [o for o in self.org_ids() if _is_legacy(self._read(o, self._path(o)))]
        if not legacy:
            return 0
        with self._locked():
            return sum(self._convert(org_id) for org_id in legacy)

    # ------------------------------------------------------------------ KeyStore port

    def create(self, org_id: str) -> str:
        """Create and store a new account for ``org_id``; return its checksummed address."""
        path = self._path(org_id)
        account = Account.create()
        with self._locked():
            if path.exists():
                raise ConflictError(f"key store: {org_id} already has an account")
            data_key = self._add_data_key(org_id)
            address = str(account.address)
            sealed = envelope.seal(data_key, bytes(account.key), _chain_aad(org_id, address))
            record = {
                "format": KEY_FORMAT,
                "org_id": org_id,
                "address": address,
                "custody": "platform",
                "chain_key": sealed,
            }
            _write_new(path, record)
            self._keys[org_id] = (bytes(account.key), address)
        return address

    def hold_own(self, org_id: str, address: str) -> str:
        """Record that ``org_id`` holds its own key at ``address``: the platform keeps the
        address only and never signs for it. Returns the checksummed address."""
        path = self._path(org_id)
        try:
            checksummed = _checksum(address)
        except ValueError as exc:
            raise DomainValueError(f"key store: {address!r} is not an address") from exc
        record = {"format": KEY_FORMAT, "org_id": org_id, "address": checksummed, "custody": "self"}
        with self._locked():
            if path.exists():
                raise ConflictError(f"key store: {org_id} already has an account")
            _write_new(path, record)
        return checksummed

    def holds_own_key(self, org_id: str) -> bool:
        """True when the organisation holds its own key (the platform never signs for it)."""
        found = self._record(org_id)
        return found is not None and found[0].get("custody") == "self"

    def forget(self, org_id: str) -> None:
        """Drop this process's decrypted key of ``org_id`` (its custody changed elsewhere)."""
        with self._lock:
            self._keys.pop(org_id, None)
            self._records.pop(org_id, None)

    def change_custody(
        self, org_id: str, own_address: str | None, *, at: str = ""
    ) -> tuple[str, str]:
        """Move an organisation between the two custody modes; returns (old, new) address.

        With ``own_address`` it holds its own key from now on: its file records that address
        only, the sealed platform key is not carried over, and its data key is deleted from
        the data-key file (the key is destroyed: nothing left opens it). Without, the platform
        keeps a new key for it (generated here, sealed under a new data key). Either way the
        previous address is listed under ``retired`` (address only) with ``at``.
        """
        path = self._path(org_id)
        with self._locked():
            if not path.exists():
                raise NotFoundError(f"key store: no account for {org_id}")
            record = self._read(org_id, path)
            if _is_legacy(record):
                self._convert(org_id)
                record = self._read(org_id, path)
            old = _checksum(str(record.get("address", "")))
            custody = record.get("custody")
            retired = [*record.get("retired", []), {"address": old, "custody": custody, "at": at}]
            if own_address is not None:
                if custody == "self":
                    raise ConflictError(f"key store: {org_id} already holds its own key")
                try:
                    new = _checksum(own_address)
                except ValueError as exc:
                    raise DomainValueError(f"key store: {own_address!r} is not an address") from exc
                _write_replace(path, {"format": KEY_FORMAT, "org_id": org_id, "address": new,
                                      "custody": "self", "retired": retired})  # fmt: skip
                self._drop_data_key(org_id)
            else:
                if custody != "self":
                    raise ConflictError(f"key store: the platform already keeps {org_id}'s key")
                account = Account.create()
                new = str(account.address)
                data_key = self._add_data_key(org_id)
                sealed = envelope.seal(data_key, bytes(account.key), _chain_aad(org_id, new))
                _write_replace(path, {"format": KEY_FORMAT, "org_id": org_id, "address": new,
                                      "custody": "platform", "chain_key": sealed,
                                      "retired": retired})  # fmt: skip
            with self._lock:
                self._keys.pop(org_id, None)
                self._records.pop(org_id, None)
        return old, new

    def address(self, org_id: str) -> str | None:
        """The organisation's checksummed address, or None when it has no account.

        Its key file is read again only once it changed (a custody change, in any process:
        ``_record``), so asking before every signature (``ChainLedger.account``) costs a stat.
        """
        found = self._record(org_id)
        return None if found is None else found[1]

    def _record(self, org_id: str) -> tuple[dict[str, Any], str] | None:
        """The organisation's key file record and checksummed address (None without one),
        read again only when the file's stamp (inode, modification time, size) changed: every
        write replaces the file whole under a new inode (``_write_new``, ``_write_replace``)."""
        path = self._path(org_id)
        try:
            stat = path.stat()
        except FileNotFoundError:
            with self._lock:
                self._records.pop(org_id, None)
            return None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            kept = self._records.get(org_id)
        if kept is not None and kept[0] == stamp:
            return kept[1], kept[2]
        record = self._read(org_id, path)
        address = _checksum(str(record.get("address", "")))
        with self._lock:
            self._records[org_id] = (stamp, record, address)
        return record, address

    def private_key(self, org_id: str) -> bytes:
        """Decrypt the organisation's chain key (kept decrypted while its key file names the
        same address: a custody change in another process is seen here)."""
        found = self._record(org_id)
        if found is None:
            raise NotFoundError(f"key store: no account for {org_id}")
        record, address = found
        with self._lock:
            cached = self._keys.get(org_id)
        if cached is not None and cached[1] == address and record.get("custody") != "self":
            return cached[0]
        path = self._path(org_id)
        if _is_legacy(record):
            with self._locked():
                self._convert(org_id)
            record = self._read(org_id, path)
        if record.get("custody") == "self":
            raise SelfCustodyError(
                f"key store: {org_id} holds its own key; the platform never signs for it (it "
                "signs itself: /api/v1/custody/operations, /api/v1/items/{id}/confirmation/"
                "typed-data)"
            )
        address = _checksum(str(record.get("address", "")))
        data_key = self._data_key(org_id)
        try:
            key = envelope.unseal(
                data_key, record.get("chain_key"), _chain_aad(org_id, address),
                f"key store: the chain key of {org_id}",
            )  # fmt: skip
        except envelope.DecryptionError as exc:
            raise KeyStoreError(str(exc)) from exc
        if Account.from_key(key).address != address:
            raise KeyStoreError(f"key store: the chain key of {org_id} is not of {address}")
        with self._lock:
            self._keys[org_id] = (key, address)
        return key

    def org_ids(self) -> list[str]:
        """Organisations that have a key file, sorted."""
        if not self._dir.exists():
            return []
        return sorted(p.stem for p in self._dir.glob("*.json") if p.name != DATA_KEYS_FILE)

    # ------------------------------------------------------------------ other secrets

    def secret_box(self, purpose: str) -> envelope.SecretBox:
        """A box sealing the platform's own secrets for ``purpose`` (webhook signing secrets)
        under a data key of their own, wrapped by the master key like the organisations'."""
        name = f"@{purpose}"
        ring = self._ring()
        if ring is None or name not in ring["keys"]:
            with self._locked():
                ring = self._ring()
                if ring is None or name not in ring["keys"]:
                    return envelope.SecretBox(self._add_data_key(name), purpose)
        return envelope.SecretBox(self._data_key(name), purpose)

    # ------------------------------------------------------------------ rotation

    def rotate_master(self, new: envelope.MasterKey) -> int:
        """Rewrap every data key under ``new`` in one atomic replacement of the data-key file;
        returns how many were rewrapped. Any failure (a data key that does not open, an
        unwritable directory) leaves the file, and so every key, as it was. Afterwards the
        previous master key opens nothing; the home's own ``master.key``, if it was the
        previous key, is deleted (set FOURFLOW_MASTER_KEY_FILE to the new key)."""
        with self._locked():
            ring = self._ring()
            if ring is None or not ring["keys"]:
                raise ConflictError(f"key store: no data keys in {self._dir} to rewrap")
            old = self._master_for(ring)
            if new.key_id == old.key_id:
                raise DomainValueError("key store: the new master key is the current one")
            rewrapped = {}
            for name, sealed in ring["keys"].items():
                data_key = self._unwrap(old, name, sealed)
                rewrapped[name] = envelope.seal(new.key, data_key, _data_aad(name))
            _write_replace(
                self._dir / DATA_KEYS_FILE,
                {"format": RING_FORMAT, "master_key_id": new.key_id, "keys": rewrapped},
            )
            self._master = new
            if self._source.uses_default_file:
                self._source.default_file.unlink(missing_ok=True)
        return len(rewrapped)

    # ------------------------------------------------------------------ internals

    def _locked(self) -> AbstractContextManager[None]:
        return _flock(self._dir / ".lock", self._lock)

    def _ring(self) -> dict[str, Any] | None:
        path = self._dir / DATA_KEYS_FILE
        if not path.exists():
            return None
        ring = self._read("the data keys", path)
        if ring.get("format") != RING_FORMAT or not isinstance(ring.get("keys"), dict):
            raise KeyStoreError(f"key store: {path} is not a FourFlow data-key file")
        return ring

    def _master_for(self, ring: dict[str, Any] | None) -> envelope.MasterKey:
        """The master key, checked against the one ``ring`` was wrapped with."""
        if self._master is None:
            self._master = self._source.load(may_create=ring is None or not ring["keys"])
        master = self._master
        if ring is not None and ring.get("master_key_id") != master.key_id:
            raise envelope.MasterKeyError(
                f"key store: {master.source} is not the master key the data keys in "
                f"{self._dir} are wrapped with (key id {ring.get('master_key_id')}, given "
                f"{master.key_id}); set {envelope.SETTING} to that key"
            )
        return master

    def _unwrap(self, master: envelope.MasterKey, name: str, sealed: object) -> bytes:
        try:
            return envelope.unseal(
                master.key, sealed, _data_aad(name), f"key store: the data key of {name}"
            )
        except envelope.DecryptionError as exc:
            raise envelope.MasterKeyError(f"{exc} (master key from {master.source})") from exc

    def _data_key(self, name: str) -> bytes:
        ring = self._ring()
        master = self._master_for(ring)
        if ring is None or name not in ring["keys"]:
            raise KeyStoreError(f"key store: no data key for {name}")
        return self._unwrap(master, name, ring["keys"][name])

    def _add_data_key(self, name: str) -> bytes:
        """A new data key for ``name`` wrapped into the data-key file (caller holds the lock)."""
        ring = self._ring()
        master = self._master_for(ring)
        keys = dict(ring["keys"]) if ring is not None else {}
        data_key = envelope.new_key()
        keys[name] = envelope.seal(master.key, data_key, _data_aad(name))
        _write_replace(
            self._dir / DATA_KEYS_FILE,
            {"format": RING_FORMAT, "master_key_id": master.key_id, "keys": keys},
        )
        return data_key

    def _drop_data_key(self, name: str) -> None:
        """Delete ``name``'s data key from the data-key file (caller holds the lock)."""
        ring = self._ring()
        if ring is None or name not in ring["keys"]:
            return
        keys = {k: v for k, v in ring["keys"].items() if k != name}
        _write_replace(self._dir / DATA_KEYS_FILE, {**ring, "keys": keys})

    def _convert(self, org_id: str) -> int:
        """Convert one key file of the older layout (caller holds the lock); 1 if converted."""
        path = self._path(org_id)
        legacy = self._read(org_id, path)
        if not _is_legacy(legacy):
            return 0
        if self._legacy_password is None:
            raise KeyStoreError(
                f"key store: {path} is of the older layout and no {LEGACY_PASSWORD_SETTING} "
                "is given to convert it"
            )
        try:
            key = bytes(Account.decrypt(legacy, self._legacy_password()))
        except ValueError as exc:
            raise WrongPasswordError(
                f"key store: {LEGACY_PASSWORD_SETTING} does not open the older key file of {org_id}"
            ) from exc
        address = str(Account.from_key(key).address)
        data_key = self._add_data_key(org_id)
        record = {
            "format": KEY_FORMAT,
            "org_id": org_id,
            "address": address,
            "custody": "platform",
            "chain_key": envelope.seal(data_key, key, _chain_aad(org_id, address)),
        }
        _write_replace(path, record)
        with self._lock:
            self._keys[org_id] = (key, address)
        return 1

    def _path(self, org_id: str) -> Path:
        if not _ORG_ID.match(org_id):
            raise DomainValueError(f"key store: unusable organisation id {org_id!r}")
        return self._dir / f"{org_id}.json"

    @staticmethod
    def _read(what: str, path: Path) -> dict[str, Any]:
        return FileKeyStore._load(what, path)


def _is_legacy(record: dict[str, Any]) -> bool:
    return "crypto" in record and record.get("format") != KEY_FORMAT


def _chain_aad(org_id: str, address: str) -> bytes:
    return f"fourflow chain key|{org_id}|{address}".encode()


def _data_aad(name: str) -> bytes:
    return f"fourflow data key|{name}".encode()


@contextmanager
def _flock(path: Path, local: threading.RLock) -> Iterator[None]:
    """This process's lock, then an exclusive ``flock`` on ``path`` (other processes)."""
    with local:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


def _write_new(path: Path, data: dict[str, Any]) -> None:
    """Create ``path`` (mode 0600) with ``data``; ConflictError if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConflictError(f"key store: {path.stem} already has an account") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())


def _write_replace(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` (mode 0600) with ``data`` atomically: written whole and synced under
    a private name, then renamed over it, then the directory synced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
