"""Every ``fourflow`` command the README and docs/ name (in code: `` `fourflow ...` `` or
``.venv/bin/fourflow ...``) exists in the CLI: a new user copying one gets the command, not
"No such command"."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from fourflow.entrypoints.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
NAMED = re.compile(r"(?:`|bin/)fourflow((?: [a-z][a-z0-9-]*)+)")


def _missing(root: object, words: list[str]) -> str | None:
    """The first of ``words`` that names no subcommand where one is needed, else None.

    ``root`` is the click command Typer builds (from its own vendored click: read by attribute).
    """
    command, path = root, ["fourflow"]
    for word in words:
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            return None  # a command: the rest are its arguments
        if word not in subcommands:
            return " ".join([*path, word])
        command = subcommands[word]
        path.append(word)
    return None


def test_every_command_the_docs_name_exists() -> None:
    root = typer.main.get_command(app)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found, missing = 0, []
    for page in pages:
        for match in NAMED.finditer(page.read_text(encoding="utf-8")):
            found += 1
            wrong = _missing(root, match.group(1).split())
            if wrong is not None:
                missing.append(f"{page.relative_to(ROOT)}: {wrong}")
    assert found > 200
    assert missing == []
