"""Password hashing (argon2id, argon2-cffi) and time-based one-time passwords (RFC 6238,
pyotp): ``services.identity.PasswordHasher`` and ``SecondFactor``."""

from __future__ import annotations

import datetime as dt

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ISSUER = "FourFlow"


class Argon2Passwords:
    """argon2id with argon2-cffi's RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher(type=Type.ID)

    def hash(self, password: str) -> str:
        """The PHC string of ``password``."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches (constant time); False on any mismatch."""
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class Totp:
    """RFC 6238 TOTP: SHA-1, 6 digits, 30-second steps, one step of clock drift accepted."""

    def new_secret(self) -> str:
        """A new random base32 secret (160 bits)."""
        return pyotp.random_base32(32)

    def verify(self, secret: str, code: str, at: dt.datetime) -> bool:
        """True when ``code`` is the secret's code at ``at`` (or one step either side)."""
        if not code.isdigit() or len(code) != 6:
            return False
        return bool(pyotp.TOTP(secret).verify(code, for_time=at, valid_window=1))

    def uri(self, secret: str, account: str) -> str:
        """The ``otpauth://`` URI an authenticator app enrols from."""
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)
