"""Onboarding organisations: validate identity, give each its own chain account, admit it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.identifiers import validate_uscc
from fourflow.domain.parties import Identifier, Organisation, Role, role_mask
from fourflow.services import commands as cmd
from fourflow.services.common import find_org, new_id
from fourflow.services.ports import ChainOp, KeyStore, UnitOfWorkFactory

OPERATOR_ORG_KEY = "platform.operator_org_id"
# The mint cap a newly admitted bank gets from the token's owner (the operator while the
# consortium is founded, its Governance after): 100 billion CNY in fen.
DEFAULT_MINT_CAP = 10**13


def operator_id(uow_factory: UnitOfWorkFactory) -> str:
    """The platform operator's organisation id (set by ``init_platform``)."""
    with uow_factory() as uow:
        value = uow.settings.get(OPERATOR_ORG_KEY)
    if value is None:
        raise ConflictError("the platform has no operator yet; run `fourflow init`")
    return value


def org_id(*, uow_factory: UnitOfWorkFactory, ref: str) -> str:
    """The id of the organisation known as ``ref`` (its id, USCC or ``scheme:value`` key);
    NotFoundError naming ``ref`` if none is."""
    with uow_factory() as uow:
        return find_org(uow, ref).id


def _parse_identifiers(identifiers: Sequence[tuple[str, str]]) -> tuple[Identifier, ...]:
    return tuple(Identifier.parse(scheme, value) for scheme, value in identifiers)


def onboard(
    *,
    uow_factory: UnitOfWorkFactory,
    keystore: KeyStore,
    name: str,
    uscc: str,
    roles: Sequence[Role],
    identifiers: Sequence[tuple[str, str]] = (),
    accounts: Sequence[str] = (),
    profile: Mapping[str, str] | None = None,
    admit: bool = True,
    own_address: str | None = None,
) -> Organisation:
    """Register an organisation, create its encrypted chain account and queue its admission.

    With ``own_address`` the organisation holds its own key: the platform records the address
    only and never signs for it (its chain operations wait for its signed transactions).

    Onboarding the same USCC again with the same name returns the existing organisation
    (so scripts can be re-run); a different name for a known USCC is a conflict.
    """
    code = validate_uscc(uscc)
    if not roles:
        raise DomainValueError(f"organisation {name!r}: give at least one role")
    parsed = _parse_identifiers(identifiers)
    with uow_factory() as uow:
        existing = uow.organisations.by_uscc(code)
        if existing is not None:
            if existing.name != name:
                raise ConflictError(f"USCC {code} already belongs to {existing.name!r}")
            return existing
        for ident in parsed:
            other = uow.organisations.by_key(str(ident))
            if other is not None:
                raise ConflictError(f"identifier {ident} already belongs to {other.name!r}")
        for account in accounts:
            other = uow.organisations.by_key(f"account:{account}")
            if other is not None:
                raise ConflictError(f"account {account} already belongs to {other.name!r}")
        if own_address:
            for other in uow.organisations.list():
                if (other.chain_address or "").lower() == own_address.lower():
                    raise ConflictError(f"chain address {own_address} belongs to {other.name!r}")
        org_id = new_id("org")
        address = keystore.hold_own(org_id, own_address) if own_address else keystore.create(org_id)
        org = Organisation(
            id=org_id,
            name=name,
            uscc=code,
            roles=tuple(roles),
            identifiers=parsed,
            accounts=tuple(accounts),
            chain_address=address,
            profile=tuple(sorted((k, v) for k, v in (profile or {}).items() if v)),
        )
        uow.organisations.add(org)
        if admit:
            operator = uow.settings.get(OPERATOR_ORG_KEY)
            if operator is None:
                raise ConflictError("the platform has no operator yet; run `fourflow init`")
            uow.outbox.add(
                ChainOp(
                    op_id=new_id("op"),
                    command=cmd.AdmitMember(org_id, address, role_mask(org.roles)),
                    sender_org_id=operator,
                    subject_id=org_id,
                )
            )
            if Role.BANK in org.roles:  # the token's owner caps the bank's deposits
                uow.outbox.add(
                    ChainOp(
                        op_id=new_id("op"),
                        command=cmd.SetMintCap(address, DEFAULT_MINT_CAP),
                        sender_org_id=operator,
                        subject_id=org_id,
                    )
                )
        uow.commit()
    return org
