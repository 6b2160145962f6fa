"""Identity routes: registration and the operator's review, sign-in, refresh and sign-out,
invitations, users and API keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from fourflow.bootstrap import clique_network
from fourflow.domain.identity import (
    KYC_CHECKS,
    Application,
    Credential,
    OrgType,
    User,
    UserRole,
)
from fourflow.entrypoints.api import worker_health
from fourflow.entrypoints.api.routing import (
    ApiState,
    caller,
    refuse_on_chain_failure,
    relay_now,
    route,
    state,
)
from fourflow.services import consortium, identity, platform_registration, trail_anchor

router = APIRouter()

Short = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class RegistrationIn(Strict):
    name: str = Short
    uscc: str = Field(min_length=18, max_length=18, description="Unified Social Credit Code")
    org_type: OrgType
    licence: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="Business licence details: address, legal_representative, phone, industry,"
        " registered_capital, licence_number ...",
    )
    accounts: list[str] = Field(default_factory=list, max_length=10)
    admin_email: str = Field(min_length=3, max_length=320)
    admin_name: str = Short
    admin_password: str = Field(min_length=12, max_length=256)
    own_key_address: str | None = Field(
        default=None,
        pattern=r"^0x[0-9a-fA-F]{40}$",
        description="It holds its own chain key at this address: the platform never signs for "
        "it (docs/security.md). Needs own_key_proof.",
    )
    own_key_proof: str | None = Field(
        default=None,
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description="EIP-191 signature with that key of 'FourFlow registration: <uscc> holds "
        "the key of <address in lower case>'.",
    )
    platform_id: str | None = Field(
        default=None,
        max_length=200,
        description="The scenario platform it applies to: that platform's operator reviews it "
        "once and admits it to FourFlow and the platform at once. Omitted: FourFlow's operator "
        "reviews it.",
    )


class ApplicationOut(BaseModel):
    id: str
    name: str
    uscc: str
    org_type: str
    licence: dict[str, str]
    accounts: list[str]
    status: str
    org_id: str | None
    kyc: dict[str, Any] | None
    reviewed_at: dt.datetime | None
    created_at: dt.datetime
    own_key_address: str | None = None
    platform_id: str | None = None


class RegistrationOut(BaseModel):
    application: ApplicationOut
    admin_user_id: str
    totp_uri: str | None = Field(
        description="Shown once: the admin's TOTP enrolment URI (banks' and operators' users)."
    )


class ReviewIn(Strict):
    admit: bool
    checks: dict[str, bool] = Field(description=f"The KYC checks done: {', '.join(KYC_CHECKS)}")
    note: str = Field(min_length=1, max_length=2000)
    node_enode: str | None = Field(
        default=None,
        max_length=300,
        description="It runs a node of the consortium network (enode://<public key>@<host>:"
        "<port>): admitted, the node joins this home's development network as a static peer "
        "and the Registry records it, as `fourflow org add --node-enode` does.",
    )


class ReviewOut(ApplicationOut):
    node: dict[str, Any] | None = Field(
        default=None, description="The admitted member's node as the Registry records it."
    )


class SignInIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=256)
    totp: str | None = Field(default=None, max_length=10)


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme, not a secret)
    expires_in: int
    refresh_expires_in: int


class MeOut(BaseModel):
    org_id: str
    org_types: list[str]
    role: str
    user_id: str | None
    via: str


class InviteIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    name: str = Short
    role: UserRole


class InvitationOut(BaseModel):
    invitation: str = Field(description="Shown once: the secret the invited person accepts with.")
    expires_at: dt.datetime


class AcceptIn(Strict):
    invitation: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=12, max_length=256)


class UserOut(BaseModel):
    id: str
    org_id: str | None
    email: str
    name: str
    role: str
    status: str
    second_factor: bool
    created_at: dt.datetime


class NewUserOut(BaseModel):
    user: UserOut
    totp_uri: str | None


class ApiKeyIn(Strict):
    role: UserRole
    label: str = Short
    days: int | None = Field(default=None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    id: str
    role: str | None
    label: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    created_at: dt.datetime


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="Shown once: send it as 'X-API-Key' or a Bearer token.")


def application_out(a: Application) -> ApplicationOut:
    return ApplicationOut(
        id=a.id, name=a.name, uscc=a.uscc, org_type=a.org_type.value, licence=a.licence,
        accounts=list(a.accounts), status=a.status.value, org_id=a.org_id, kyc=a.kyc,
        reviewed_at=a.reviewed_at, created_at=a.created_at, own_key_address=a.own_address,
        platform_id=a.platform_id,
    )  # fmt: skip


def _user(u: User) -> UserOut:
    return UserOut(
        id=u.id, org_id=u.org_id, email=u.email, name=u.name, role=u.role.value,
        status=u.status.value, second_factor=u.totp_secret is not None, created_at=u.created_at,
    )  # fmt: skip


def _key(c: Credential) -> ApiKeyOut:
    return ApiKeyOut(
        id=c.id, role=c.role.value if c.role else None, label=c.label, expires_at=c.expires_at,
        revoked_at=c.revoked_at, created_at=c.created_at,
    )  # fmt: skip


def _tokens(pair: identity.TokenPair, now: dt.datetime) -> TokensOut:
    return TokensOut(
        access_token=pair.access.secret,
        refresh_token=pair.refresh.secret,
        expires_in=int((pair.access.credential.expires_at - now).total_seconds()),
        refresh_expires_in=int((pair.refresh.credential.expires_at - now).total_seconds()),
    )


class AuditRecordOut(BaseModel):
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
    hash: str


class TrailCheckOut(BaseModel):
    records: int
    head: str
    ok: bool
    problems: list[str]
    anchored_heads: int = Field(description="Heads of the trail anchored on chain (daily).")
    latest_anchor: dict[str, Any] | None = Field(
        description="The latest anchored head: day, seq, hash, op_id."
    )
    anchored_consents: int = Field(
        default=0, description="Consent grants and revocations anchored on chain."
    )


@route(router, "GET", "/audit-trail", "audit.read")
def audit_trail(request: Request, after: int = 0, limit: int = 100) -> list[AuditRecordOut]:
    """The API's audit trail after record ``after`` (at most ``limit``, up to 1000)."""
    ids = state(request).platform.identities
    return [
        AuditRecordOut(**dataclasses.asdict(r))
        for r in identity.trail_records(ids, after=max(0, after), limit=limit)
    ]


