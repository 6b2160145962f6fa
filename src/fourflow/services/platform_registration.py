"""Registration straight to a scenario platform (issue 16, Identities and tenants).

An enterprise (or core enterprise, logistics firm, warehouse) registers with its USCC
(checked) and licence details naming the scenario platform it applies to. That platform's
operator (its local government) reviews it once, recorded (the KYC checks, the note, who and
when): admitted, the organisation is onboarded into FourFlow (its own chain account, its
admission queued for the chain as any admission) and made a member of the platform with the
same review, its first user becoming its admin. There is no second review by FourFlow's
operator: ``identity.review`` refuses an application to a platform unless the platform's own
operator reviews it here; the operator of another platform does not see it (404), nor does
the applicant, whose users stay pending (they cannot sign in) until it is admitted.

Applications to FourFlow itself (no platform) stay with FourFlow's operator
(``identity.review``), who then admits members into platforms with ``scenario_platforms.admit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fourflow.domain.errors import DomainValueError, NotFoundError
from fourflow.domain.errors import PermissionDeniedError as Forbidden
from fourflow.domain.identity import KYC_CHECKS, Application, OrgType, Principal
from fourflow.services import identity
from fourflow.services import scenario_platforms as sp


def _run_by(
    platforms: sp.PlatformStore, viewer: sp.Viewer, platform_id: str
) -> sp.ScenarioPlatform:
    """The platform if ``viewer`` is its operator; NotFoundError when it may not see it,
    Forbidden when it sees it without running it (the regulator, FourFlow's operator)."""
    platform = sp.platform_for(platforms, viewer, platform_id)
    if platform.operator_org_id != viewer.org_id:
        raise Forbidden(
            f"only the operator of scenario platform {platform_id} reviews its applications"
        )
    return platform


def register(
    ids: identity.Identities,
    platforms: sp.PlatformStore,
    *,
    platform_id: str,
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
) -> tuple[Application, identity.NewUser]:
    """An organisation applies to scenario platform ``platform_id`` (NotFoundError if none):
    ``identity.register`` with the platform named; only the types a platform admits as
    members may (a bank takes part as a bank: it registers with FourFlow and the platform's
    operator names it)."""
    platform = platforms.get(platform_id)
    if platform is None:
        raise NotFoundError(f"scenario platform {platform_id} not found")
    try:
        kind = OrgType(org_type)
    except ValueError:
        raise DomainValueError(
            f"org_type {org_type!r}: one of {sorted(t.value for t in sp.MEMBER_TYPES)}"
        ) from None
    if kind not in sp.MEMBER_TYPES:
        raise DomainValueError(
            f"org_type {kind.value!r} cannot apply to scenario platform {platform.name!r}: a "
            "platform admits enterprises, core enterprises, logistics firms and warehouses "
            "(a bank registers with FourFlow and the platform's operator names it)"
        )
    return identity.register(
        ids, name=name, uscc=uscc, org_type=kind.value, licence=licence, accounts=accounts,
        admin_email=admin_email, admin_name=admin_name, admin_password=admin_password,
        own_address=own_address, own_address_proof=own_address_proof, platform_id=platform.id,
    )  # fmt: skip


def applications(
    ids: identity.Identities,
    platforms: sp.PlatformStore,
    *,
    viewer: sp.Viewer,
    platform_id: str,
    status: str | None = None,
) -> list[Application]:
    """The applications to a platform its operator reviews, oldest first."""
    platform = _run_by(platforms, viewer, platform_id)
    return identity.applications(ids, status, platform.id)


def review(
    ids: identity.Identities,
    platforms: sp.PlatformStore,
    *,
    viewer: sp.Viewer,
    reviewer: Principal,
    platform_id: str,
    application_id: str,
    admit: bool,
    checks: Mapping[str, bool],
    note: str,
) -> Application:
    """The platform operator's one recorded KYC review of an application to its platform:
    admitted, the organisation is onboarded into FourFlow (its chain admission queued), made a
    member of the platform with this review, and its first user becomes its admin.

    Another platform's application, or one to FourFlow itself: NotFoundError. Run under the
    API's chain lock (as FourFlow's review is), so two reviews of one application do not both
    admit."""
    platform = _run_by(platforms, viewer, platform_id)
    now = ids.clock.now()

    def admitted(org_id: str) -> None:
        record = sp.PlatformMember(
            platform_id=platform.id, org_id=org_id,
            kyc={"checks": {c: True for c in KYC_CHECKS}, "note": note.strip(),
                 "application_id": application_id},
            admitted_by=reviewer.person, admitted_at=now,
        )  # fmt: skip
        platforms.add_member(record)  # False: a member already (a review retried after a crash)

    return identity.review(
        ids, reviewer=reviewer, application_id=application_id, admit=admit, checks=checks,
        note=note, platform_id=platform.id, admitted=admitted,
    )  # fmt: skip
