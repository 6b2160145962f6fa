"""Acting as another organisation (``--as ORG``) exists only in demo and simulation homes.

A home is marked when it is created as one (``fourflow init --demo`` or ``--simulation``, or
``fourflow demo`` on a fresh home); the mark is a file in the home beside its keys. In any
other home the CLI is the operator's tool: it acts as the operator only, and every other party
signs in to the API as itself (``fourflow serve``, docs/api.md).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from fourflow.bootstrap import Settings
from fourflow.domain.errors import ConflictError

MARK_FILE = "home-mode"


class HomeMode(StrEnum):
    """What a home was created as."""

    DEMO = "demo"
    SIMULATION = "simulation"


REFUSAL = (
    "{option} acts as another organisation, which only demo and simulation homes allow "
    "(created with `fourflow init --demo` or `--simulation`, or by `fourflow demo`); {home} is "
    "a platform home: there each party signs in to the API as itself (`fourflow serve`, "
    "docs/api.md)"
)


def mode_of(home: Path) -> HomeMode | None:
    """The home's mark, or None for a platform home."""
    path = home / MARK_FILE
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8").strip()
    try:
        return HomeMode(text)
    except ValueError:
        raise ConflictError(f"{path}: unknown home mode {text!r}") from None


def mark(home: Path, mode: HomeMode, *, fresh: bool) -> None:
    """Mark ``home`` as a demo or simulation home; only a home being created (``fresh``: no
    platform yet) can be marked, and a mark never changes."""
    current = mode_of(home)
    if current is mode:
        return
    if current is not None:
        raise ConflictError(
            f"{home} is a {current.value} home; it cannot become a {mode.value} home"
        )
    if not fresh:
        raise ConflictError(
            f"{home} already holds a platform: only a new home can be created as a "
            f"{mode.value} home (use another FOURFLOW_HOME)"
        )
    home.mkdir(parents=True, exist_ok=True)
    (home / MARK_FILE).write_text(mode.value + "\n", encoding="utf-8")


def allow_acting(home: Path, option: str) -> None:
    """Refuse (exit 2, naming the option) unless ``home`` is a demo or simulation home."""
    if mode_of(home) is None:
        raise typer.BadParameter(REFUSAL.format(option=option, home=home))


def as_org_callback(value: str | None) -> str | None:
    """Typer callback of ``--as``: acting as ``operator`` is the operator itself; acting as
    any other organisation needs a demo or simulation home."""
    if value is None or value == "operator":
        return value
    allow_acting(Settings.from_env().home, f"--as {value}")
    return value


def acting_flag_callback(value: bool) -> bool:
    """Typer callback of a flag that acts for another party (``item issue --confirm`` signs
    the debtor's confirmation)."""
    if value:
        allow_acting(Settings.from_env().home, "this option")
    return value


def acting_path_callback(value: Path | None) -> Path | None:
    """Typer callback of ``ingest --senders`` (submits as each member it names)."""
    if value is not None:
        allow_acting(Settings.from_env().home, "--senders")
    return value
