"""Parties (organisations) of the consortium, their roles and identifiers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme, normalise_identifier, validate_uscc


class Role(StrEnum):
    """What an organisation does on the platform. The chain registry holds the same roles."""

    CORE_ENTERPRISE = "core_enterprise"
    SUPPLIER = "supplier"
    DISTRIBUTOR = "distributor"
    LOGISTICS = "logistics"
    WAREHOUSE = "warehouse"
    BANK = "bank"
    REGULATOR = "regulator"
    OPERATOR = "operator"
    LOCAL_GOVERNMENT = "local_government"


#: The Issuer's verifier bit (set by governance, never a role an organisation is onboarded
#: with); roles after the first eight take the bits above it.
_VERIFIER_BIT = 8
# Bit of each role in the on-chain registry's role mask.
ROLE_BITS: dict[Role, int] = {
    role: 1 << (i if i < _VERIFIER_BIT else i + 1) for i, role in enumerate(Role)
}


def role_mask(roles: tuple[Role, ...]) -> int:
    """The registry bitmask for a set of roles."""
    mask = 0
    for role in roles:
        mask |= ROLE_BITS[role]
    return mask


PROFILE_FACTS = frozenset({"address", "legal_representative", "phone", "industry"})


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier an organisation is known by.

    Attributes:
        scheme: which register the value belongs to (USCC, GLN, LEI, VAT, BIC, IBAN, ...).
        value: the validated, compact value.
    """

    scheme: IdScheme
    value: str

    @classmethod
    def parse(cls, scheme: str | IdScheme, value: str) -> Identifier:
        """Validate ``value`` under ``scheme`` and build the identifier."""
        try:
            sch = IdScheme(scheme)
        except ValueError:
            raise DomainValueError(f"identifier scheme {scheme!r} is not known") from None
        return cls(sch, normalise_identifier(sch, value))

    def __str__(self) -> str:
        return f"{self.scheme.value}:{self.value}"


@dataclass(frozen=True, slots=True)
class Organisation:
    """A member of the consortium.

    Attributes:
        id: FourFlow's id for the organisation.
        name: legal name.
        uscc: its Unified Social Credit Code (the primary identifier in China).
        roles: what it does on the platform.
        identifiers: further identifiers (GLN, LEI, VAT, BIC ...).
        accounts: bank accounts (IBAN or domestic account numbers) it pays and is paid from.
        chain_address: its own chain account (0x...), set at onboarding.
        profile: registered facts used to spot related parties and to set limits:
            ``address``, ``legal_representative``, ``phone``, ``industry`` (as given).
    """

    id: str
    name: str
    uscc: str
    roles: tuple[Role, ...]
    identifiers: tuple[Identifier, ...] = ()
    accounts: tuple[str, ...] = ()
    chain_address: str | None = None
    profile: tuple[tuple[str, str], ...] = ()

    def fact(self, key: str) -> str | None:
        """One profile fact (``address``, ``legal_representative``, ``phone``, ``industry``)."""
        return dict(self.profile).get(key)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise DomainValueError("organisation name must not be empty")
        object.__setattr__(self, "uscc", validate_uscc(self.uscc))
        unknown = {k for k, _ in self.profile} - PROFILE_FACTS
        if unknown:
            raise DomainValueError(f"organisation {self.name!r}: unknown profile facts {unknown}")
        if not self.roles:
            raise DomainValueError(f"organisation {self.name!r} needs at least one role")

    def has_role(self, role: Role) -> bool:
        """True when the organisation holds ``role``."""
        return role in self.roles

    def known_as(self) -> frozenset[str]:
        """Every ``scheme:value`` this organisation can be recognised by in a document."""
        keys = {f"{IdScheme.USCC.value}:{self.uscc}"}
        keys.update(str(i) for i in self.identifiers)
        keys.update(f"{IdScheme.ACCOUNT.value}:{a}" for a in self.accounts)
        return frozenset(keys)


@dataclass(frozen=True, slots=True)
class PartyRef:
    """A party as a document names it: whatever identifiers the document carries.

    Attributes:
        name: the name printed on the document, if any.
        identifiers: the identifiers the document gives.
        account: a bank account named for the party (payer or payee), if any.
    """

    name: str | None = None
    identifiers: tuple[Identifier, ...] = field(default=())
    account: str | None = None

    def keys(self) -> frozenset[str]:
        """The ``scheme:value`` keys used to match this reference to an organisation."""
        keys = {str(i) for i in self.identifiers}
        if self.account:
            keys.add(f"{IdScheme.ACCOUNT.value}:{self.account}")
        return frozenset(keys)

    def uscc(self) -> str | None:
        """The USCC among the identifiers, if there is one."""
        for ident in self.identifiers:
            if ident.scheme is IdScheme.USCC:
                return ident.value
        return None
