"""Identities (issue 16): registration and admission, users and invitations, sign-in with
throttling and a second factor, short-lived access tokens with refresh, API keys.

The store of identities is its own unit of work (``IdentityStore``), over the same database as
the business records; passwords are hashed by a ``PasswordHasher`` (argon2id) and second
factors checked by a ``SecondFactor`` (RFC 6238 TOTP), both adapters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Protocol, Self

from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.errors import PermissionDeniedError as Forbidden
from fourflow.domain.identifiers import validate_uscc
from fourflow.domain.identity import (
    GENESIS,
    KYC_CHECKS,
    SECRET_PREFIX,
    SELF_REGISTERING,
    TYPE_ROLES,
    Application,
    ApplicationStatus,
    Approval,
    AuditRecord,
    AuthenticationError,
    Credential,
    CredentialKind,
    OrgType,
    Principal,
    ThrottledError,
    User,
    UserRole,
    UserStatus,
    check_password,
    needs_second_factor,
    normalise_email,
    org_types,
    record_hash,
    secret_digest,
)
from fourflow.services import onboarding
from fourflow.services.common import new_id
from fourflow.services.group_commit import AsyncGroupCommit, GroupCommit
from fourflow.services.ports import Clock, KeyStore, UnitOfWorkFactory

# ----------------------------------------------------------------------------- ports


class Users(Protocol):
    def add(self, user: User) -> None: ...
    def get(self, user_id: str) -> User | None: ...
    def by_email(self, email: str) -> User | None: ...
    def of_application(self, application_id: str) -> list[User]: ...
    def of_org(self, org_id: str) -> list[User]: ...
    def update(self, user: User) -> None: ...


class Credentials(Protocol):
    def add(self, credential: Credential) -> None: ...
    def get(self, credential_id: str) -> Credential | None: ...
    def by_hash(self, secret_hash: str) -> Credential | None: ...
    def revoke(self, credential_id: str, at: dt.datetime) -> None: ...
    def revoke_user(self, user_id: str, at: dt.datetime) -> int: ...
    def children(self, parent_id: str) -> list[Credential]: ...
    def of_org(self, org_id: str, kind: CredentialKind) -> list[Credential]: ...


class SignInAttempts(Protocol):
    def add(self, subject: str, succeeded: bool, at: dt.datetime) -> None: ...
    def failures_since(self, subject: str, since: dt.datetime) -> int: ...


class Applications(Protocol):
    def add(self, application: Application) -> None: ...
    def get(self, application_id: str) -> Application | None: ...
    def update(self, application: Application) -> None: ...
    def list(
        self, status: ApplicationStatus | None = None, platform_id: str | None = None
    ) -> list[Application]: ...
    def pending_by_uscc(self, uscc: str) -> Application | None: ...


class Approvals(Protocol):
    def add(self, approval: Approval) -> None: ...
    def pending(self, kind: str, subject_id: str) -> Approval | None: ...
    def update(self, approval: Approval) -> None: ...


class AuditTrail(Protocol):
    def head(self) -> AuditRecord | None: ...
    def append_many(self, records: Sequence[AuditRecord]) -> None:
        """Store records chained after the head, in order, in one write; the first one
        following a predecessor another record follows already is a ConflictError."""
        ...

    def records(self, after: int = 0, limit: int = 1000) -> list[AuditRecord]: ...


class IdentityStore(Protocol):
    """One transaction over the identity records."""

    @property
    def users(self) -> Users: ...
    @property
    def credentials(self) -> Credentials: ...
    @property
    def attempts(self) -> SignInAttempts: ...
    @property
    def applications(self) -> Applications: ...
    @property
    def approvals(self) -> Approvals: ...
    @property
    def trail(self) -> AuditTrail: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


class IdentityStoreFactory(Protocol):
    """Makes a fresh identity store per use."""

    def __call__(self) -> IdentityStore: ...


class PasswordHasher(Protocol):
    """Hashes passwords (argon2id) and checks them in constant time."""

    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


class SecondFactor(Protocol):
    """Time-based one-time passwords (RFC 6238)."""

    def new_secret(self) -> str: ...
    def verify(self, secret: str, code: str, at: dt.datetime) -> bool: ...
    def uri(self, secret: str, account: str) -> str: ...


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """Lifetimes and throttling limits (``fourflow.bootstrap.Settings``).

    Attributes:
        access_ttl: how long an access token works.
        refresh_ttl: how long a refresh token works (rotated on each use).
        invitation_ttl: how long an invitation can be accepted.
        api_key_ttl: the default lifetime of an API key.
        throttle_window: the window failed sign-ins are counted in.
        max_failures_per_account: failures in the window before an account is throttled.
        max_failures_per_address: failures in the window before a client address is.
    """

    access_ttl: dt.timedelta = dt.timedelta(minutes=15)
    refresh_ttl: dt.timedelta = dt.timedelta(days=14)
    invitation_ttl: dt.timedelta = dt.timedelta(days=7)
    api_key_ttl: dt.timedelta = dt.timedelta(days=365)
    throttle_window: dt.timedelta = dt.timedelta(minutes=15)
    max_failures_per_account: int = 5
    max_failures_per_address: int = 50


@dataclass(frozen=True, slots=True)
class Identities:
    """What the identity use cases run on (built by the composition root)."""

    store: IdentityStoreFactory
    uow_factory: UnitOfWorkFactory
    keystore: KeyStore
    hasher: PasswordHasher
    second_factor: SecondFactor
    clock: Clock
    policy: IdentityPolicy = IdentityPolicy()
    #: Who signed a text (EIP-191): checks an applicant's proof that it holds its own key.
    recover_signer: Callable[[str, str], str] | None = None
    #: This process's verified bearer credentials (``authenticate``); None: none kept.
    credential_cache: CredentialCache | None = None


class CredentialCache:
    """The bearer credentials this process verified against the store, keyed by the secret's
    digest, each trusted for at most ``seconds`` after its check (and never past its own
    expiry): a credential revoked, expired or whose user was disabled in another process stops
    working here within ``seconds``; in this process at once (the revoking use cases
    ``clear`` it). Only a credential found live is kept: an unknown, expired or revoked one is
    checked against the store on every request.

    ``generation`` counts the clears: a check that began before one (it may have read the
    credential before the revocation committed) is not kept (``keep``'s ``generation``), and
    the API does not let a request wait for such a check (``routing.guard``).
    """

    CAPACITY = 10_000

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        if seconds < 0:
            raise DomainValueError("the credential cache's bound must not be negative")
        self.seconds = seconds
        self._monotonic = monotonic
        self._kept: dict[str, tuple[Principal, float, dt.datetime]] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, digest: str, now: dt.datetime) -> Principal | None:
        """The principal of a credential verified less than ``seconds`` ago, still unexpired
        at ``now``; else None."""
        kept = self._kept.get(digest)
        if kept is None:
            return None
        principal, until, expires_at = kept
        if self._monotonic() >= until or now >= expires_at:
            with self._lock:
                self._kept.pop(digest, None)
            return None
        return principal

    def keep(
        self,
        digest: str,
        principal: Principal,
        expires_at: dt.datetime,
        generation: int | None = None,
    ) -> None:
        """Remember a credential just found live in the store (by a check begun at
        ``generation``: not if the cache was cleared since)."""
        if self.seconds <= 0:
            return
        until = self._monotonic() + self.seconds
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            if len(self._kept) >= self.CAPACITY:
                now = self._monotonic()
                self._kept = {k: v for k, v in self._kept.items() if v[1] > now}
                if len(self._kept) >= self.CAPACITY:
                    self._kept.clear()
            self._kept[digest] = (principal, until, expires_at)

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        """Forget every credential (this process revoked or disabled something)."""
        with self._lock:
            self._kept.clear()
            self.generation += 1


def _forget_credentials(ids: Identities) -> None:
    """After a revocation committed: this process checks every credential again."""
    if ids.credential_cache is not None:
        ids.credential_cache.clear()


def own_key_message(uscc: str, address: str) -> str:
    """What an applicant holding its own chain key signs with it (EIP-191 ``personal_sign``)
    to prove it: its USCC and the address, lower case."""
    return f"FourFlow registration: {uscc} holds the key of {address.lower()}"


@dataclass(frozen=True, slots=True)
class Issued:
    """A secret shown once to its owner, with the credential that stores its digest."""

    secret: str
    credential: Credential


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a sign-in or a refresh returns."""

    access: Issued
    refresh: Issued


@dataclass(frozen=True, slots=True)
class NewUser:
    """A created user and, when it signs in with a second factor, its TOTP enrolment URI
    (shown once)."""

    user: User
    totp_uri: str | None


# ----------------------------------------------------------------------------- helpers


def _issue(
    ids: Identities,
    kind: CredentialKind,
    *,
    ttl: dt.timedelta,
    user_id: str | None = None,
    org_id: str | None = None,
    role: UserRole | None = None,
    label: str = "",
    parent_id: str | None = None,
    payload: dict[str, Any] | None = None,
    created_by: str | None = None,
) -> Issued:
    secret = SECRET_PREFIX[kind] + secrets.token_urlsafe(32)
    now = ids.clock.now()
    credential = Credential(
        id=new_id(kind.value.replace("_", "")),
        kind=kind,
        secret_hash=secret_digest(secret),
        user_id=user_id,
        org_id=org_id,
        role=role,
        label=label,
        parent_id=parent_id,
        payload=payload,
        expires_at=now + ttl,
        revoked_at=None,
        created_by=created_by,
        created_at=now,
    )
    return Issued(secret, credential)


def _org_types_of(ids: Identities, org_id: str) -> frozenset[OrgType]:
    with ids.uow_factory() as uow:
        org = uow.organisations.get(org_id)
    if org is None:
        raise NotFoundError(f"organisation {org_id} does not exist")
    return org_types(org.roles)


def _new_user(
    ids: Identities,
    *,
    org_id: str | None,
    application_id: str | None,
    email: str,
    name: str,
    role: UserRole,
    password: str,
    types: frozenset[OrgType],
    status: UserStatus,
    created_by: str | None,
) -> NewUser:
    address = normalise_email(email)
    if not name.strip():
        raise DomainValueError("name: give the user's name")
    secret = ids.second_factor.new_secret() if needs_second_factor(types) else None
    user = User(
        id=new_id("usr"),
        org_id=org_id,
        application_id=application_id,
        email=address,
        name=name.strip(),
        role=role,
        password_hash=ids.hasher.hash(check_password(password)),
        totp_secret=secret,
        status=status,
        created_by=created_by,
        created_at=ids.clock.now(),
    )
    uri = ids.second_factor.uri(secret, address) if secret else None
    return NewUser(user, uri)


def _refuse_taken_email(store: IdentityStore, email: str) -> None:
    if store.users.by_email(normalise_email(email)) is not None:
        raise ConflictError(f"email {normalise_email(email)} already has an account")


# ----------------------------------------------------------------------------- registration


def register(
    ids: Identities,
    *,
    name: str,
    uscc: str,
    org_type: str,
    licence: Mapping[str, str],
    accounts: Sequence[str],
    admin_email: str,
    admin_name: str,
    admin_password: str,
    own_address: str | None = None,
    own_address_proof: str | None = None,
    platform_id: str | None = None,
) -> tuple[Application, NewUser]:
    """An organisation registers itself: its USCC checked, its licence details kept, its first
    user (the admin) created waiting for the operator's admission (with ``platform_id``, the
    admission of that scenario platform's operator: ``platform_registration``).

    With ``own_address`` it holds its own chain key: ``own_address_proof`` is its EIP-191
    signature of ``own_key_message`` made with that key; admitted, it is onboarded with the
    address only and the platform never signs for it."""
    code = validate_uscc(uscc)
    own = proved_address(ids, code, own_address, own_address_proof)
    try:
        kind = OrgType(org_type)
    except ValueError:
        raise DomainValueError(
            f"org_type {org_type!r}: one of {sorted(t.value for t in SELF_REGISTERING)}"
        ) from None
    if kind not in SELF_REGISTERING:
        raise DomainValueError(f"org_type {kind.value!r} cannot register itself")
    if not name.strip():
        raise DomainValueError("name: give the organisation's legal name")
    with ids.uow_factory() as uow:
        existing = uow.organisations.by_uscc(code)
    if existing is not None:
        raise ConflictError(f"USCC {code} is already a member ({existing.name})")
    application = Application(
        id=new_id("app"),
        name=name.strip(),
        uscc=code,
        org_type=kind,
        licence={str(k): str(v) for k, v in licence.items()},
        accounts=tuple(accounts),
        status=ApplicationStatus.PENDING,
        org_id=None,
        kyc=None,
        reviewed_by=None,
        reviewed_at=None,
        created_at=ids.clock.now(),
        own_address=own,
        platform_id=platform_id,
    )
    admin = _new_user(
        ids,
        org_id=None,
        application_id=application.id,
        email=admin_email,
        name=admin_name,
        role=UserRole.ADMIN,
        password=admin_password,
        types=frozenset({kind}),
        status=UserStatus.PENDING,
        created_by=None,
    )
    with ids.store() as store:
        if store.applications.pending_by_uscc(code) is not None:
            raise ConflictError(f"USCC {code} already has an application waiting for review")
        _refuse_taken_email(store, admin_email)
        store.applications.add(application)
        store.users.add(admin.user)
        store.commit()
    return application, admin


def proved_address(
    ids: Identities, uscc: str, address: str | None, proof: str | None
) -> str | None:
    """The address of a key an organisation holds itself, once ``proof`` (its EIP-191
    signature of ``own_key_message(uscc, address)``) checks; None without an address.
    DomainValueError without a proof, Forbidden when another key signed it. Registration over
    the API and the operator's ``fourflow org add --own-key-address`` both require it."""
    if address is None:
        return None
    if not proof:
        raise DomainValueError(
            "own_key_proof: sign the text of identity.own_key_message with that key (EIP-191)"
        )
    if ids.recover_signer is None:
        raise ConflictError("this platform cannot check signatures of applicants' own keys")
    signer = ids.recover_signer(own_key_message(uscc, address), proof)
    if signer.lower() != address.lower():
        raise Forbidden(f"own_key_proof: signed by {signer}, not with the key of {address}")
    return signer


def review(
    ids: Identities,
    *,
    reviewer: Principal,
    application_id: str,
    admit: bool,
    checks: Mapping[str, bool],
    note: str,
    platform_id: str | None = None,
    admitted: Callable[[str], None] | None = None,
) -> Application:
    """The operator's KYC review of an application, recorded; admitted, the organisation is
    onboarded with its own chain account (its admission queued for the chain) and its first
    user becomes active as its admin.

    An application to a scenario platform is reviewed only with its ``platform_id`` (by that
    platform's operator, ``platform_registration.review``; another platform's: NotFoundError;
    FourFlow's own review of it: ConflictError); ``admitted(org_id)`` then runs after the
    onboarding and before the review is recorded (it makes the organisation a member of the
    platform)."""
    if not note.strip():
        raise DomainValueError("note: record what the KYC review found")
    unknown = sorted(set(checks) - set(KYC_CHECKS))
    if unknown:
        raise DomainValueError(f"checks: unknown check(s) {unknown}; known: {list(KYC_CHECKS)}")
    with ids.store() as store:
        application = store.applications.get(application_id)
    if application is None or (platform_id and application.platform_id != platform_id):
        raise NotFoundError(f"application {application_id} does not exist")
    if application.platform_id and not platform_id:
        raise ConflictError(
            f"application {application_id} applies to scenario platform "
            f"{application.platform_id}: its operator reviews it "
            f"(POST /platforms/{application.platform_id}/registrations/{application_id}/review)"
        )
    if application.status is not ApplicationStatus.PENDING:
        raise ConflictError(f"application {application_id} is already {application.status}")
    missing = [c for c in KYC_CHECKS if not checks.get(c)]
    if admit and missing:
        raise DomainValueError(f"cannot admit before the KYC checks pass: {missing}")
    org_id: str | None = None
    if admit:
        org = onboarding.onboard(
            uow_factory=ids.uow_factory,
            keystore=ids.keystore,
            name=application.name,
            uscc=application.uscc,
            roles=[TYPE_ROLES[application.org_type]],
            accounts=list(application.accounts),
            own_address=application.own_address,
            profile={
                k: v
                for k, v in application.licence.items()
                if k in ("address", "legal_representative", "phone", "industry")
            },
        )
        org_id = org.id
        if admitted is not None:
            admitted(org.id)
    now = ids.clock.now()
    reviewed = replace(
        application,
        status=ApplicationStatus.ADMITTED if admit else ApplicationStatus.REJECTED,
        org_id=org_id,
        kyc={"checks": {c: bool(checks.get(c)) for c in KYC_CHECKS}, "note": note.strip(),
             "admit": admit},
        reviewed_by=reviewer.user_id or reviewer.credential_id,
        reviewed_at=now,
    )  # fmt: skip
    with ids.store() as store:
        store.applications.update(reviewed)
        for user in store.users.of_application(application.id):
            store.users.update(
                replace(
                    user,
                    org_id=org_id,
                    status=UserStatus.ACTIVE if admit else UserStatus.DISABLED,
                )
            )
        store.commit()
    return reviewed


def applications(
    ids: Identities, status: str | None = None, platform_id: str | None = None
) -> list[Application]:
    """Applications, oldest first (only those in ``status``, or to the scenario platform
    ``platform_id``, if given)."""
    wanted = None
    if status is not None:
        try:
            wanted = ApplicationStatus(status)
        except ValueError:
            raise DomainValueError(
                f"status {status!r}: one of {[s.value for s in ApplicationStatus]}"
            ) from None
    with ids.store() as store:
        return store.applications.list(wanted, platform_id)


# ----------------------------------------------------------------------------- users


def add_user(
    ids: Identities,
    *,
    org_id: str,
    email: str,
    name: str,
    role: UserRole,
    password: str,
    created_by: str | None = None,
) -> NewUser:
    """Create an active user of an organisation directly (the operator's CLI: the first
    admin of an organisation it onboarded with ``org add``, or its own admin)."""
    types = _org_types_of(ids, org_id)
    new = _new_user(
        ids, org_id=org_id, application_id=None, email=email, name=name, role=role,
        password=password, types=types, status=UserStatus.ACTIVE, created_by=created_by,
    )  # fmt: skip
    with ids.store() as store:
        _refuse_taken_email(store, email)
        store.users.add(new.user)
        store.commit()
    return new


def invite(ids: Identities, *, admin: Principal, email: str, name: str, role: UserRole) -> Issued:
    """An organisation's admin invites a person to it with a role; the invitation's secret is
    shown once and works until it expires or is accepted."""
    address = normalise_email(email)
    if not name.strip():
        raise DomainValueError("name: give the person's name")
    with ids.store() as store:
        _refuse_taken_email(store, address)
    issued = _issue(
        ids, CredentialKind.INVITATION, ttl=ids.policy.invitation_ttl, org_id=admin.org_id,
        role=role, label=address, payload={"email": address, "name": name.strip()},
        created_by=admin.user_id,
    )  # fmt: skip
    with ids.store() as store:
        store.credentials.add(issued.credential)
        store.commit()
    return issued


def accept(ids: Identities, *, invitation: str, password: str) -> NewUser:
    """The invited person sets its password; the invitation is used up."""
    now = ids.clock.now()
    with ids.store() as store:
        found = store.credentials.by_hash(secret_digest(invitation))
    if found is None or found.kind is not CredentialKind.INVITATION or not found.live(now):
        raise AuthenticationError("the invitation is unknown, used or expired")
    assert found.org_id is not None and found.role is not None and found.payload is not None
    new = _new_user(
        ids, org_id=found.org_id, application_id=None, email=str(found.payload["email"]),
        name=str(found.payload["name"]), role=found.role, password=password,
        types=_org_types_of(ids, found.org_id), status=UserStatus.ACTIVE,
        created_by=found.created_by,
    )  # fmt: skip
    with ids.store() as store:
        again = store.credentials.get(found.id)
        if again is None or not again.live(now):
            raise AuthenticationError("the invitation is unknown, used or expired")
        _refuse_taken_email(store, new.user.email)
        store.credentials.revoke(found.id, now)
        store.users.add(new.user)
        store.commit()
    return new


def users_of(ids: Identities, org_id: str) -> list[User]:
    """The users of an organisation."""
    with ids.store() as store:
        return store.users.of_org(org_id)


def disable_user(ids: Identities, *, admin: Principal, user_id: str) -> User:
    """An admin disables a user of its organisation; its tokens are revoked at once."""
    with ids.store() as store:
        user = store.users.get(user_id)
        if user is None or user.org_id != admin.org_id:
            raise NotFoundError(f"user {user_id} does not exist")
        if user.id == admin.user_id:
            raise ConflictError("an admin cannot disable itself")
        disabled = replace(user, status=UserStatus.DISABLED)
        store.users.update(disabled)
        store.credentials.revoke_user(user.id, ids.clock.now())
        store.commit()
    _forget_credentials(ids)
    return disabled


# ----------------------------------------------------------------------------- sign-in


def _throttle(ids: Identities, subjects: Sequence[tuple[str, int]], now: dt.datetime) -> None:
    since = now - ids.policy.throttle_window
    with ids.store() as store:
        for subject, limit in subjects:
            if store.attempts.failures_since(subject, since) >= limit:
                raise ThrottledError(
                    "too many failed sign-ins; try again later",
                    int(ids.policy.throttle_window.total_seconds()),
                )


def _pair(ids: Identities, user: User) -> TokenPair:
    refresh = _issue(
        ids, CredentialKind.REFRESH, ttl=ids.policy.refresh_ttl, user_id=user.id,
        org_id=user.org_id, role=user.role, label=user.email,
    )  # fmt: skip
    access = _issue(
        ids, CredentialKind.ACCESS, ttl=ids.policy.access_ttl, user_id=user.id,
        org_id=user.org_id, role=user.role, label=user.email, parent_id=refresh.credential.id,
    )  # fmt: skip
    return TokenPair(access, refresh)


def sign_in(
    ids: Identities, *, email: str, password: str, totp: str | None, client: str
) -> TokenPair:
    """Password (and, for bank and operator users, TOTP) sign-in, throttled per account and
    per client address; every attempt is recorded. One message for every failure."""
    now = ids.clock.now()
    try:
        address = normalise_email(email)
    except DomainValueError:
        raise AuthenticationError("wrong e-mail, password or code") from None
    subjects = [
        (f"email:{address}", ids.policy.max_failures_per_account),
        (f"client:{client}", ids.policy.max_failures_per_address),
    ]
    _throttle(ids, subjects, now)
    with ids.store() as store:
        user = store.users.by_email(address)
    ok = user is not None and ids.hasher.verify(user.password_hash, password)
    if ok and user is not None and user.totp_secret is not None:
        ok = totp is not None and ids.second_factor.verify(user.totp_secret, totp, now)
    if ok and user is not None and (user.status is not UserStatus.ACTIVE or user.org_id is None):
        ok = False
    with ids.store() as store:
        for subject, _limit in subjects:
            store.attempts.add(subject, ok, now)
        pair = _pair(ids, user) if ok and user is not None else None
        if pair is not None:
            store.credentials.add(pair.refresh.credential)
            store.credentials.add(pair.access.credential)
        store.commit()
    if pair is None:
        raise AuthenticationError("wrong e-mail, password or code")
    return pair


def refresh(ids: Identities, *, refresh_token: str) -> TokenPair:
    """A new token pair for a live refresh token, which is used up (rotation). A used refresh
    token presented again revokes all of its user's tokens (it was stolen or replayed)."""
    now = ids.clock.now()
    with ids.store() as store:
        found = store.credentials.by_hash(secret_digest(refresh_token))
        if found is None or found.kind is not CredentialKind.REFRESH or found.user_id is None:
            raise AuthenticationError("the refresh token is unknown")
        if found.revoked_at is not None:
            store.credentials.revoke_user(found.user_id, now)
            store.commit()
            _forget_credentials(ids)
            raise AuthenticationError("the refresh token was already used; signed out everywhere")
        if not found.live(now):
            raise AuthenticationError("the refresh token has expired; sign in again")
        user = store.users.get(found.user_id)
        if user is None or user.status is not UserStatus.ACTIVE:
            raise AuthenticationError("the account is disabled")
        store.credentials.revoke(found.id, now)
        for child in store.credentials.children(found.id):
            store.credentials.revoke(child.id, now)
        pair = _pair(ids, user)
        store.credentials.add(pair.refresh.credential)
        store.credentials.add(pair.access.credential)
        store.commit()
    _forget_credentials(ids)
    return pair


def sign_out(ids: Identities, *, principal: Principal) -> None:
    """Revoke the access token used and the refresh token it came with."""
    now = ids.clock.now()
    with ids.store() as store:
        used = store.credentials.get(principal.credential_id)
        if used is not None and used.kind is CredentialKind.ACCESS:  # an API key stays
            store.credentials.revoke(used.id, now)
            if used.parent_id:
                store.credentials.revoke(used.parent_id, now)
        store.commit()
    _forget_credentials(ids)


def cached_principal(ids: Identities, secret: str) -> Principal | None:
    """The principal of a bearer secret this process verified within its cache's bound, else
    None (then ``authenticate`` checks it in the store). No store access."""
    if ids.credential_cache is None:
        return None
    return ids.credential_cache.get(secret_digest(secret), ids.clock.now())


def authenticate(ids: Identities, secret: str) -> Principal:
    """The principal of a bearer secret (an access token or an API key); AuthenticationError
    when it is unknown, expired or revoked, or its user is disabled.

    With a ``credential_cache``, a credential verified less than its bound ago is not looked
    up again (see ``CredentialCache``).
    """
    now = ids.clock.now()
    digest = secret_digest(secret)
    cache = ids.credential_cache
    generation = None
    if cache is not None:
        generation = cache.generation  # before the read: a revocation meanwhile is not missed
        kept = cache.get(digest, now)
        if kept is not None:
            return kept
    with ids.store() as store:
        found = store.credentials.by_hash(digest)
        if (
            found is None
            or found.kind not in (CredentialKind.ACCESS, CredentialKind.API_KEY)
            or not found.live(now)
            or found.org_id is None
            or found.role is None
        ):
            raise AuthenticationError("the token or key is unknown, expired or revoked")
        name = found.label
        if found.user_id is not None:
            user = store.users.get(found.user_id)
            if user is None or user.status is not UserStatus.ACTIVE:
                raise AuthenticationError("the account is disabled")
            name = user.email
    principal = Principal(
        org_id=found.org_id,
        org_types=_org_types_of(ids, found.org_id),
        role=found.role,
        user_id=found.user_id,
        credential_id=found.id,
        name=name,
    )
    if cache is not None:
        cache.keep(digest, principal, found.expires_at, generation)
    return principal


# ----------------------------------------------------------------------------- API keys


def create_api_key(
    ids: Identities,
    *,
    admin: Principal,
    role: UserRole,
    label: str,
    ttl: dt.timedelta | None = None,
    org_id: str | None = None,
) -> Issued:
    """An API key of the admin's organisation (or, for the operator's CLI, ``org_id``) acting
    with ``role``; its secret is shown once."""
    if not label.strip():
        raise DomainValueError("label: name what the key is for")
    if ttl is not None and ttl <= dt.timedelta(0):
        raise DomainValueError("the key's lifetime must be positive")
    issued = _issue(
        ids, CredentialKind.API_KEY, ttl=ttl or ids.policy.api_key_ttl,
        org_id=org_id or admin.org_id, role=role, label=label.strip(), created_by=admin.user_id,
    )  # fmt: skip
    with ids.store() as store:
        store.credentials.add(issued.credential)
        store.commit()
    return issued


def api_keys(ids: Identities, org_id: str) -> list[Credential]:
    """The API keys of an organisation (live and revoked; never their secrets)."""
    with ids.store() as store:
        return store.credentials.of_org(org_id, CredentialKind.API_KEY)


def revoke_api_key(ids: Identities, *, admin: Principal, key_id: str) -> Credential:
    """Revoke an API key of the admin's organisation."""
    now = ids.clock.now()
    with ids.store() as store:
        key = store.credentials.get(key_id)
        if key is None or key.kind is not CredentialKind.API_KEY or key.org_id != admin.org_id:
            raise NotFoundError(f"API key {key_id} does not exist")
        store.credentials.revoke(key.id, now)
        store.commit()
        revoked = store.credentials.get(key.id)
    _forget_credentials(ids)
    assert revoked is not None
    return revoked


# ----------------------------------------------------------------------------- four eyes


def propose(
    ids: Identities, *, proposer: Principal, kind: str, subject_id: str, payload: dict[str, Any]
) -> Approval:
    """Record a proposal that a second person of the proposer's organisation must approve;
    a pending proposal on the same subject is a conflict."""
    if proposer.user_id is None:
        raise Forbidden("four-eyes decisions are taken by people, not API keys")
    approval = Approval(
        id=new_id("apr"),
        kind=kind,
        subject_id=subject_id,
        org_id=proposer.org_id,
        proposed_by=proposer.user_id,
        payload=payload,
        status="pending",
        created_at=ids.clock.now(),
    )
    with ids.store() as store:
        if store.approvals.pending(kind, subject_id) is not None:
            raise ConflictError(f"{subject_id} already has a proposal waiting for approval")
        store.approvals.add(approval)
        store.commit()
    return approval


def pending_proposal(ids: Identities, *, kind: str, subject_id: str) -> Approval | None:
    """The proposal waiting on a subject, if any."""
    with ids.store() as store:
        return store.approvals.pending(kind, subject_id)


def second_person(
    ids: Identities, *, approver: Principal, kind: str, subject_id: str
) -> tuple[Approval, User]:
    """The pending proposal on a subject that ``approver`` may settle, and its proposer:
    a person of the same organisation who did not propose it."""
    if approver.user_id is None:
        raise Forbidden("four-eyes decisions are taken by people, not API keys")
    with ids.store() as store:
        found = store.approvals.pending(kind, subject_id)
        if found is None or found.org_id != approver.org_id:
            raise NotFoundError(f"{subject_id} has no proposal waiting for approval")
        if found.proposed_by == approver.user_id:
            raise Forbidden("four eyes: the proposer cannot approve its own proposal")
        proposer = store.users.get(found.proposed_by)
    if proposer is None:
        raise NotFoundError(f"the proposer of {found.id} no longer exists")
    return found, proposer


def settle(ids: Identities, *, proposal: Approval, approver: Principal, approve: bool) -> Approval:
    """Record the second person's approval (or rejection) of a proposal."""
    settled = replace(
        proposal,
        status="approved" if approve else "rejected",
        decided_by=approver.user_id,
        decided_at=ids.clock.now(),
    )
    with ids.store() as store:
        store.approvals.update(settled)
        store.commit()
    return settled


# ----------------------------------------------------------------------------- audit trail

#: How often an append is retried when another process appended first.
APPEND_ATTEMPTS = 50


def _append_all(waiting: list[tuple[Identities, AuditRecord]]) -> list[AuditRecord | Exception]:
    """Append a batch of records (``_APPENDER``), those of one ``Identities`` chained together
    in one transaction (``_append_chained``); each answered its record, or why it was not
    appended. Threads of one process appending one by one would only refuse each other's forks
    and retry (answers released together, as a batch of financing decisions is, made every
    append retry several times); across processes the unique ``prev_hash`` still decides."""
    answers: list[AuditRecord | Exception | None] = [None] * len(waiting)
    by_store: dict[int, list[int]] = {}
    for i, (ids, _) in enumerate(waiting):
        by_store.setdefault(id(ids), []).append(i)
    for places in by_store.values():
        ids = waiting[places[0]][0]
        try:
            chained: list[AuditRecord] = _append_chained(ids, [waiting[i][1] for i in places])
        except Exception as exc:
            if len(places) == 1:
                answers[places[0]] = exc
                continue
            # one record the store refuses must not lose the others: each alone, in order
            for i in places:
                try:
                    (answers[i],) = _append_chained(ids, [waiting[i][1]])
                except Exception as alone:  # this record's caller is told
                    answers[i] = alone
            continue
        for i, record in zip(places, chained, strict=True):
            answers[i] = record
    return [a if a is not None else RuntimeError("not appended") for a in answers]


def _linked(record: AuditRecord, prev_hash: str, hash_: str) -> AuditRecord:
    """``record`` after ``prev_hash``, with its ``hash`` (``dataclasses.replace`` without its
    per-call look-up of the fields: two a record of every state-changing request)."""
    r = record
    return AuditRecord(
        seq=r.seq, at=r.at, org_id=r.org_id, actor=r.actor, role=r.role, action=r.action,
        method=r.method, path=r.path, client=r.client, status=r.status, prev_hash=prev_hash,
        hash=hash_,
    )  # fmt: skip


def _append_chained(ids: Identities, records: Sequence[AuditRecord]) -> list[AuditRecord]:
    """Chain ``records`` after the trail's head, in order, and store them in one transaction;
    chained again after the new head when another process appended first (bounded)."""
    for _ in range(APPEND_ATTEMPTS):
        with ids.store() as store:
            head = store.trail.head()
            previous = head.hash if head else GENESIS
            chained = []
            for record in records:
                linked = _linked(record, previous, "")
                previous = record_hash(linked)
                chained.append(_linked(record, linked.prev_hash, previous))
            try:
                store.trail.append_many(chained)
                store.commit()
            except ConflictError:
                continue
            return chained
    raise ConflictError(f"could not append to the audit trail in {APPEND_ATTEMPTS} attempts")


#: Group appends to the audit trail in this process (``services.group_commit``).
_APPENDER: GroupCommit[tuple[Identities, AuditRecord], AuditRecord] = GroupCommit(_append_all)
#: The same for callers on an event loop (``record_request_async``), one per loop.
_ASYNC_APPENDERS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, AsyncGroupCommit[tuple[Identities, AuditRecord], AuditRecord]
] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class AnsweredRequest:
    """A request as the audit trail records it (the API's ``AuditTrail`` middleware builds it
    once the answer's status is known).

    Attributes:
        principal: the caller (None: not signed in).
        action: the authorisation table's action.
        method: the HTTP method.
        path: the path called (at most 2,000 characters are kept; a NUL, which uvicorn
            decodes from ``%00`` and no text column of PostgreSQL holds, is kept as ``%00``).
        client: the client's address.
        status: the HTTP status answered.
    """

    principal: Principal | None
    action: str
    method: str
    path: str
    client: str
    status: int


