"""``fourflow standards fetch``: install the official artefacts at their pinned SHA-256.

Every file of each artefact asked for is downloaded (from its official address in the manifest,
or from a mirror laid out like a standards directory: a local path, a ``file://`` URL or an
``http(s)://`` URL), each request bounded by a timeout and each body by the pinned size. Its
SHA-256 is checked before anything is placed: the files are staged in a private folder inside
the target, and only once every file of every artefact asked for has its pinned hash are the
artefact folders moved into place (one ``rename`` each; an artefact already there is replaced
as a whole). One mismatch or failed download refuses the fetch and deletes the staging folder:
nothing is kept, the target is as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlsplit
from urllib.request import url2pathname

from fourflow.adapters.documents.standards import (
    Artefact,
    ArtefactFile,
    by_name,
    manifest,
    missing_files,
)
from fourflow.domain.errors import FourFlowError

#: Default seconds one download may take to connect and between reads.
DEFAULT_TIMEOUT = 30.0
_CHUNK = 64 * 1024
_STAGING_PREFIX = ".fetch-"


class StandardsFetchError(FourFlowError, RuntimeError):
    """A download failed or a file's hash is not the pinned one: nothing was installed."""


@dataclass(frozen=True, slots=True)
class ArtefactState:
    """An artefact as found in a standards directory.

    Attributes:
        artefact: the manifest entry.
        missing: its files that are absent.
        altered: its files present with another SHA-256 than the pinned one (only when
            hashes were checked).
    """

    artefact: Artefact
    missing: tuple[str, ...]
    altered: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """``present``, ``missing`` (no file), ``incomplete`` or ``altered``."""
        if len(self.missing) == len(self.artefact.files):
            return "missing"
        if self.missing:
            return "incomplete"
        return "altered" if self.altered else "present"


@dataclass(slots=True)
class FetchResult:
    """What a fetch did.

    Attributes:
        target: the standards directory installed into.
        installed: the artefacts downloaded, verified and moved into place.
        already: the artefacts that were already present with their pinned hashes.
        bytes: bytes downloaded.
    """

    target: Path
    installed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    bytes: int = 0


#: Called after each file: (artefact name, file path, bytes of that file).
Progress = Callable[[str, str, int], None]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def inspect(root: Path, artefact: Artefact, *, verify: bool) -> ArtefactState:
    """The state of ``artefact`` in the standards directory ``root``."""
    missing = missing_files(root, artefact)
    altered: list[str] = []
    if verify:
        base = root / artefact.directory
        gone = set(missing)
        altered = [
            f.path
            for f in artefact.files
            if f.path not in gone and _sha256(base / f.path) != f.sha256
        ]
    return ArtefactState(artefact, tuple(missing), tuple(altered))


def status(root: Path, *, verify: bool = False) -> list[ArtefactState]:
    """Every manifest artefact's state in ``root`` (``verify``: also check each SHA-256)."""
    return [inspect(root, a, verify=verify) for a in manifest()]


def _address(file: ArtefactFile, artefact: Artefact, mirror: str | None) -> str:
    if mirror is None:
        return file.url
    rel = f"{artefact.directory}/{file.path}"
    if "://" in mirror:
        return f"{mirror.rstrip('/')}/{quote(rel)}"
    return str(Path(mirror) / rel)


def _open(address: str, timeout: float) -> IO[bytes]:
    scheme = urlsplit(address).scheme if "://" in address else ""
    if scheme == "file":
        return Path(url2pathname(urlsplit(address).path)).open("rb")
    if scheme in {"http", "https"}:
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            address, headers={"User-Agent": "fourflow-standards"}
        )
        response: IO[bytes] = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
        return response
    if scheme:
        raise StandardsFetchError(f"{address}: only http(s), file URLs and local paths are read")
    return Path(address).open("rb")


def _download(
    file: ArtefactFile, artefact: Artefact, address: str, dest: Path, timeout: float
) -> int:
    """Copy ``address`` to ``dest``, refusing more than the pinned size or another hash.

    ``timeout`` bounds the connection, each read, and the whole file."""
    digest = hashlib.sha256()
    size = 0
    deadline = time.monotonic() + timeout
    try:
        with _open(address, timeout) as source, dest.open("wb") as out:
            while chunk := source.read(_CHUNK):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"took longer than {timeout:g} s")
                size += len(chunk)
                if size > file.size:
                    raise StandardsFetchError(
                        f"{artefact.name}: {file.path} from {address} is larger than the pinned "
                        f"{file.size} bytes: refused, nothing installed"
                    )
                digest.update(chunk)
                out.write(chunk)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise StandardsFetchError(
            f"{artefact.name}: cannot download {file.path} from {address}: {exc}; nothing installed"
        ) from None
    found = digest.hexdigest()
    if found != file.sha256:
        raise StandardsFetchError(
            f"{artefact.name}: {file.path} from {address} has SHA-256 {found}, not the pinned "
            f"{file.sha256}: refused, nothing installed"
        )
    return size


def fetch(
    target: Path,
    *,
    only: Sequence[str] = (),
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    force: bool = False,
    progress: Progress | None = None,
) -> FetchResult:
    """Install the artefacts ``only`` (default: all) into ``target`` (see the module doc).

    Raises:
        StandardsFetchError: a download failed or a hash differs; ``target`` is unchanged.
        StandardsMissingError: an unknown artefact name.
    """
    wanted = [by_name(n) for n in dict.fromkeys(only)] if only else list(manifest())
    result = FetchResult(target)
    todo: list[Artefact] = []
    for artefact in wanted:
        if not force and inspect(target, artefact, verify=True).state == "present":
            result.already.append(artefact.name)
        else:
            todo.append(artefact)
    if not todo:
        return result
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f"{_STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        for artefact in todo:
            base = staging / artefact.name
            for file in artefact.files:
                dest = base / file.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                address = _address(file, artefact, mirror)
                result.bytes += _download(file, artefact, address, dest, timeout)
                if progress is not None:
                    progress(artefact.name, file.path, file.size)
        for artefact in todo:  # every file of every artefact verified: move them into place
            _install(staging / artefact.name, target / artefact.directory)
            result.installed.append(artefact.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not result.installed:
            with contextlib.suppress(OSError):
                target.rmdir()  # made for this fetch, which installed nothing
    return result


def _install(staged: Path, final: Path) -> None:
    """Put ``staged`` at ``final`` by rename, replacing what was there as a whole."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old: Path | None = None
    if final.exists():
        old = final.with_name(f"{_STAGING_PREFIX}old-{final.name}-{secrets.token_hex(4)}")
        final.rename(old)
    try:
        staged.rename(final)
    except OSError:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
