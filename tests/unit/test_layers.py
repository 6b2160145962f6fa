"""The pure layers import nothing outside the standard library (DESIGN.md, Layers)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "fourflow"
PURE = ("domain", "verification")
# Pure computation libraries the analytics layers may use (no I/O, no frameworks).
ALLOWED = {"verification": {"networkx"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", PURE)
def test_pure_layers_use_only_the_standard_library(layer: str) -> None:
    allowed_own = {"fourflow.domain", *(f"fourflow.{p}" for p in PURE)}
    offenders = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "fourflow":
                if not any(name == a or name.startswith(a + ".") for a in allowed_own):
                    offenders.append(f"{path.name}: {name}")
            elif top in ALLOWED.get(layer, set()):
                continue
            elif top != "__future__" and top not in sys.stdlib_module_names:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []
