"""Compiled contracts are cached by the hash of their sources: compiled once per machine (the
shared cache) and once per process, never once per home."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourflow.adapters.chain import artifacts
from fourflow.adapters.chain.artifacts import Artifact, cache_key, load_artifact
from fourflow.bootstrap import Settings


def test_the_shared_cache_defaults_to_the_users_cache_folder(tmp_path: Path) -> None:
    env = {"FOURFLOW_HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert Settings.from_env(env).artifacts_cache == tmp_path / "xdg" / "fourflow"
    env["FOURFLOW_ARTIFACTS_CACHE"] = str(tmp_path / "mine")
    assert Settings.from_env(env).artifacts_cache == tmp_path / "mine"


def _sources(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Tiny.vy").write_text(
        f"# pragma version ~=0.4.0\n@external\n@view\ndef f() -> uint256:\n    return {body}\n",
        encoding="utf-8",
    )
    return folder


def test_a_contract_compiles_once_then_comes_from_memory_or_any_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _sources(tmp_path / "src", "7")
    compiled: list[str] = []
    real = artifacts.compile_contract

    def counting(path: Path, key: str = "") -> Artifact:
        compiled.append(path.name)
        return real(path, key)

    monkeypatch.setattr(artifacts, "compile_contract", counting)
    monkeypatch.setattr(artifacts, "_COMPILED", {})
    first = load_artifact("Tiny", tmp_path / "cache", source_dir=sources)
    again = load_artifact("Tiny", tmp_path / "another-home", source_dir=sources)
    assert compiled == ["Tiny.vy"]
    assert again == first
    assert (tmp_path / "cache" / "artifacts" / f"Tiny-{cache_key(sources)}.json").is_file()

    # A new process (an empty memory) reads the shared cache instead of compiling.
    monkeypatch.setattr(artifacts, "_COMPILED", {})
    assert load_artifact("Tiny", tmp_path / "cache", source_dir=sources) == first
    assert compiled == ["Tiny.vy"]

    # Any change to a source is a new key: compiled again, never served stale.
    _sources(sources, "8")
    changed = load_artifact("Tiny", tmp_path / "cache", source_dir=sources)
    assert compiled == ["Tiny.vy", "Tiny.vy"]
    assert changed.bytecode != first.bytecode
