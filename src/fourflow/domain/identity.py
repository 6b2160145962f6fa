"""Who acts on the platform (issue 16): users of organisations, their credentials, and the
organisation types the authorisation table is written in.

An organisation's *types* follow from its roles (a supplier and a distributor are both
enterprises); a *user role* is what one person (or one API key) of it may do. Secrets (tokens,
API keys, invitations) are never stored: only their SHA-256 digest is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fourflow.domain.errors import DomainValueError, FourFlowError
from fourflow.domain.parties import Role


class AuthenticationError(FourFlowError, PermissionError):
    """The caller is not signed in, or its credential is wrong, expired or revoked."""


class ThrottledError(FourFlowError, PermissionError):
    """Too many failed sign-ins for this account or address: try again later."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OrgType(StrEnum):
    """The kinds of organisation the authorisation table distinguishes."""

    ENTERPRISE = "enterprise"
    CORE_ENTERPRISE = "core_enterprise"
    BANK = "bank"
    LOGISTICS = "logistics"
    WAREHOUSE = "warehouse"
    PLATFORM_OPERATOR = "platform_operator"
    REGULATOR = "regulator"
    #: A local government body operating scenario platforms (it sees its own platforms only).
    LOCAL_GOVERNMENT = "local_government"


class UserRole(StrEnum):
    """What a person (or a machine client's API key) of an organisation may do."""

    ADMIN = "admin"
    CLERK = "clerk"
    FINANCE_MANAGER = "finance_manager"
    CREDIT_OFFICER = "credit_officer"
    APPROVER = "approver"
    AUDITOR = "auditor"


class UserStatus(StrEnum):
    """A user's state: waiting for its organisation's admission, active, or disabled."""

    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class CredentialKind(StrEnum):
    """What a stored credential is."""

    ACCESS = "access"
    REFRESH = "refresh"
    API_KEY = "api_key"
    INVITATION = "invitation"


#: The prefix of each kind's secrets (so a leaked one is recognisable in a scanner).
SECRET_PREFIX = {
    CredentialKind.ACCESS: "ffa_",
    CredentialKind.REFRESH: "ffr_",
    CredentialKind.API_KEY: "ffk_",
    CredentialKind.INVITATION: "ffi_",
}

ROLE_TYPES: Mapping[Role, OrgType] = {
    Role.SUPPLIER: OrgType.ENTERPRISE,
    Role.DISTRIBUTOR: OrgType.ENTERPRISE,
    Role.CORE_ENTERPRISE: OrgType.CORE_ENTERPRISE,
    Role.BANK: OrgType.BANK,
    Role.LOGISTICS: OrgType.LOGISTICS,
    Role.WAREHOUSE: OrgType.WAREHOUSE,
    Role.OPERATOR: OrgType.PLATFORM_OPERATOR,
    Role.REGULATOR: OrgType.REGULATOR,
    Role.LOCAL_GOVERNMENT: OrgType.LOCAL_GOVERNMENT,
}

#: The organisation's roles on the chain registry when it is admitted as this type.
TYPE_ROLES: Mapping[OrgType, Role] = {
    OrgType.ENTERPRISE: Role.SUPPLIER,
    OrgType.CORE_ENTERPRISE: Role.CORE_ENTERPRISE,
    OrgType.BANK: Role.BANK,
    OrgType.LOGISTICS: Role.LOGISTICS,
    OrgType.WAREHOUSE: Role.WAREHOUSE,
    OrgType.PLATFORM_OPERATOR: Role.OPERATOR,
    OrgType.REGULATOR: Role.REGULATOR,
    OrgType.LOCAL_GOVERNMENT: Role.LOCAL_GOVERNMENT,
}

#: Users of these organisation types sign in with a second factor (TOTP).
SECOND_FACTOR_TYPES = frozenset({OrgType.BANK, OrgType.PLATFORM_OPERATOR, OrgType.LOCAL_GOVERNMENT})

#: Types that may register themselves (then wait for the operator's admission).
SELF_REGISTERING = frozenset(set(OrgType) - {OrgType.PLATFORM_OPERATOR})

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256


def org_types(roles: Iterable[Role]) -> frozenset[OrgType]:
    """The organisation types of an organisation with these roles."""
    return frozenset(ROLE_TYPES[r] for r in roles)


def needs_second_factor(types: Iterable[OrgType]) -> bool:
    """True when users of an organisation of these types must sign in with TOTP."""
    return any(t in SECOND_FACTOR_TYPES for t in types)


def normalise_email(value: str) -> str:
    """The e-mail address, trimmed and lower-cased; DomainValueError if it is not one."""
    email = value.strip().lower()
    if not _EMAIL.match(email):
        raise DomainValueError(f"email {value!r} is not an e-mail address")
    return email


def check_password(value: str) -> str:
    """The password if long enough (12 to 256 characters), else DomainValueError."""
    if not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise DomainValueError(
            f"password: give {MIN_PASSWORD} to {MAX_PASSWORD} characters (got {len(value)})"
        )
    return value


