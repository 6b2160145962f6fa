"""Envelope encryption: AES-256-GCM (pycryptodome) under a master key.

Each organisation's chain key is encrypted under its own random 256-bit data key; the data
keys are wrapped (AES-256-GCM, the organisation id as associated data) by one master key that
lives outside the store: ``FOURFLOW_MASTER_KEY`` (base64 of 32 bytes) or
``FOURFLOW_MASTER_KEY_FILE`` (a file holding the same), else, for a local single-machine home,
a key generated in ``<home>/master.key``. Rotating the master key rewraps the data keys only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from Crypto.Cipher import AES

from fourflow.domain.errors import DomainValueError, FourFlowError

KEY_BYTES = 32
NONCE_BYTES = 12
#: Prefix of a secret stored sealed in a text column (``SecretBox``).
SEALED_PREFIX = "enc1:"
SETTING = "FOURFLOW_MASTER_KEY or FOURFLOW_MASTER_KEY_FILE"


class MasterKeyError(FourFlowError, RuntimeError):
    """The master key is missing, malformed, or not the one the data keys are wrapped with."""


class DecryptionError(FourFlowError, RuntimeError):
    """A sealed value does not open with this key (wrong key, or the value was altered)."""


@dataclass(frozen=True, slots=True)
class MasterKey:
    """A 256-bit master key and where it came from (named in errors)."""

    key: bytes
    source: str

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise MasterKeyError(
                f"{self.source}: a master key is {KEY_BYTES} bytes (base64), not {len(self.key)}"
            )

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key (HMAC-SHA256 of a fixed label, 16 hex digits): it
        tells which master key wrapped the data keys without revealing it."""
        return hmac.new(self.key, b"fourflow master key id v1", hashlib.sha256).hexdigest()[:16]


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """The text form of a key (standard base64)."""
    return base64.b64encode(key).decode("ascii")


def parse_master_key(text: str, source: str) -> MasterKey:
    """A master key from its base64 text; MasterKeyError naming ``source`` otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError(f"{source}: not base64 ({exc})") from None
    return MasterKey(raw, source)


def read_master_key_file(path: Path, source: str) -> MasterKey:
    """A master key from a file; MasterKeyError naming ``source`` and the path otherwise."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"{source}: cannot read the master key file {path}: {exc}") from None
    return parse_master_key(text, f"{source} ({path})")


def write_key_file(path: Path) -> MasterKey:
    """Create ``path`` (mode 0600, refusing to overwrite) with a new random master key.

    Written whole under a private name, then linked into place: of processes creating it at
    once one key wins and none reads a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(encode_key(key) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError as exc:
        raise DomainValueError(f"{path} already exists; it is not overwritten") from exc
    finally:
        draft.unlink(missing_ok=True)
    return MasterKey(key, str(path))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def seal(key: bytes, plaintext: bytes, aad: bytes) -> dict[str, str]:
    """AES-256-GCM of ``plaintext`` under ``key`` with a random 96-bit nonce, bound to
    ``aad`` (associated data: what the value belongs to)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return {"alg": "AES-256-GCM", "nonce": _b64(nonce), "ciphertext": _b64(ciphertext + tag)}


def unseal(key: bytes, sealed: object, aad: bytes, what: str) -> bytes:
    """Open a value ``seal`` made; DecryptionError naming ``what`` if the key or the value
    (or the associated data) differ."""
    if not isinstance(sealed, dict) or sealed.get("alg") != "AES-256-GCM":
        raise DecryptionError(f"{what}: not an AES-256-GCM sealed value")
    try:
        nonce = base64.b64decode(str(sealed["nonce"]), validate=True)
        body = base64.b64decode(str(sealed["ciphertext"]), validate=True)
        cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
        cipher.update(aad)
        return bytes(cipher.decrypt_and_verify(body[:-16], body[-16:]))
    except (KeyError, ValueError, binascii.Error) as exc:
        raise DecryptionError(f"{what}: does not decrypt with this key ({exc})") from None


class SecretBox:
    """Seals short text secrets (webhook signing secrets) for a text column:
    ``enc1:<nonce b64>:<ciphertext+tag b64>``, bound to a ``purpose`` label."""

    def __init__(self, key: bytes, purpose: str) -> None:
        self._key = key
        self._aad = f"fourflow secret|{purpose}".encode()

    def seal(self, secret: str) -> str:
        """The sealed text of ``secret``."""
        sealed = seal(self._key, secret.encode(), self._aad)
        return f"{SEALED_PREFIX}{sealed['nonce']}:{sealed['ciphertext']}"

    @staticmethod
    def is_sealed(value: str) -> bool:
        """True when ``value`` is sealed text (not a legacy plaintext secret)."""
        return value.startswith(SEALED_PREFIX)

    def open(self, value: str) -> str:
        """The secret in ``value`` (DecryptionError if it is not sealed by this box's key)."""
        if not self.is_sealed(value):
            raise DecryptionError("secret: not sealed")
        nonce, _, body = value.removeprefix(SEALED_PREFIX).partition(":")
        sealed = {"alg": "AES-256-GCM", "nonce": nonce, "ciphertext": body}
        return unseal(self._key, sealed, self._aad, "secret").decode()