@route(router, "GET", "/audit-trail/verification", "audit.read")
def verify_audit_trail(request: Request) -> TrailCheckOut:
    """Recompute the trail's hashes and links, and check every head anchored on chain is
    still the record at its place (as ``fourflow audit``): how many records, the head, the
    anchors, what is wrong."""
    platform = state(request).platform
    check = trail_anchor.verify(
        ids=platform.identities, uow_factory=platform.uow_factory,
        ledger=platform.require_contracts,  # read only when a head was anchored
    )  # fmt: skip
    return TrailCheckOut(
        records=check.records, head=check.head, ok=check.ok, problems=list(check.problems),
        anchored_heads=check.anchored_heads, latest_anchor=check.latest_anchor,
        anchored_consents=check.anchored_consents,
    )  # fmt: skip


class WorkerHealthOut(BaseModel):
    """The worker ``fourflow serve`` runs beside the API (relay, scheduled jobs)."""

    state: str = Field(
        description="running | down (exited, restart pending) | failed (given up) | stopped "
        "| unknown"
    )
    restarts: int = Field(0, description="Times it was restarted since serve started.")
    pid: int | None = None
    last_exit_code: int | None = Field(None, description="Negative: ended by that signal.")
    since: float | None = Field(None, description="Unix time of the state's last change.")


class HealthOut(BaseModel):
    """``ok``: the API answers and its worker (if any) runs; ``degraded`` (HTTP 503): the
    worker is down or given up (queued chain operations wait for it)."""

    status: str
    worker: WorkerHealthOut | None = Field(
        None, description="None when no worker runs beside this API (--no-worker)."
    )


