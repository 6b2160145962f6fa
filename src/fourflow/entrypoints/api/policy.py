"""Who may call what: the ONE authorisation table (organisation type × user role × action).

Every route of the API names its action (``ROUTES``); a test enumerates the app's routes and
fails on one without an entry, and walks every route × type × role asserting this table's
answer. Object rules (a bank sees only its own requests, an enterprise its own documents,
holdings and debts) are applied by the route on the object it loads: another organisation's
object is answered 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Mapping

from fourflow.domain.identity import OrgType, UserRole

R = UserRole
T = OrgType

EVERY_ROLE = frozenset(UserRole)
ADMIN = frozenset({R.ADMIN})
MANAGERS = frozenset({R.ADMIN, R.FINANCE_MANAGER})
UPLOADERS = frozenset({R.ADMIN, R.CLERK, R.FINANCE_MANAGER})
BANK_READERS = frozenset({R.ADMIN, R.CREDIT_OFFICER, R.APPROVER, R.AUDITOR})
OVERSIGHT = frozenset({R.ADMIN, R.AUDITOR})
ENTERPRISES = (T.ENTERPRISE, T.CORE_ENTERPRISE)
TRADERS = (T.ENTERPRISE, T.CORE_ENTERPRISE, T.LOGISTICS, T.WAREHOUSE, T.BANK)


def _each(
    types: tuple[OrgType, ...] | type[OrgType], roles: frozenset[UserRole]
) -> dict[OrgType, frozenset[UserRole]]:
    return {t: roles for t in types}


#: Actions anyone may take, signed in or not.
PUBLIC = frozenset({"health", "openapi", "register", "sign_in", "refresh", "accept_invitation"})

#: action -> organisation type -> the user roles allowed. An action absent for a type, or a
#: role absent for it, is refused (403).
TABLE: Mapping[str, Mapping[OrgType, frozenset[UserRole]]] = {
    # every signed-in user: who am I, sign out
    "me": _each(OrgType, EVERY_ROLE),
    "sign_out": _each(OrgType, EVERY_ROLE),
    # each organisation administers its own people and machine clients
    "users.list": _each(OrgType, OVERSIGHT),
    "users.invite": _each(OrgType, ADMIN),
    "users.disable": _each(OrgType, ADMIN),
    "api_keys.manage": _each(OrgType, ADMIN),
    # the platform operator reviews applications (KYC) and admits members
    "applications.list": {T.PLATFORM_OPERATOR: frozenset({R.ADMIN, R.CLERK, R.AUDITOR})},
    "applications.review": {T.PLATFORM_OPERATOR: ADMIN},
    # the main path
    "documents.upload": _each(TRADERS, UPLOADERS),
    "trades.verify": {
        **_each(ENTERPRISES, MANAGERS),
        T.PLATFORM_OPERATOR: frozenset({R.ADMIN, R.CLERK}),
    },
    "items.issue": _each(ENTERPRISES, MANAGERS),
    "items.read": {
        **_each(ENTERPRISES, EVERY_ROLE),
        T.BANK: BANK_READERS,
        T.PLATFORM_OPERATOR: OVERSIGHT,
        T.REGULATOR: OVERSIGHT,
    },
    "items.confirm": _each(ENTERPRISES, MANAGERS),
    # the debtor disputes an item (the service refuses anyone but the debtor)
    "items.dispute": _each(ENTERPRISES, MANAGERS),
    # ... and withdraws its dispute (the service refuses anyone but the debtor)
    "items.withdraw_dispute": _each(ENTERPRISES, MANAGERS),
    # the platform operator lists the items disputed now and resolves a dispute (upheld or
    # rejected, recorded; the service refuses anyone but the operator)
    "disputes.read": {T.PLATFORM_OPERATOR: frozenset({R.ADMIN, R.CLERK, R.AUDITOR})},
    "items.resolve_dispute": {T.PLATFORM_OPERATOR: ADMIN},
    # my trades and a trade's evidence chain (a trade the caller sells or buys in: operator any)
    "trades.read": {
        **_each(ENTERPRISES, EVERY_ROLE),
        T.PLATFORM_OPERATOR: OVERSIGHT,
    },
    "holdings.split": _each(ENTERPRISES, MANAGERS),
    "holdings.transfer": _each(ENTERPRISES, MANAGERS),
    # the rest of an item's life (api/item_routes.py; the services refuse anyone but the
    # holder, the creditor and debtor, the pledgee bank)
    "holdings.merge": _each(ENTERPRISES, MANAGERS),
    "holdings.buyback": _each(ENTERPRISES, MANAGERS),
    "items.cancel": _each(ENTERPRISES, MANAGERS),
    "items.dilute": _each(ENTERPRISES, MANAGERS),
    "pledges.release": {T.BANK: frozenset({R.ADMIN, R.CREDIT_OFFICER})},
    "items.route_lock": _each(ENTERPRISES, MANAGERS),
    # a locked route changed by its parties (api/settlement_routes.py): the debtor proposes;
    # the debtor and every bank with an open pledge sign, each for itself (the service refuses
    # any other party: 403); the item's parties read the proposals (others 404)
    "routes.change.propose": _each(ENTERPRISES, MANAGERS),
    "routes.change.sign": {
        **_each(ENTERPRISES, MANAGERS),
        T.BANK: frozenset({R.ADMIN, R.CREDIT_OFFICER}),
    },
    "routes.changes.read": {
        **_each(ENTERPRISES, EVERY_ROLE),
        T.BANK: BANK_READERS,
        T.PLATFORM_OPERATOR: OVERSIGHT,
        T.REGULATOR: OVERSIGHT,
    },
    # a bank's statement lines: reported by hand for an item it has a part in, its uploaded
    # camt entries checked for payments that bypassed a route, the bypass notices it was given
    "statements.report": {T.BANK: frozenset({R.ADMIN, R.CLERK})},
    "statements.check": {T.BANK: frozenset({R.ADMIN, R.CLERK})},
    "statements.read": {T.BANK: BANK_READERS | {R.CLERK}},
    # the debtor pays (tokens, or declared); a bank mints settlement tokens against deposits
    "items.repay": _each(ENTERPRISES, MANAGERS),
    "tokens.mint": {T.BANK: frozenset({R.ADMIN, R.CLERK})},
    "registrations.read": {T.BANK: BANK_READERS},
    # warehouse receipts (api/receipt_routes.py): the warehouse issues and confirms goods
    # released; the holder pledges, sells and asks for goods; the pledgee bank releases its
    # pledge; the buyer pays (the routes refuse any other party: 403); a receipt is read by
    # its parties (others 404), the operator and the regulator
    "receipts.issue": {T.WAREHOUSE: UPLOADERS},
    "receipts.confirm_release": {T.WAREHOUSE: UPLOADERS},
    "receipts.read": {
        **_each(TRADERS, EVERY_ROLE),
        T.PLATFORM_OPERATOR: OVERSIGHT,
        T.REGULATOR: OVERSIGHT,
    },
    "receipts.pledge": _each(ENTERPRISES, MANAGERS),
    "receipts.sell": _each(ENTERPRISES, MANAGERS),
    "receipts.request_release": _each(ENTERPRISES, MANAGERS),
    "receipts.pay": _each(ENTERPRISES, MANAGERS),
    "receipts.release_pledge": {T.BANK: frozenset({R.ADMIN, R.CREDIT_OFFICER})},
    # an overdue item marked defaulted: the operator, or a bank holding an open pledge of it
    # (the service refuses any other bank)
    "items.default": {
        T.PLATFORM_OPERATOR: ADMIN,
        T.BANK: frozenset({R.ADMIN, R.CREDIT_OFFICER}),
    },
    # a member's own settlement account (the service refuses another's)
    "accounts.read": _each(TRADERS, EVERY_ROLE),
    "accounts.set": _each(TRADERS, ADMIN),
    # mandates: a principal lets an agent send its documents (the operator may revoke one too)
    "mandates.grant": _each(TRADERS, ADMIN),
    "mandates.read": {**_each(TRADERS, EVERY_ROLE), T.PLATFORM_OPERATOR: OVERSIGHT},
    "mandates.revoke": {**_each(TRADERS, ADMIN), T.PLATFORM_OPERATOR: ADMIN},
    # a trade's fraud signals and their clearance by the operator (with the officer named)
    "signals.read": {
        T.PLATFORM_OPERATOR: frozenset({R.ADMIN, R.CLERK, R.AUDITOR}),
        T.REGULATOR: OVERSIGHT,
    },
    "signals.clear": {T.PLATFORM_OPERATOR: ADMIN},
    "position.read": _each(TRADERS, EVERY_ROLE),
    "financings.request": _each(ENTERPRISES, MANAGERS),
    "financings.read": {
        **_each(ENTERPRISES, frozenset({R.ADMIN, R.FINANCE_MANAGER, R.AUDITOR})),
        T.BANK: BANK_READERS,
        T.REGULATOR: OVERSIGHT,
    },
    "financings.decide": {T.BANK: frozenset({R.CREDIT_OFFICER})},
    "financings.approve": {T.BANK: frozenset({R.APPROVER})},
    "policy.read": {T.BANK: EVERY_ROLE},
    # the bank's workbench: its queue valued today, the four-eyes proposals waiting with
    # their content, the four-eyes limit, the model registry and its alerts
    "bank.queue": {T.BANK: BANK_READERS},
    "bank.proposals": {T.BANK: BANK_READERS},
    "bank.four_eyes": {T.BANK: EVERY_ROLE},
    "models.read": {T.BANK: BANK_READERS, T.REGULATOR: OVERSIGHT},
    "policy.propose": {T.BANK: frozenset({R.ADMIN, R.CREDIT_OFFICER})},
    "policy.approve": {T.BANK: frozenset({R.APPROVER})},
    "payments.attest": {T.BANK: frozenset({R.ADMIN, R.CLERK})},
    "regulator.figures": {T.REGULATOR: EVERY_ROLE, T.PLATFORM_OPERATOR: OVERSIGHT},
    # a core enterprise's data reaches a bank only under its consent, every read metered
    # (the service refuses a read without consent, 403 naming it; another's consent: 404)
    "consents.grant": {T.CORE_ENTERPRISE: ADMIN},
    "consents.revoke": {T.CORE_ENTERPRISE: ADMIN},
    "consents.read": {
        T.CORE_ENTERPRISE: frozenset({R.ADMIN, R.FINANCE_MANAGER, R.AUDITOR}),
        T.BANK: BANK_READERS,
        T.REGULATOR: OVERSIGHT,
        T.PLATFORM_OPERATOR: OVERSIGHT,
    },
    "data.prices.set": {T.CORE_ENTERPRISE: ADMIN},
    "data.prices.read": {
        T.CORE_ENTERPRISE: frozenset({R.ADMIN, R.FINANCE_MANAGER, R.AUDITOR}),
        T.BANK: BANK_READERS,
    },
    "data.read": {T.BANK: frozenset({R.CREDIT_OFFICER, R.APPROVER})},
    "data.usage": {
        T.CORE_ENTERPRISE: frozenset({R.ADMIN, R.FINANCE_MANAGER, R.AUDITOR}),
        T.BANK: OVERSIGHT,
        T.REGULATOR: OVERSIGHT,
        T.PLATFORM_OPERATOR: OVERSIGHT,
    },
    "data.statement": {T.CORE_ENTERPRISE: frozenset({R.ADMIN, R.FINANCE_MANAGER, R.AUDITOR})},
    # an organisation holding its own key: its queued operations, signed by itself (the
    # debtor's own confirmation is "items.confirm")
    "custody.read": _each(OrgType, EVERY_ROLE),
    "custody.sign": {
        **_each(OrgType, ADMIN),
        **_each(ENTERPRISES, MANAGERS),
        T.BANK: frozenset({R.ADMIN, R.CREDIT_OFFICER, R.APPROVER}),
    },
    # an organisation's admin moves it between holding its own key and the platform holding
    # it (the platform operator's own key does not move)
    "custody.switch": {t: ADMIN for t in OrgType if t is not T.PLATFORM_OPERATOR},
    # notifications: each organisation's admin manages its webhooks; its people read its events
    "webhooks.manage": _each(OrgType, ADMIN),
    "events.stream": _each(OrgType, EVERY_ROLE),
    # the consortium council (api/governance_routes.py): a member organisation's admin
    # proposes, votes and executes for it (the service refuses one not on the council: 403);
    # the members' oversight and the regulator read it
    "governance.read": {
        **_each(TRADERS, OVERSIGHT),
        T.PLATFORM_OPERATOR: OVERSIGHT,
        T.REGULATOR: EVERY_ROLE,
    },
    "governance.propose": {**_each(TRADERS, ADMIN), T.PLATFORM_OPERATOR: ADMIN},
    "governance.vote": {**_each(TRADERS, ADMIN), T.PLATFORM_OPERATOR: ADMIN},
    "governance.execute": {**_each(TRADERS, ADMIN), T.PLATFORM_OPERATOR: ADMIN},
    # the API's own audit trail
    "audit.read": {T.REGULATOR: OVERSIGHT, T.PLATFORM_OPERATOR: OVERSIGHT},
    # scenario platforms as tenants: FourFlow's operator creates them; a local government runs
    # its own (members, banks, figures); the regulator sees all; a bank the platforms it takes
    # part in, any other organisation those it is a member of (others answer 404)
    "platforms.create": {T.PLATFORM_OPERATOR: ADMIN},
    "platforms.read": {
        **_each(TRADERS, EVERY_ROLE),
        T.LOCAL_GOVERNMENT: EVERY_ROLE,
        T.REGULATOR: EVERY_ROLE,
        T.PLATFORM_OPERATOR: OVERSIGHT,
    },
    "platforms.figures": {
        T.LOCAL_GOVERNMENT: EVERY_ROLE,
        T.REGULATOR: EVERY_ROLE,
        T.PLATFORM_OPERATOR: OVERSIGHT,
    },
    # supervision: the figures by platform and scenario, the trades behind them and their
    # evidence, alerts, the supply network (a local government its own platforms only: the
    # service answers 404 for another's, 403 for the whole platform)
    "supervision.read": {
        T.LOCAL_GOVERNMENT: EVERY_ROLE,
        T.REGULATOR: EVERY_ROLE,
        T.PLATFORM_OPERATOR: OVERSIGHT,
    },
    "platforms.admit": {T.LOCAL_GOVERNMENT: ADMIN},
    # registrations straight to a platform: its local government reviews them (one KYC review
    # admits to FourFlow and the platform; another platform's applications answer 404)
    "platforms.applications.list": {T.LOCAL_GOVERNMENT: frozenset({R.ADMIN, R.CLERK, R.AUDITOR})},
    "platforms.applications.review": {T.LOCAL_GOVERNMENT: ADMIN},
    "platforms.banks": {T.LOCAL_GOVERNMENT: ADMIN},
    "platforms.products": {
        T.LOCAL_GOVERNMENT: ADMIN,
        T.BANK: frozenset({R.ADMIN, R.CREDIT_OFFICER}),
    },
}

#: (HTTP method, path template) -> action; filled as routes are declared (``api.routing``).
ROUTES: dict[tuple[str, str], str] = {}


def allowed(action: str, types: frozenset[OrgType], role: UserRole) -> bool:
    """True when an organisation of ``types`` lets a user of ``role`` take ``action``."""
    if action in PUBLIC:
        return True
    rules = TABLE[action]
    return any(role in rules.get(t, frozenset()) for t in types)


def table_rows() -> list[dict[str, object]]:
    """The table as rows (for docs/api.md and the API's own listing)."""
    return [
        {"action": action, "org_type": t.value, "roles": sorted(r.value for r in roles)}
        for action, rules in TABLE.items()
        for t, roles in rules.items()
    ]