def secret_digest(secret: str) -> str:
    """The SHA-256 hex digest under which a secret (token, key, invitation) is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    """A person of an organisation.

    Attributes:
        id: the user's id.
        org_id: the organisation, None while its application waits for admission.
        application_id: the registration that created it (its organisation's first admin).
        email: normalised e-mail address, unique on the platform.
        name: display name.
        role: what the user may do in its organisation.
        password_hash: the argon2id hash (PHC string) of its password.
        totp_secret: the base32 TOTP secret, for users that sign in with a second factor.
        status: pending, active or disabled.
        created_by: the user who invited it (None for a registration or the CLI).
        created_at: when it was created (UTC).
    """

    id: str
    org_id: str | None
    application_id: str | None
    email: str
    name: str
    role: UserRole
    password_hash: str
    totp_secret: str | None
    status: UserStatus
    created_by: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Credential:
    """A stored credential: only the digest of its secret is kept.

    Attributes:
        id: the credential's id (shown for API keys, so they can be revoked).
        kind: access or refresh token, API key, invitation.
        secret_hash: ``secret_digest`` of the secret.
        user_id: the user it belongs to (None for API keys and invitations).
        org_id: the organisation it acts for.
        role: the role it acts with (API keys, invitations).
        label: what it is for (an API key's name, the invited address).
        parent_id: the refresh token an access token was issued with.
        payload: an invitation's e-mail and name.
        expires_at: when it stops working (UTC).
        revoked_at: when it was revoked, if it was.
        created_by: the user who created it.
        created_at: when (UTC).
    """

    id: str
    kind: CredentialKind
    secret_hash: str
    user_id: str | None
    org_id: str | None
    role: UserRole | None
    label: str
    parent_id: str | None
    payload: dict[str, Any] | None
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    created_by: str | None
    created_at: dt.datetime

    def live(self, now: dt.datetime) -> bool:
        """True when neither expired nor revoked at ``now``."""
        return self.revoked_at is None and now < self.expires_at


class ApplicationStatus(StrEnum):
    """An enterprise application's state."""

    PENDING = "pending"
    ADMITTED = "admitted"
    REJECTED = "rejected"


#: What the operator's KYC review must have checked before it admits an applicant.
KYC_CHECKS = ("licence_verified", "legal_representative_verified", "sanctions_screened")


@dataclass(frozen=True, slots=True)
class Application:
    """An organisation's self-registration and the operator's review of it.

    Attributes:
        id: the application's id.
        name: the legal name.
        uscc: the validated Unified Social Credit Code.
        org_type: the type it applies as.
        licence: the business licence details it gave (registered address, legal
            representative, registered capital, licence number, ...).
        accounts: its bank accounts.
        status: pending, admitted or rejected.
        org_id: the organisation created on admission.
        kyc: the operator's recorded review (checks, note, outcome).
        reviewed_by: the operator user who reviewed it.
        reviewed_at: when.
        created_at: when it was filed.
        own_address: the address of the key it holds itself (proved), or None.
        platform_id: the scenario platform it applies to (its operator reviews it; admitted,
            it is a member of FourFlow and of that platform), or None (FourFlow's operator
            reviews it).
    """

    id: str
    name: str
    uscc: str
    org_type: OrgType
    licence: dict[str, str]
    accounts: tuple[str, ...]
    status: ApplicationStatus
    org_id: str | None
    kyc: dict[str, Any] | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    created_at: dt.datetime
    own_address: str | None = None  # it holds its own chain key at this (proved) address
    platform_id: str | None = None  # it applies to this scenario platform (0024)


@dataclass(frozen=True, slots=True)
class Approval:
    """A first person's proposal that waits for a second person of the same organisation.

    Attributes:
        id: the approval's id.
        kind: what is proposed (``financing_decision``).
        subject_id: what it is about (the financing id).
        org_id: the organisation both people belong to.
        proposed_by: the proposing user's id.
        payload: the proposal (``approve``, ``reason``).
        status: pending, approved or rejected.
        decided_by: the second person.
        decided_at: when.
        created_at: when it was proposed.
    """

    id: str
    kind: str
    subject_id: str
    org_id: str
    proposed_by: str
    payload: dict[str, Any]
    status: str
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an authenticated request acts as.

    Attributes:
        org_id: the organisation it acts for.
        org_types: that organisation's types.
        role: the user role it acts with.
        user_id: the user (None for an API key).
        credential_id: the access token or API key used.
        name: the user's e-mail or the API key's label, for records.
    """

    org_id: str
    org_types: frozenset[OrgType]
    role: UserRole
    user_id: str | None
    credential_id: str
    name: str

    @property
    def person(self) -> str:
        """How decisions record who took them."""
        return f"{self.name} ({self.role.value})"


#: The ``prev_hash`` of the audit trail's first record.
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One request in the API's audit trail.

    Attributes:
        seq: its place in the trail (0 before it is stored).
        at: when it was answered (UTC).
        org_id: the organisation the caller acted for (None: not signed in).
        actor: the user id or API key id (never an e-mail address).
        role: the role it acted with.
        action: the authorisation table's action.
        method: the HTTP method.
        path: the path called.
        client: the client's address.
        status: the HTTP status answered (the outcome).
        prev_hash: the hash of the record before it (``GENESIS`` for the first).
        hash: SHA-256 of its fields and ``prev_hash`` (``record_hash``).
    """

    seq: int
    at: dt.datetime
    org_id: str | None
    actor: str | None
    role: str | None
    action: str
    method: str
    path: str
    client: str
    status: int
    prev_hash: str
    hash: str = ""


def record_hash(record: AuditRecord) -> str:
    """The SHA-256 (hex) over a record's fields and its predecessor's hash, canonical JSON."""
    fields = {
        "at": record.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "org_id": record.org_id,
        "actor": record.actor,
        "role": record.role,
        "action": record.action,
        "method": record.method,
        "path": record.path,
        "client": record.client,
        "status": record.status,
        "prev_hash": record.prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