@route(
    router, "GET", "/health", "health",
    responses={503: {"model": HealthOut, "description": "The worker is down."}},
)  # fmt: skip
def health(request: Request, response: Response) -> HealthOut:
    """The API answers; the state of the worker beside it (503 while it is down)."""
    found = worker_health.read(state(request).platform.settings.serve_worker_state)
    if found is None:
        return HealthOut(status="ok", worker=None)
    worker = WorkerHealthOut.model_validate(
        {k: found.get(k) for k in WorkerHealthOut.model_fields if found.get(k) is not None}
    )
    if worker.state in worker_health.DOWN:
        response.status_code = 503
        return HealthOut(status="degraded", worker=worker)
    return HealthOut(status="ok", worker=worker)


@route(router, "POST", "/registrations", "register", status_code=201)
def register(request: Request, body: RegistrationIn) -> RegistrationOut:
    """An organisation registers itself with its USCC (checked) and licence details; its first
    user is its admin, active once the operator admits it after a KYC review (with
    ``platform_id``: the operator of that scenario platform, admitting it to FourFlow and the
    platform at once)."""
    platform = state(request).platform
    fields: dict[str, Any] = {
        "name": body.name, "uscc": body.uscc, "org_type": body.org_type.value,
        "licence": body.licence, "accounts": body.accounts, "admin_email": body.admin_email,
        "admin_name": body.admin_name, "admin_password": body.admin_password,
        "own_address": body.own_key_address, "own_address_proof": body.own_key_proof,
    }  # fmt: skip
    if body.platform_id is not None:
        application, admin = platform_registration.register(
            platform.identities, platform.scenario_platforms, platform_id=body.platform_id,
            **fields,
        )  # fmt: skip
    else:
        application, admin = identity.register(platform.identities, **fields)
    return RegistrationOut(
        application=application_out(application), admin_user_id=admin.user.id,
        totp_uri=admin.totp_uri,
    )  # fmt: skip


@route(router, "GET", "/registrations", "applications.list")
def list_registrations(request: Request, status: str | None = None) -> list[ApplicationOut]:
    """Applications, oldest first (``status``: pending, admitted, rejected)."""
    ids = state(request).platform.identities
    return [application_out(a) for a in identity.applications(ids, status)]


@route(router, "POST", "/registrations/{application_id}/review", "applications.review")
def review_registration(request: Request, application_id: str, body: ReviewIn) -> ReviewOut:
    """The operator's recorded KYC review: admitted, the organisation gets its own chain
    account and its admission is put on the chain; with ``node_enode`` its node joins the
    consortium's development network and the Registry records it (the enode and the network
    are checked first: refused, nothing changes)."""
    api = state(request)
    net = checked_node_network(api, body)
    with api.chain_lock:
        reviewed = identity.review(
            api.platform.identities, reviewer=caller(request), application_id=application_id,
            admit=body.admit, checks=body.checks, note=body.note,
        )  # fmt: skip
        node = admit_node(api, reviewed, net, body.node_enode)
    return ReviewOut(**application_out(reviewed).model_dump(), node=node)


def checked_node_network(api: ApiState, body: ReviewIn) -> consortium.NodeNetwork | None:
    """The development network a reviewed member's node joins, its enode checked first (a
    malformed enode or a home without a network refuses the review before anything changes)."""
    if body.node_enode is None:
        return None
    net = clique_network(None, settings=api.platform.settings)
    consortium.check_admitted_node(net, body.node_enode)
    return net


def admit_node(
    api: ApiState, reviewed: Application, net: consortium.NodeNetwork | None, enode: str | None
) -> dict[str, Any] | None:
    """Relay an admission and, with a node, connect it and record it in the Registry (under the
    caller's chain lock); the node as recorded, or ``None``."""
    if reviewed.org_id is None:
        return None
    failed = relay_now(api)
    if net is None or enode is None:
        return None
    refuse_on_chain_failure(failed)  # a node is recorded for an admitted member
    platform = api.platform
    return consortium.connect_admitted_node(
        uow_factory=platform.uow_factory, registry=platform.require_contracts(),
        network=net, operator_id=platform.operator_id(), org_id=reviewed.org_id, enode=enode,
    )  # fmt: skip


