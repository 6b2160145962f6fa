"""Where the official schemas and rule artefacts (XSD, Schematron/XSLT, JSON Schema) live.

FourFlow does not ship third-party artefacts. It reads them from one standards directory laid
out like the public collection in ``../shared/data`` (``ubl/xsd-2.1``, ``en16931/validation``,
``iso20022/xsd``, ``epcis/schema``, ``dcsa/schema`` ...), and ``fourflow standards fetch``
fills it from the official addresses at the SHA-256 pinned in the package's manifest
(``standards_manifest.json``, :func:`manifest`; the download is
:mod:`fourflow.adapters.documents.standards_fetch`).

Which directory: ``Settings.standards_dir`` (``FOURFLOW_STANDARDS_DIR``) when set, and then
only that one; otherwise ``<FOURFLOW_HOME>/standards`` once ``fourflow standards fetch`` has
made it; otherwise ``shared/data`` beside the project checkout (a development tree). The
platform passes the settings in with :func:`configure`.

A validator asking for a file of a manifest artefact that is absent (or incomplete) gets a
:class:`StandardsMissingError` naming the artefact, the missing file and the fetch command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath

from fourflow.domain.errors import FourFlowError

MANIFEST_RESOURCE = "standards_manifest.json"


class StandardsMissingError(FourFlowError, FileNotFoundError):
    """An official artefact FourFlow needs is not in the standards directory."""


@dataclass(frozen=True, slots=True)
class ArtefactFile:
    """One pinned file of an artefact.

    Attributes:
        path: its path inside the artefact's directory (POSIX).
        url: its official address (at a fixed release or commit).
        sha256: the SHA-256 of the official file (hex).
        size: its size in bytes.
    """

    path: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Artefact:
    """A set of official files the validators read, installed under one directory.

    Attributes:
        name: the short name ``fourflow standards fetch --only`` takes (``ubl-2.1``).
        title: what it is.
        version: its release.
        directory: where it goes in the standards directory (POSIX, ``ubl/xsd-2.1``).
        used_by: the validators that read it.
        license: its licence as published.
        origin: the repositories and commits whose bytes the pins were checked against.
        files: the pinned files.
    """

    name: str
    title: str
    version: str
    directory: str
    used_by: tuple[str, ...]
    license: str
    origin: tuple[str, ...]
    files: tuple[ArtefactFile, ...]

    @property
    def size(self) -> int:
        """The artefact's size in bytes."""
        return sum(f.size for f in self.files)

    def fetch_command(self) -> str:
        """The command that installs this artefact."""
        return f"fourflow standards fetch --only {self.name}"


