"""Where the official schemas and rule artefacts (XSD, Schematron/XSLT, JSON Schema) live.

FourFlow does not ship third-party artefacts. It reads them from a standards directory laid
out like the public collection in ``../shared/data`` (``ubl/xsd-2.1``, ``en16931/validation``,
``iso20022/xsd``, ``epcis/schema``, ``dcsa/schema`` ...). ``Settings.standards_dir``
(``FOURFLOW_STANDARDS_DIR``) names it and the platform passes it in with :func:`configure`;
without it, FourFlow looks for ``shared/data`` beside the project checkout (above
``Settings.project_root``, this file or the working directory).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fourflow.domain.errors import FourFlowError


class StandardsMissingError(FourFlowError, FileNotFoundError):
    """An official artefact FourFlow needs is not in the standards directory."""


_configured: dict[str, Path | None] = {"directory": None, "project_root": None}


def configure(directory: Path | None, project_root: Path | None = None) -> None:
    """Use ``directory`` as the standards directory (None: look beside the checkout).

    ``project_root`` is one more place to look above. Called by the platform with its
    settings; lookups made before are forgotten.
    """
    _configured["directory"] = directory
    _configured["project_root"] = project_root
    standards_dir.cache_clear()
    artefact.cache_clear()


def _candidates() -> list[Path]:
    found: list[Path] = []
    directory = _configured["directory"]
    if directory is not None:
        found.append(directory)
    roots = [Path(__file__).resolve(), Path.cwd().resolve()]
    project = _configured["project_root"]
    if project is not None:
        roots.insert(0, project.resolve())
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
        f"no standards directory (looked at {', '.join(str(c) for c in _candidates()[:3])} ...): "
        "set FOURFLOW_STANDARDS_DIR to the folder holding the official schemas (the layout of "
        "shared/data)"
    )


@cache
def artefact(*parts: str) -> Path:
    """A path inside the standards directory that must exist (looked up once per process)."""
    path = standards_dir().joinpath(*parts)
    if not path.exists():
        raise StandardsMissingError(f"{path} is missing from the standards directory")
    return path