def _request_record(ids: Identities, request: AnsweredRequest) -> AuditRecord:
    """A request's audit record, before it is chained (``seq``, ``prev_hash`` and ``hash`` are
    set by the append)."""
    who = request.principal
    return AuditRecord(
        seq=0, at=ids.clock.now(), org_id=who.org_id if who else None,
        actor=(who.user_id or who.credential_id) if who else None,
        role=who.role.value if who else None, action=request.action, method=request.method,
        path=request.path.replace("\x00", "%00")[:2000], client=request.client,
        status=request.status,
        prev_hash=GENESIS,
    )  # fmt: skip


def record_request(ids: Identities, request: AnsweredRequest) -> AuditRecord:
    """Append a request to the audit trail, after its head: with the requests recorded at the
    same time in this process, in one transaction (``_APPENDER``; retried, bounded,
    when another process appended first: the unique ``prev_hash`` refuses a fork)."""
    return _APPENDER.submit((ids, _request_record(ids, request)))


async def record_request_async(ids: Identities, request: AnsweredRequest) -> AuditRecord:
    """``record_request`` for a caller on an event loop (the API's requests): the caller waits
    on the loop, not on a thread of its own, and one thread of the loop's executor appends the
    requests recorded meanwhile in one transaction (``AsyncGroupCommit``). Appends of this
    loop and of threads (``record_request``) that meet retry on the new head, as two
    processes' do."""
    record = _request_record(ids, request)
    loop = asyncio.get_running_loop()
    appender = _ASYNC_APPENDERS.get(loop)
    if appender is None:
        appender = _ASYNC_APPENDERS[loop] = AsyncGroupCommit(_append_all)
    return await appender.submit((ids, record))


@dataclass(frozen=True, slots=True)
class TrailCheck:
    """What verifying the audit trail found."""

    records: int
    head: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every record's hash and link hold."""
        return not self.problems


def verify_trail(ids: Identities, *, batch: int = 1000) -> TrailCheck:
    """Recompute every record's hash and check each links to the one before it."""
    problems: list[str] = []
    previous = GENESIS
    count, after = 0, 0
    while True:
        with ids.store() as store:
            chunk = store.trail.records(after, batch)
        if not chunk:
            break
        for record in chunk:
            count += 1
            if record.prev_hash != previous:
                problems.append(
                    f"record {record.seq}: links to {record.prev_hash[:12]}..., "
                    f"not to the record before it ({previous[:12]}...)"
                )
            if record_hash(record) != record.hash:
                problems.append(f"record {record.seq}: its content does not match its hash")
            previous = record.hash
        after = chunk[-1].seq
    return TrailCheck(count, previous, tuple(problems))


def trail_records(ids: Identities, *, after: int = 0, limit: int = 100) -> list[AuditRecord]:
    """Records of the audit trail after ``after``, at most ``limit`` (at most 1000)."""
    with ids.store() as store:
        return store.trail.records(after, max(1, min(limit, 1000)))
