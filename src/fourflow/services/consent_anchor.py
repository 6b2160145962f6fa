"""Consents anchored on chain (issue 16, items 6 and 8; docs/consents.md).

Every grant and every revocation of a consent is anchored through the notary's batch
anchoring, in the same transaction that records it: an ``AnchorBatch`` with batch id
``consent-<consent id>-granted`` (or ``-revoked``), root = the SHA-256 of the consent's record
as it then stands (``digest``), count 1, queued in the outbox by the operator (op id
``op-<batch id>``) and applied by the relay (the API's worker). The chain keeps the root and
the block it was anchored in, so the core enterprise and the bank can later prove what was
granted (grantor, grantee, kinds, counterparties, purpose, term, who and when) and when it was
revoked: recompute ``digest`` over the record and compare it with ``Notary.anchor_of``.

``check`` (``fourflow audit`` and ``GET /audit-trail/verification``, through
``trail_anchor.verify``) compares every anchored grant and revocation with the store: a consent
changed after its anchor (a term extended, a kind or counterparty added, a revocation undone or
rewritten), removed, or granted or revoked without an anchor queued is named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fourflow.domain.consents import Consent
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainOp, Ledger, OpKind, OpStatus, UnitOfWork, UnitOfWorkFactory

PREFIX = "consent-"
Event = Literal["granted", "revoked"]
OPERATOR_ORG_KEY = "platform.operator_org_id"  # onboarding.OPERATOR_ORG_KEY


def batch_id(consent_id: str, event: Event) -> str:
    """The notary batch id a consent's grant or revocation is anchored under."""
    return f"{PREFIX}{consent_id}-{event}"


def op_id(consent_id: str, event: Event) -> str:
    """The outbox op id of that anchoring."""
    return f"op-{batch_id(consent_id, event)}"


def record(consent: Consent, event: Event) -> dict[str, object]:
    """The consent's record at ``event``: the grant's terms (and, for the revocation, when, by
    whom and why); ``digest`` hashes it."""
    fields: dict[str, object] = {
        "event": event,
        "id": consent.id,
        "grantor_id": consent.grantor_id,
        "grantee_id": consent.grantee_id,
        "kinds": sorted(k.value for k in consent.kinds),
        "counterparties": list(consent.counterparties),
        "purpose": consent.purpose.value,
        "valid_from": consent.valid_from.isoformat(),
        "valid_to": consent.valid_to.isoformat(),
        "granted_by": consent.granted_by,
        "granted_at": consent.granted_at.isoformat(timespec="microseconds"),
    }
    if event == "revoked":
        fields |= {
            "revoked_at": consent.revoked_at.isoformat(timespec="microseconds")
            if consent.revoked_at
            else None,
            "revoked_by": consent.revoked_by,
            "revoked_reason": consent.revoked_reason,
        }
    return fields


def canonical(fields: dict[str, object]) -> str:
    """The canonical JSON a digest is taken of: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(consent: Consent, event: Event) -> str:
    """SHA-256 (hex) of the canonical JSON of the consent's ``record`` at ``event`` (UTC
    timestamps to the microsecond): what the chain anchors."""
    return hashlib.sha256(canonical(record(consent, event)).encode()).hexdigest()


def proof(*, uow_factory: UnitOfWorkFactory, ledger: Ledger, consent: Consent) -> dict[str, object]:
    """What the grantor or the grantee shows to prove what was granted (and revoked) when: for
    each event, the record, its canonical JSON and digest, the anchor the chain holds (root,
    block, submitter; None while it is not applied) and whether the record still matches it."""
    events: list[Event] = ["granted", "revoked"] if consent.revoked_at else ["granted"]
    with uow_factory() as uow:
        ops = {e: uow.outbox.get(op_id(consent.id, e)) for e in events}
    found = []
    for event in events:
        op = ops[event]
        done = op is not None and op.status is OpStatus.DONE
        anchor = ledger.read("anchor", batch_id(consent.id, event)) if done else None
        fields = record(consent, event)
        mine = digest(consent, event)
        found.append({
            "event": event, "batch_id": batch_id(consent.id, event),
            "op_id": op.op_id if op else None, "op_status": op.status.value if op else None,
            "record": fields, "canonical": canonical(fields), "digest": mine,
            "anchor": None if anchor is None else {
                "root": _hex(anchor["root"]), "block_number": int(anchor["block_number"]),
                "submitter": str(anchor["submitter"]),
            },
            "matches": anchor is not None and _hex(anchor["root"]) == mine,
        })  # fmt: skip
    return {"consent_id": consent.id, "events": found}


def queue(uow: UnitOfWork, consent_id: str, event: Event) -> ChainOp | None:
    """Queue the anchoring of a consent's grant or revocation in ``uow`` (before its commit),
    over the record as the store reads it back. None in a store without a platform operator
    (no chain to anchor on)."""
    operator = uow.settings.get(OPERATOR_ORG_KEY)
    stored = uow.consents.get(consent_id)
    if operator is None or stored is None:
        return None
    op = ChainOp(
        op_id=op_id(consent_id, event),
        command=cmd.AnchorBatch(batch_id(consent_id, event), digest(stored, event), 1),
        sender_org_id=operator,
        subject_id=batch_id(consent_id, event),
    )
    uow.outbox.add(op)
    return op


def is_consent_anchor(op: ChainOp) -> bool:
    """True for an op anchoring a consent's grant or revocation."""
    return isinstance(op.command, cmd.AnchorBatch) and op.command.batch_id.startswith(PREFIX)


