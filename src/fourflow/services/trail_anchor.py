"""The API audit trail's head, anchored on chain daily (issue 16, item 8).

The audit trail (``identity.record_request``) is hash-chained: each record's hash covers its
fields and the hash of the record before it, so ``verify_trail`` finds a record changed in
place. Someone able to write the store could still rewrite a record *and* every hash after it;
the chain keeps that from passing unseen. Once per chain day the worker anchors the trail's
head (its last record's sequence number and hash) through the notary's batch anchoring
(``AnchorBatch``: batch id ``audit-head-<day>``, root = the head's hash, count = its sequence
number), queued in the outbox by the operator like any batch anchor and applied by the relay.

Idempotent per day: the op id is ``op-audit-head-<day>`` (the outbox refuses a second one, so
two workers, or a second pass that day, queue nothing more) and the notary refuses to anchor
one batch id twice.

``check_anchors`` (part of ``fourflow audit``): for each head the chain anchored, the anchor on
the chain matches the op, the trail still holds a record with that sequence number, and that
record's hash equals the anchored hash (``identity.verify_trail`` checks each record's content
against its hash and its link to the one before). A trail rewritten after an anchor, even with
every hash recomputed so that the hash chain holds, is named with the records that may have
changed: after the last anchor that still matches, up to the first that does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from fourflow.domain.errors import ConflictError
from fourflow.services import commands as cmd
from fourflow.services import consent_anchor
from fourflow.services.identity import Identities, verify_trail
from fourflow.services.ports import ChainOp, Ledger, OpKind, OpStatus, UnitOfWorkFactory

PREFIX = "audit-head-"


def anchor_id(day: dt.date) -> str:
    """The notary batch id of the head anchored for ``day``."""
    return f"{PREFIX}{day.isoformat()}"


def op_id(day: dt.date) -> str:
    """The outbox op id of the head anchored for ``day`` (one per day)."""
    return f"op-{anchor_id(day)}"


def anchor_head(
    *, ids: Identities, uow_factory: UnitOfWorkFactory, operator_id: str, day: dt.date
) -> ChainOp | None:
    """Queue the anchoring of the trail's head for chain day ``day``; None when the trail is
    empty or that day's head is queued already (by this or another process)."""
    with ids.store() as store:
        head = store.trail.head()
    if head is None:
        return None
    op = ChainOp(
        op_id=op_id(day),
        command=cmd.AnchorBatch(anchor_id(day), head.hash, head.seq),
        sender_org_id=operator_id,
        subject_id=anchor_id(day),
    )
    with uow_factory() as uow:
        if uow.outbox.get(op.op_id) is not None:
            return None
        try:
            uow.outbox.add(op)
            uow.commit()
        except ConflictError:  # another worker queued it first
            return None
    return op


def is_head_anchor(op: ChainOp) -> bool:
    """True for an op anchoring the audit trail's head."""
    return isinstance(op.command, cmd.AnchorBatch) and op.command.batch_id.startswith(PREFIX)


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """What comparing the anchored heads with the trail found.

    Attributes:
        anchors: heads anchored on the chain (their ops applied).
        latest: the latest anchored head (day, seq, hash), or None.
        problems: one sentence per mismatch, naming the anchor and the records.
    """

    anchors: int
    latest: dict[str, object] | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every anchored head is still the trail's record at its place."""
        return not self.problems


def _hex(value: object) -> str:
    return str(value).lower().split(":", 1)[-1].removeprefix("0x")


