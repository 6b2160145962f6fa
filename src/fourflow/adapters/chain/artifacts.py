"""Compile FourFlow's Vyper contracts on first use and cache their ABI and bytecode.

Sources are the ``*.vy`` files of the package ``fourflow.contracts``. A compiled artifact is
cached as ``<home>/artifacts/<Name>-<key>.json`` where ``key`` is the SHA-256 of every source
in the contracts directory, the vyper version and the snekmate version: a contract's bytecode
depends on the modules it imports, so any change to any of them makes a new key. The
platform passes ``Settings.artifacts_cache`` (``~/.cache/fourflow`` by default, shared by every
home) as ``home``; a process also remembers what it has compiled or read.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fourflow.adapters.chain.errors import ContractBuildError

CONTRACT_NAMES = (
    "Registry",
    "Notary",
    "DebtItem",
    "SettlementToken",
    "WarehouseReceipt",
    "Issuer",
    "Governance",
    "Repayment",
)


#: Artifacts this process has compiled or read, by (source path, cache key): compiling the
#: contracts takes tens of seconds, and a process may open many homes (tests, simulations).
_COMPILED: dict[tuple[str, str], Artifact] = {}


@dataclass(frozen=True, slots=True)
class Artifact:
    """A compiled contract.

    Attributes:
        name: contract name (the source file's stem, ``DebtItem``).
        abi: the ABI as a list of JSON objects.
        bytecode: deployment bytecode, ``0x``-prefixed hex.
        key: the cache key it was built under (SHA-256 hex).
        compiler: the vyper version that built it.
    """

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    key: str
    compiler: str


def contracts_dir() -> Path:
    """The directory holding the Vyper sources of ``fourflow.contracts``."""
    root = importlib.resources.files("fourflow.contracts")
    for entry in root.iterdir():
        if entry.name.endswith(".vy") and isinstance(entry, Path):
            return entry.parent
    raise ContractBuildError("no Vyper sources found in package fourflow.contracts")


def load_artifacts(
    home: str | os.PathLike[str] | None, *, source_dir: Path | None = None
) -> dict[str, Artifact]:
    """Every FourFlow contract, compiled or read from the cache under ``home``."""
    return {name: load_artifact(name, home, source_dir=source_dir) for name in CONTRACT_NAMES}


def load_artifact(
    name: str, home: str | os.PathLike[str] | None, *, source_dir: Path | None = None
) -> Artifact:
    """One contract, from ``<home>/artifacts`` if cached, else compiled (and then cached).

    ``home=None`` compiles without caching.
    """
    directory = source_dir or contracts_dir()
    source_path = directory / f"{name}.vy"
    if not source_path.is_file():
        raise ContractBuildError(f"contract source {source_path} does not exist")
    key = cache_key(directory)
    remembered = _COMPILED.get((str(source_path), key))
    if remembered is not None:
        if home is not None and not (Path(home) / "artifacts" / f"{name}-{key}.json").is_file():
            _write_cache(Path(home) / "artifacts" / f"{name}-{key}.json", remembered)
        return remembered
    cache = Path(home) / "artifacts" / f"{name}-{key}.json" if home is not None else None
    if cache is not None and cache.is_file():
        cached = _read_cache(cache)
        if cached is not None:
            _COMPILED[(str(source_path), key)] = cached
            return cached
    artifact = compile_contract(source_path, key)
    _COMPILED[(str(source_path), key)] = artifact
    if cache is not None:
        _write_cache(cache, artifact)
    return artifact


def cache_key(source_dir: Path) -> str:
    """SHA-256 over every source in ``source_dir`` and the compiler and snekmate versions."""
    digest = hashlib.sha256()
    digest.update(f"vyper {_version('vyper')}\nsnekmate {_version('snekmate')}\n".encode())
    for path in sorted(source_dir.glob("*.vy")):
        digest.update(f"{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def compile_contract(source_path: Path, key: str = "") -> Artifact:
    """Compile one Vyper source with imports resolved from its directory and site-packages."""
    # Imported here: loading the compiler takes a while and cached artifacts never need it.
    from vyper.compiler import compile_code  # noqa: PLC0415
    from vyper.compiler.input_bundle import FilesystemInputBundle  # noqa: PLC0415

    # Like the vyper CLI: sys.path (where `snekmate` is installed) has the lowest precedence,
    # the contract's own directory the highest.
    search_paths = [Path(p) for p in reversed(sys.path) if p] + [source_path.parent]
    try:
        output = compile_code(
            source_path.read_text(encoding="utf-8"),
            contract_path=source_path,
            input_bundle=FilesystemInputBundle(search_paths),
            output_formats=["abi", "bytecode"],
        )
    except Exception as exc:  # vyper raises many unrelated exception types
        raise ContractBuildError(f"{source_path.name} does not compile: {exc}") from exc
    return Artifact(
        name=source_path.stem,
        abi=list(output["abi"]),
        bytecode=str(output["bytecode"]),
        key=key,
        compiler=_version("vyper"),
    )


def _read_cache(path: Path) -> Artifact | None:
    """An artifact from its cache file, or None when the file is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Artifact(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_cache(path: Path, artifact: Artifact) -> None:
    """Write an artifact's cache file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    payload = {
        "name": artifact.name,
        "abi": artifact.abi,
        "bytecode": artifact.bytecode,
        "key": artifact.key,
        "compiler": artifact.compiler,
    }
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, path)


def _version(distribution: str) -> str:
    """The installed version of a distribution, or ``unknown``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