@cache
def manifest() -> tuple[Artefact, ...]:
    """The artefacts pinned in the package's manifest (read once per process)."""
    text = (
        resources.files("fourflow.adapters.documents")
        .joinpath(MANIFEST_RESOURCE)
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    return tuple(
        Artefact(
            name=a["name"],
            title=a["title"],
            version=a["version"],
            directory=a["directory"],
            used_by=tuple(a["used_by"]),
            license=a["license"],
            origin=tuple(a["origin"]),
            files=tuple(
                ArtefactFile(f["path"], f["url"], f["sha256"], int(f["size"])) for f in a["files"]
            ),
        )
        for a in data["artefacts"]
    )


def by_name(name: str) -> Artefact:
    """The manifest artefact called ``name``; a clear error listing the names otherwise."""
    for artefact_ in manifest():
        if artefact_.name == name:
            return artefact_
    names = ", ".join(a.name for a in manifest())
    raise StandardsMissingError(f"no standards artefact {name!r} (known: {names})")


def owner(parts: tuple[str, ...]) -> Artefact | None:
    """The manifest artefact whose directory holds the relative path ``parts``."""
    rel = PurePosixPath(*parts)
    for artefact_ in manifest():
        if rel.is_relative_to(artefact_.directory):
            return artefact_
    return None


_configured: dict[str, Path | None] = {"directory": None, "project_root": None, "home": None}


def configure(
    directory: Path | None, project_root: Path | None = None, home: Path | None = None
) -> None:
    """Use ``directory`` as the standards directory (None: ``home/standards`` if it exists,
    else ``shared/data`` beside the checkout, looked for above ``project_root``, this file
    and the working directory). Called by the platform with its settings; lookups made
    before are forgotten."""
    _configured["directory"] = directory
    _configured["project_root"] = project_root
    _configured["home"] = home
    standards_dir.cache_clear()
    artefact.cache_clear()
    _complete.cache_clear()


def fetch_target() -> Path:
    """Where ``fourflow standards fetch`` installs: the setting, else ``home/standards``."""
    directory = _configured["directory"]
    if directory is not None:
        return directory
    home = _configured["home"]
    if home is None:
        raise StandardsMissingError(
            "no standards directory to fetch into: set FOURFLOW_STANDARDS_DIR (or FOURFLOW_HOME)"
        )
    return home / "standards"


def _candidates() -> list[Path]:
    directory = _configured["directory"]
    if directory is not None:
        return [directory]  # the one setting: nothing else is looked at
    found: list[Path] = []
    home = _configured["home"]
    if home is not None:
        found.append(home / "standards")
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
    candidates = _candidates()
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise StandardsMissingError(
        f"no standards directory (looked at {', '.join(str(c) for c in candidates[:3])}"
        f"{' ...' if len(candidates) > 3 else ''}): run `fourflow standards fetch` to download "
        "the official schemas, or set FOURFLOW_STANDARDS_DIR to a folder holding them (the "
        "layout of shared/data)"
    )


def missing_files(root: Path, artefact_: Artefact) -> list[str]:
    """The files of ``artefact_`` absent from the standards directory ``root``."""
    base = root / artefact_.directory
    return [f.path for f in artefact_.files if not (base / f.path).is_file()]


def missing_error(root: Path, artefact_: Artefact, missing: list[str]) -> StandardsMissingError:
    """The error naming an absent or incomplete artefact, its files and the fetch command."""
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    state = "missing" if len(missing) == len(artefact_.files) else "incomplete"
    return StandardsMissingError(
        f"the official artefact {artefact_.name!r} ({artefact_.title}) is {state} in the "
        f"standards directory {root}: {artefact_.directory}/ lacks {shown}; run "
        f"`{artefact_.fetch_command()}` (or set FOURFLOW_STANDARDS_DIR to a folder that has it)"
    )


@cache
def _complete(name: str) -> None:
    """Raise unless every file of the artefact ``name`` is present (checked once)."""
    root = standards_dir()
    artefact_ = by_name(name)
    missing = missing_files(root, artefact_)
    if missing:
        raise missing_error(root, artefact_, missing)


def require(name: str) -> Path:
    """The directory of the artefact ``name``, every file present; a clear error otherwise."""
    _complete(name)
    return standards_dir() / by_name(name).directory


def missing_path_error(path: Path) -> StandardsMissingError:
    """The error for a file a validator needs that is absent, naming its artefact if known."""
    try:
        root = standards_dir()
        parts = path.relative_to(root).parts
    except (StandardsMissingError, ValueError):
        return StandardsMissingError(f"{path} is missing from the standards directory")
    owning = owner(parts)
    if owning is None:
        return StandardsMissingError(
            f"{path} is missing from the standards directory (no manifest artefact holds it)"
        )
    rel = PurePosixPath(*parts).relative_to(owning.directory).as_posix()
    return missing_error(root, owning, [rel, *[m for m in missing_files(root, owning) if m != rel]])


@cache
def artefact(*parts: str) -> Path:
    """A path inside the standards directory that must exist (looked up once per process).

    A path of a manifest artefact also needs the rest of that artefact (an XSD's imports, a
    Schematron's includes): an incomplete artefact is refused with its name and fetch command.
    """
    owning = owner(parts)
    try:
        path = standards_dir().joinpath(*parts)
    except StandardsMissingError as exc:
        if owning is None:
            raise
        raise StandardsMissingError(
            f"the official artefact {owning.name!r} ({owning.title}) is needed, but {exc}"
        ) from None
    if owning is not None:
        try:
            _complete(owning.name)
        except StandardsMissingError:
            if path.exists():
                raise
            raise missing_path_error(path) from None  # the file asked for named first
    if not path.exists():
        raise missing_path_error(path)
    return path
