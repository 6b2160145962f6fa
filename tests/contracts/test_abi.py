"""The compiled ABIs carry exactly the names and argument orders of docs/contracts.md."""

from __future__ import annotations

from typing import Any

import pytest
from vyper.compiler import output

pytestmark = pytest.mark.contracts

SPEC: dict[str, dict[str, list[str]]] = {
    "Registry": {
        "admit": ["op_id", "member", "org_id", "roles"],
        "set_roles": ["op_id", "member", "roles"],
        "suspend": ["op_id", "member"],
        "reinstate": ["op_id", "member"],
        "pause": [],
        "unpause": [],
        "is_member": ["a"],
        "has_role": ["a", "role_bit"],
        "member_of": ["a"],
        "member_count": [],
        "paused": [],
        "applied": ["arg0"],
        "owner": [],
    },
    "Notary": {
        "register": ["op_id", "fingerprints"],
        "anchor": ["op_id", "batch_id", "root", "count"],
        "fingerprint_owner": ["arg0"],
        "anchor_of": ["batch_id"],
        "batch_of_root": ["arg0"],
        "applied": ["arg0"],
    },
    "DebtItem": {
        "issue": [
            "op_id",
            "item_id",
            "holding_id",
            "debtor",
            "currency",
            "face_value",
            "issue_day",
            "maturity_day",
            "asset_type",
            "trade_hash",
            "report_hash",
        ],
        "split": ["op_id", "holding_id", "new_holding_id", "amount"],
        "transfer": ["op_id", "holding_id", "new_holding_id", "to", "amount"],
        "pledge": ["op_id", "holding_id", "bank", "principal", "rate_bps", "start_day"],
        "repay": ["op_id", "item_id", "amount", "value_day"],
        "item": ["item_id"],
        "holding": ["holding_id"],
        "item_holdings": ["item_id"],
        "nonces": ["arg0"],
        "applied": ["arg0"],
        "item_count": [],
        "domain_separator": [],
        "confirmation_digest": [
            "item_id",
            "creditor",
            "debtor",
            "currency",
            "face_value",
            "maturity_day",
            "report_hash",
            "nonce",
            "deadline",
        ],
    },
}


def _functions(deployer: Any) -> dict[str, list[str]]:
    abi = output.build_abi_output(deployer.compiler_data)
    return {
        entry["name"]: [arg["name"] for arg in entry["inputs"]]
        for entry in abi
        if entry["type"] == "function"
    }


@pytest.mark.parametrize("name", sorted(SPEC))
def test_abi_has_the_specified_functions(deployers: dict[str, Any], name: str) -> None:
    functions = _functions(deployers[name])
    for function, args in SPEC[name].items():
        assert functions.get(function) == args, function


def test_issue_confirmed_extends_issue(deployers: dict[str, Any]) -> None:
    functions = _functions(deployers["DebtItem"])
    assert functions["issue_confirmed"] == [
        *SPEC["DebtItem"]["issue"],
        "nonce",
        "deadline",
        "signature",
    ]


def test_bytecode_has_no_post_paris_opcodes(deployers: dict[str, Any]) -> None:
    for deployer in deployers.values():
        assert deployer.compiler_data.settings.evm_version == "paris"
        # The assembly, not a disassembly of the bytecode: the data section at its end (the
        # selector table of the codesize-optimised build) disassembles into stray opcodes.
        opcodes = {str(item) for item in deployer.compiler_data.assembly_runtime}
        assert not {"PUSH0", "TLOAD", "TSTORE", "MCOPY"} & opcodes


def test_bytecode_fits_the_eip170_size_limit(deployers: dict[str, Any]) -> None:
    for name, deployer in deployers.items():
        assert len(deployer.compiler_data.bytecode_runtime) <= 24_576, name
