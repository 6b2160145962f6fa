"""Where the official schemas and rule artefacts (XSD, Schematron/XSLT, JSON Schema) live.

FourFlow does not ship third-party artefacts. It reads them from a standards directory laid
out like the public collection in ``../shared/data`` (``ubl/xsd-2.1``, ``en16931/validation``,
``iso20022/xsd``, ``epcis/schema``, ``dcsa/schema`` ...): ``FOURFLOW_STANDARDS_DIR`` names it;
without it, FourFlow looks for ``shared/data`` beside the project checkout.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from fourflow.domain.errors import FourFlowError


class StandardsMissingError(FourFlowError, FileNotFoundError):
    """An official artefact FourFlow needs is not in the standards directory."""


def _candidates() -> list[Path]:
    found: list[Path] = []
    env = os.environ.get("FOURFLOW_STANDARDS_DIR")
    if env:
        found.append(Path(env))
    roots = [Path(__file__).resolve(), Path.cwd().resolve()]
    project = os.environ.get("FOURFLOW_PROJECT_ROOT")
    if project:
        roots.insert(0, Path(project).resolve())
    for start in roots:
        for parent in (start, *start.parents):
            found.append(parent / "shared" / "data")
    return found


@cache
def standards_dir() -> Path:
    """The standards directory (cached for the process)."""
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    raise StandardsMissingError(
        "no standards directory: set FOURFLOW_STANDARDS_DIR to the folder holding the official "
        "schemas (the layout of shared/data)"
    )


@cache
def artefact(*parts: str) -> Path:
    """A path inside the standards directory that must exist (looked up once per process)."""
    path = standards_dir().joinpath(*parts)
    if not path.exists():
        raise StandardsMissingError(f"{path} is missing from the standards directory")
    return path