@route(router, "POST", "/sessions", "sign_in", status_code=201)
def sign_in(request: Request, body: SignInIn) -> TokensOut:
    """Password sign-in (with a TOTP code for banks' and the operator's users): a short-lived
    access token and a refresh token. Throttled per account and per client address."""
    ids = state(request).platform.identities
    client = request.client.host if request.client else "unknown"
    pair = identity.sign_in(
        ids, email=body.email, password=body.password, totp=body.totp, client=client
    )
    return _tokens(pair, ids.clock.now())


@route(router, "POST", "/sessions/refresh", "refresh", status_code=201)
def refresh(request: Request, body: RefreshIn) -> TokensOut:
    """A new token pair for a refresh token, which is used up (a reused one signs the user out
    everywhere)."""
    ids = state(request).platform.identities
    return _tokens(identity.refresh(ids, refresh_token=body.refresh_token), ids.clock.now())


@route(router, "DELETE", "/sessions/current", "sign_out", status_code=204)
def sign_out(request: Request) -> None:
    """Revoke the access token used and its refresh token."""
    identity.sign_out(state(request).platform.identities, principal=caller(request))


@route(router, "GET", "/me", "me")
def me(request: Request) -> MeOut:
    """Who the caller acts as."""
    who = caller(request)
    return MeOut(
        org_id=who.org_id, org_types=sorted(t.value for t in who.org_types), role=who.role.value,
        user_id=who.user_id, via="user" if who.user_id else "api_key",
    )  # fmt: skip


@route(router, "POST", "/invitations", "users.invite", status_code=201)
def invite(request: Request, body: InviteIn) -> InvitationOut:
    """An admin invites a person to its organisation with a role."""
    issued = identity.invite(
        state(request).platform.identities, admin=caller(request), email=body.email,
        name=body.name, role=body.role,
    )  # fmt: skip
    return InvitationOut(invitation=issued.secret, expires_at=issued.credential.expires_at)


@route(router, "POST", "/invitations/accept", "accept_invitation", status_code=201)
def accept_invitation(request: Request, body: AcceptIn) -> NewUserOut:
    """The invited person sets its password (and gets its TOTP enrolment, where needed)."""
    new = identity.accept(
        state(request).platform.identities, invitation=body.invitation, password=body.password
    )
    return NewUserOut(user=_user(new.user), totp_uri=new.totp_uri)


@route(router, "GET", "/users", "users.list")
def users(request: Request) -> list[UserOut]:
    """The users of the caller's organisation."""
    ids = state(request).platform.identities
    return [_user(u) for u in identity.users_of(ids, caller(request).org_id)]


@route(router, "POST", "/users/{user_id}/disable", "users.disable")
def disable_user(request: Request, user_id: str) -> UserOut:
    """Disable a user of the caller's organisation; its tokens stop working at once."""
    ids = state(request).platform.identities
    return _user(identity.disable_user(ids, admin=caller(request), user_id=user_id))


@route(router, "POST", "/api-keys", "api_keys.manage", status_code=201)
def create_api_key(request: Request, body: ApiKeyIn) -> NewApiKeyOut:
    """An API key for a machine client of the caller's organisation, acting with one role."""
    issued = identity.create_api_key(
        state(request).platform.identities, admin=caller(request), role=body.role,
        label=body.label, ttl=dt.timedelta(days=body.days) if body.days else None,
    )  # fmt: skip
    return NewApiKeyOut(key=issued.secret, **_key(issued.credential).model_dump())


@route(router, "GET", "/api-keys", "api_keys.manage")
def list_api_keys(request: Request) -> list[ApiKeyOut]:
    """The organisation's API keys (never their secrets)."""
    ids = state(request).platform.identities
    return [_key(c) for c in identity.api_keys(ids, caller(request).org_id)]


@route(router, "DELETE", "/api-keys/{key_id}", "api_keys.manage")
def revoke_api_key(request: Request, key_id: str) -> ApiKeyOut:
    """Revoke an API key of the organisation."""
    ids = state(request).platform.identities
    return _key(identity.revoke_api_key(ids, admin=caller(request), key_id=key_id))
