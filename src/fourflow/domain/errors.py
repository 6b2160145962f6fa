"""One exception root for FourFlow; each error also inherits the builtin it stands for."""

from __future__ import annotations


class FourFlowError(Exception):
    """Root of every error FourFlow raises on purpose."""


class DomainValueError(FourFlowError, ValueError):
    """A value breaks a domain rule (bad identifier, mismatched currency, ...)."""


class NotFoundError(FourFlowError, LookupError):
    """A record that was asked for does not exist."""


class ConflictError(FourFlowError, ValueError):
    """The request conflicts with the current state (duplicate, locked, already done)."""


class PermissionDeniedError(FourFlowError, PermissionError):
    """The acting party may not do this."""
