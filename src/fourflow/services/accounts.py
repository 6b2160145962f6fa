"""Who holds an organisation's bank account: the debtor's account bank named for its items.

An organisation registers its bank accounts at onboarding (``Organisation.accounts``). A
domestic account number begins with its bank's six-digit bank identification number (BIN),
so the debtor's account bank is the bank organisation whose own registered account carries
the same BIN (several such banks: the one that joined first). The Issuer names that bank for
the item on the chain, and DebtItem accepts a payment attestation from it alone; the debtor,
and only the debtor, can name another (``DebtItem.set_account_bank``; docs/contracts.md).
"""

from __future__ import annotations

from fourflow.domain.errors import ConflictError
from fourflow.domain.parties import Organisation, Role
from fourflow.services.ports import UnitOfWork

BIN_DIGITS = 6


def _bins(org: Organisation) -> set[str]:
    return {
        a[:BIN_DIGITS]
        for a in (x.replace(" ", "") for x in org.accounts)
        if len(a) > BIN_DIGITS and a[:BIN_DIGITS].isdigit()
    }


def account_bank(uow: UnitOfWork, org: Organisation) -> Organisation:
    """The bank organisation holding ``org``'s registered account: the first bank member to
    join whose account shares its bank identification number (ConflictError if none does)."""
    bins = _bins(org)
    if not bins:
        raise ConflictError(
            f"{org.name} has no registered domestic bank account: its account bank is unknown"
        )
    banks = [
        o
        for o in uow.organisations.list()
        if o.id != org.id and o.has_role(Role.BANK) and _bins(o) & bins
    ]
    if not banks:
        raise ConflictError(
            f"no bank member holds {org.name}'s account ({', '.join(sorted(bins))}...): "
            "its account bank is unknown"
        )
    return banks[0]  # organisations are listed in the order they joined
