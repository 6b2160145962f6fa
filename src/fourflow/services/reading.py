"""The document-reading port: adapters parse bytes into domain documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fourflow.domain.documents import Document
from fourflow.domain.errors import FourFlowError
from fourflow.domain.parties import Organisation
from fourflow.domain.scenarios import Scenario


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """One document read from submitted bytes.

    Attributes:
        document: the mapped domain document (its ``id`` already assigned).
        canonical: the canonical bytes its content fingerprint is taken over.
        raw: the submitted bytes of this document.
        media_type: the media type of ``raw``.
        scenario: the scenario the submitter declared, if any.
        findings: what the business rules warn about (``code``, ``flag``, ``message``,
            ``location``); a fatal rule refuses the document instead.
    """

    document: Document
    canonical: bytes
    raw: bytes
    media_type: str
    scenario: Scenario | None = None
    findings: tuple[Mapping[str, str], ...] = ()


class DocumentReader(Protocol):
    """Detects a document's format from its content and maps it to domain documents."""

    def read(self, raw: bytes, *, source: str) -> list[ParsedDocument]:
        """Parse ``raw`` (from ``source``, a path or name for messages).

        Raises ``DocumentRejectedError`` naming every problem and where it is.
        """
        ...


@runtime_checkable
class GroupReader(DocumentReader, Protocol):
    """A reader that also reads a group of files at once (faster than one after the other)."""

    def read_many(
        self, files: Sequence[tuple[bytes, str]]
    ) -> list[list[ParsedDocument] | FourFlowError]:
        """``read`` of each ``(raw, source)``, in order: each file's documents, or the
        error ``read`` raises for it."""
        ...


class SignatureVerifier(Protocol):
    """Checks that an organisation signed a file's bytes (secp256k1/EIP-191 or SM2)."""

    def __call__(
        self, signature: Mapping[str, object], raw: bytes, org: Organisation
    ) -> Mapping[str, str]:
        """Return what to keep with the documents, or raise ``DomainValueError``."""
        ...