@dataclass(frozen=True, slots=True)
class ConsentAnchorCheck:
    """What comparing the anchored consents with the store found.

    Attributes:
        anchored: grants and revocations anchored on chain (their ops applied).
        problems: one sentence per finding, naming the consent and the anchor.
    """

    anchored: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every anchored grant and revocation is the store's record."""
        return not self.problems


def _hex(value: object) -> str:
    return str(value).lower().split(":", 1)[-1].removeprefix("0x")


def _event(op: ChainOp) -> tuple[str, Event]:
    assert isinstance(op.command, cmd.AnchorBatch)
    rest = op.command.batch_id.removeprefix(PREFIX)
    consent_id, _, event = rest.rpartition("-")
    return consent_id, "revoked" if event == "revoked" else "granted"


def check(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger | Callable[[], Ledger]
) -> ConsentAnchorCheck:
    """Compare every consent's anchored grant and revocation with the store. ``ledger`` may be
    a function giving it, called only when some anchor was applied."""
    with uow_factory() as uow:
        ops = {
            op.command.batch_id: op
            for op in uow.outbox.list()
            if op.kind is OpKind.ANCHOR_BATCH and is_consent_anchor(op)
            and isinstance(op.command, cmd.AnchorBatch)
        }  # fmt: skip
        consents = {c.id: c for c in uow.consents.between()}
        operator = uow.settings.get(OPERATOR_ORG_KEY)
    done = [op for op in ops.values() if op.status is OpStatus.DONE]
    if done and callable(ledger):
        ledger = ledger()
    problems: list[str] = []
    if operator is not None:  # a platform anchors every grant and revocation it records
        for consent in consents.values():
            events: list[Event] = ["granted", "revoked"] if consent.revoked_at else ["granted"]
            for event in events:
                if batch_id(consent.id, event) not in ops:
                    problems.append(
                        f"consent {consent.id}: {event} in the store, but no anchoring of it "
                        "was ever queued (recorded behind the service's back)"
                    )
    for op in sorted(done, key=lambda o: o.op_id):
        assert not callable(ledger) and isinstance(op.command, cmd.AnchorBatch)
        consent_id, event = _event(op)
        anchor = ledger.read("anchor", op.command.batch_id)
        if anchor is None:
            problems.append(f"consent {consent_id}: its {event} (op {op.op_id}) is not on chain")
            continue
        root, block = _hex(anchor["root"]), anchor.get("block_number")
        where = f"op {op.op_id}, block {block}"
        if root != _hex(op.command.root):
            problems.append(
                f"consent {consent_id}: the store queued {_hex(op.command.root)[:12]}... for its "
                f"{event}, the chain anchored {root[:12]}... ({where})"
            )
        found = consents.get(consent_id)
        if found is None:
            problems.append(
                f"consent {consent_id}: missing from the store, but its {event} was anchored "
                f"on chain ({where})"
            )
            continue
        if event == "revoked" and found.revoked_at is None:
            problems.append(
                f"consent {consent_id}: its revocation was anchored on chain ({where}), but "
                "the store shows it not revoked"
            )
            continue
        now = digest(found, event)
        if now != root:
            problems.append(
                f"consent {consent_id}: changed after its {event} was anchored on chain "
                f"({where}: the record hashes to {now[:12]}..., the chain holds {root[:12]}...)"
            )
    return ConsentAnchorCheck(len(done), tuple(problems))
