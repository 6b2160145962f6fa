"""Errors of the chain adapter, all under ``ChainError`` (itself a ``FourFlowError``)."""

from __future__ import annotations

from fourflow.domain.errors import FourFlowError
from fourflow.services.ports import ChainRejectedError


class ChainError(FourFlowError, RuntimeError):
    """The chain, its node or its contracts could not do what was asked."""


class NodeError(ChainError):
    """The local chain node cannot be found, started, reached or stopped."""


class NodeBinaryMissingError(NodeError, FileNotFoundError):
    """The anvil binary is not installed where FourFlow looks for it."""


class ContractBuildError(ChainError):
    """A Vyper contract does not compile, or its source cannot be found."""


class NotDeployedError(ChainError, LookupError):
    """The ledger has no address for a contract it needs (run ``deploy`` first)."""


class ChainTimeoutError(ChainError, TimeoutError):
    """A transaction was not mined, or the node did not answer, within the time allowed."""


class OperationRejectedError(ChainError, ChainRejectedError):
    """A contract refused an operation for good; ``reason`` is its revert message.

    Attributes:
        op_id: the FourFlow operation id.
        reason: the decoded revert message (``"debt_item: split exceeds outstanding"``).
        tx_hash: the failed transaction, when one was mined (None when refused before sending).
    """

    def __init__(self, op_id: str, reason: str, tx_hash: str | None = None) -> None:
        ChainRejectedError.__init__(self, op_id, reason)
        self.tx_hash = tx_hash


class BatchApplyError(ChainError):
    """Some operations of an ``apply_many`` could not be applied now; the others were.

    Attributes:
        results: one entry per op, in order: its ``ChainReceipt`` or the ``ChainError`` it hit.
    """

    def __init__(self, results: list[object]) -> None:
        failed = [r for r in results if isinstance(r, ChainError)]
        first = failed[0] if failed else None
        message = f"{len(failed)} of {len(results)} operations failed; first: {first}"
        Exception.__init__(self, message)  # not super(): ChainRejectedError takes other args
        self.results = results


class BatchRejectedError(BatchApplyError, ChainRejectedError):
    """An ``apply_many`` in which the chain refused at least one operation for good.

    ``op_id`` and ``reason`` are those of the first refused operation; ``results`` has all.
    """

    def __init__(self, results: list[object]) -> None:
        BatchApplyError.__init__(self, results)
        first = next(r for r in results if isinstance(r, OperationRejectedError))
        self.op_id = first.op_id
        self.reason = first.reason


def batch_error(results: list[object]) -> BatchApplyError:
    """The error for a batch with failures: ``BatchRejectedError`` if any op was refused."""
    if any(isinstance(r, OperationRejectedError) for r in results):
        return BatchRejectedError(results)
    return BatchApplyError(results)