def check_anchors(
    *, ids: Identities, uow_factory: UnitOfWorkFactory, ledger: Ledger | Callable[[], Ledger]
) -> AnchorCheck:
    """Compare every head anchored on the chain with the trail (oldest first). ``ledger`` may
    be a function giving it, called only when some head was anchored (a platform that
    anchored none needs no chain to verify its trail)."""
    with uow_factory() as uow:
        ops = [
            op
            for op in uow.outbox.list()
            if op.kind is OpKind.ANCHOR_BATCH and op.status is OpStatus.DONE and is_head_anchor(op)
        ]
    problems: list[str] = []
    latest: dict[str, object] | None = None
    matched_seq = 0
    if ops and callable(ledger):
        ledger = ledger()
    for op in sorted(ops, key=_count):
        assert not callable(ledger)
        c = op.command
        assert isinstance(c, cmd.AnchorBatch)
        day = c.batch_id.removeprefix(PREFIX)
        chain = ledger.read("anchor", c.batch_id)
        if chain is None:
            problems.append(f"audit head of {day} (op {op.op_id}): not anchored on the chain")
            continue
        root, seq = _hex(chain["root"]), int(chain["count"])
        if (root, seq) != (_hex(c.root), c.count):
            problems.append(
                f"audit head of {day} (op {op.op_id}): the store says record {c.count} "
                f"{_hex(c.root)[:12]}..., the chain anchored record {seq} {root[:12]}..."
            )
        latest = {"day": day, "seq": seq, "hash": root, "op_id": op.op_id}
        with ids.store() as store:
            found = store.trail.records(seq - 1, 1)
        record = found[0] if found and found[0].seq == seq else None
        if record is None:
            problems.append(
                f"audit trail record {seq}: missing, but its hash was anchored on chain as "
                f"the head of {day} (op {op.op_id})"
            )
        elif record.hash != root:  # its content against its hash: verify_trail
            problems.append(
                f"audit trail records {matched_seq + 1} to {seq}: changed after they were "
                f"anchored on chain (head of {day}, op {op.op_id}: record {seq} hashes to "
                f"{record.hash[:12]}..., the chain holds {root[:12]}...)"
            )
        else:
            matched_seq = seq
    return AnchorCheck(len(ops), latest, tuple(problems))


def _count(op: ChainOp) -> int:
    c = op.command
    return c.count if isinstance(c, cmd.AnchorBatch) else 0


@dataclass(frozen=True, slots=True)
class TrailVerification:
    """The audit trail verified: its hash chain (``identity.verify_trail``) and every head
    anchored on chain (``check_anchors``). What ``fourflow audit`` and
    ``GET /audit-trail/verification`` both report.

    Attributes:
        records: records in the trail.
        head: the last record's hash.
        anchored_heads: heads anchored on the chain.
        latest_anchor: the latest anchored head (day, seq, hash, op id), or None.
        problems: one sentence per finding (a record changed or missing, a link broken, a
            rewrite before an anchor, a consent changed after its anchor).
        anchored_consents: consent grants and revocations anchored on chain
            (``consent_anchor.check``, whose findings are in ``problems``).
    """

    records: int
    head: str
    anchored_heads: int
    latest_anchor: dict[str, object] | None
    problems: tuple[str, ...]
    anchored_consents: int = 0

    @property
    def ok(self) -> bool:
        """True when the hash chain holds and every anchored head is still in the trail."""
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        """Plain data (``api_audit_trail`` in ``fourflow audit --json``)."""
        return {
            "records": self.records,
            "head": self.head,
            "anchored_heads": self.anchored_heads,
            "latest_anchor": self.latest_anchor,
            "anchored_consents": self.anchored_consents,
            "problems": list(self.problems),
            "ok": self.ok,
        }


def verify(
    *, ids: Identities, uow_factory: UnitOfWorkFactory, ledger: Ledger | Callable[[], Ledger]
) -> TrailVerification:
    """Verify the audit trail: every record against its hash and link, and every head
    anchored on chain against the record at its place, and every consent's anchored grant
    and revocation against the consent's record (one check for the CLI and the API;
    ``ledger`` as for ``check_anchors``)."""
    trail = verify_trail(ids)
    anchors = check_anchors(ids=ids, uow_factory=uow_factory, ledger=ledger)
    consents = consent_anchor.check(uow_factory=uow_factory, ledger=ledger)
    return TrailVerification(
        records=trail.records,
        head=trail.head,
        anchored_heads=anchors.anchors,
        latest_anchor=anchors.latest,
        problems=(*trail.problems, *anchors.problems, *consents.problems),
        anchored_consents=consents.anchored,
    )
