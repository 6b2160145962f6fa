"""Every variable ``Settings.from_env`` reads is in README's configuration table and in
docs/architecture.md's Settings table: a new user finds each setting where the README says
they all are."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from fourflow.bootstrap import Settings

ROOT = Path(__file__).resolve().parents[2]


def _read() -> list[str]:
    found = re.findall(r"\"(FOURFLOW_[A-Z0-9_]+)\"", inspect.getsource(Settings.from_env))
    return sorted(set(found))


def _section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_every_setting_read_is_documented_in_both_tables() -> None:
    read = _read()
    assert len(read) >= 25 and "FOURFLOW_HOME" in read
    readme = _section(ROOT / "README.md", "## Configuration")
    architecture = _section(ROOT / "docs" / "architecture.md", "## Settings")
    assert [v for v in read if f"`{v}`" not in readme] == []
    assert [v for v in read if f"| `{v}` |" not in architecture] == []
