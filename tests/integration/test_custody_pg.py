"""On PostgreSQL, where the relay works sender by sender under row claims: an operation of an
organisation holding its own key stays queued (neither signed nor refused) while the others'
are applied, until the organisation sends its own signed transaction (services.custody)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from eth_account import Account

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.services import commands as cmd
from fourflow.services import custody, onboarding, relay
from fourflow.services.demo import demo_uscc
from fourflow.services.ports import ChainOp, OpStatus
from tests.store.fixtures import pg_schema_url, require_postgres

pytestmark = [pytest.mark.chain, pytest.mark.postgres]


def test_a_self_held_senders_operation_waits_for_its_own_transaction_on_postgresql(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    key = Account.create()
    with pg_schema_url(require_postgres()) as url:
        settings = Settings(
            home=tmp_path / "home", database_url=url, chain_url=anvil.url,
            keystore_password="custody-pg",
        )  # fmt: skip
        with Platform(settings) as p:
            p.initialise()
            claims = p.relay_claims()
            assert claims is not None
            banks = [
                onboarding.onboard(
                    uow_factory=p.uow_factory, keystore=p.keystore, name=f"Custody PG bank {i}",
                    uscc=demo_uscc("310000", f"MCKEY{i:04d}"), roles=[Role.BANK],
                    own_address=key.address if i == 0 else None,
                ).id
                for i in range(2)
            ]  # fmt: skip
            ledger = p.require_contracts()
            assert not relay.relay(uow_factory=p.uow_factory, ledger=ledger, claims=claims).failed
            ops = []
            with p.uow_factory() as uow:
                for n, sender in enumerate(banks):
                    batch = f"custody-pg-{secrets.token_hex(4)}-{n}"
                    op = ChainOp(
                        op_id=f"op-{batch}",
                        command=cmd.AnchorBatch(batch, secrets.token_hex(32), 1),
                        sender_org_id=sender, subject_id=batch,
                    )  # fmt: skip
                    uow.outbox.add(op)
                    ops.append(op.op_id)
                uow.commit()
            result = relay.relay(uow_factory=p.uow_factory, ledger=ledger, claims=claims)
            assert not result.failed and result.applied == 1
            with p.uow_factory() as uow:
                mine, theirs = (uow.outbox.get(o) for o in ops)
            assert mine is not None and mine.status is OpStatus.PENDING  # not signed, not refused
            assert theirs is not None and theirs.status is OpStatus.DONE
            unsigned = custody.unsigned_transaction(
                uow_factory=p.uow_factory, ledger=ledger, org_id=banks[0], op_id=ops[0]
            )
            raw = bytes(key.sign_transaction(unsigned["transaction"]).raw_transaction)
            custody.submit_signed_transaction(
                uow_factory=p.uow_factory, ledger=ledger, org_id=banks[0], op_id=ops[0], raw=raw
            )
            with p.uow_factory() as uow:
                done = uow.outbox.get(ops[0])
            assert done is not None and done.status is OpStatus.DONE
            assert ledger.read("anchor", done.subject_id) is not None
