"""`--as ORG` acts as another organisation only in homes created as demos or simulations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import typer
from typer.testing import CliRunner

from fourflow.entrypoints.cli.home_mode import MARK_FILE
from fourflow.entrypoints.cli.main import app
from tests.integration.conftest import Run, run  # noqa: F401  (run: the fixture)

SUPPLIER = "91110000600037341L"


class Cli(Protocol):
    """The ``cli`` fixture: ``fourflow`` with these arguments, answering (code, output as one line)."""

    def __call__(self, *args: str) -> tuple[int, str]: ...


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``fourflow`` on an empty home (no chain: the refusals come before anything opens)."""
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOURFLOW_KEYSTORE_PASSWORD", "home-mode-test")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        text = result.stdout + result.stderr
        for box in "│╭╮╰╯─":  # rich's error panel
            text = text.replace(box, " ")
        return result.exit_code, " ".join(text.split())

    return invoke


@pytest.mark.parametrize(
    "args",
    [
        ("item", "list", "--as", SUPPLIER),
        ("item", "split", "h-1", "1.00", "--as", SUPPLIER),
        ("item", "confirm", "item-1", "--as", SUPPLIER),
        ("item", "issue", "trade-1", "--confirm"),
        ("finance", "request", "item-1", "--bank", "b", "--amount", "1", "--as", SUPPLIER),
        ("governance", "vote", "1", "--as", SUPPLIER),
        ("ingest", "nowhere", "--as", SUPPLIER),
        ("ingest", "nowhere", "--as", "operator", "--senders", "senders.jsonl"),
        ("sign", "file.xml", "--as", SUPPLIER),
        ("route", "lock", "item-1", "--as", SUPPLIER),
        ("route", "change", "item-1", "--as", "operator", "--signer", SUPPLIER),
        ("org", "account", "set", "--as", SUPPLIER, "--bank", "b", "--account", "1"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_acting_as_another_organisation_is_refused_in_a_platform_home(
    cli: Cli, args: tuple[str, ...]
) -> None:
    code, out = cli(*args)
    assert code == 2, out
    assert "only demo and simulation homes allow" in out and "fourflow serve" in out


def test_acting_as_the_operator_is_not_acting_as_another(cli: Cli) -> None:
    _code, out = cli("ingest", "nowhere", "--as", "operator")
    assert "only demo and simulation homes allow" not in out


def test_a_marked_home_allows_it(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / MARK_FILE).write_text("simulation\n")
    _code, out = cli("item", "split", "h-1", "1.00", "--as", SUPPLIER)
    assert "only demo and simulation homes allow" not in out


@pytest.mark.chain
def test_homes_are_marked_when_created_and_only_then(run: Run, tmp_path: Path) -> None:  # noqa: F811
    home = tmp_path / "home"
    code, _, err = run("init")
    assert code == 0, err
    assert not (home / MARK_FILE).exists()
    code, _, err = run("init", "--demo")  # a platform home never becomes a demo home
    assert code == 1 and "already holds a platform" in " ".join(err.split())
    code, _, err = run("demo", "--json")
    assert code == 1 and "already holds a platform" in " ".join(err.split())
    code, _, err = run("item", "list", "--as", SUPPLIER)
    panel = " ".join("".join(" " if c in "│╭╮╰╯─" else c for c in err).split())
    assert code == 2 and "only demo and simulation homes allow" in panel


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every leaf command under a (Typer's) click group, with its path."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def test_every_acting_option_of_the_cli_is_guarded() -> None:
    """Every ``--as`` (and ``--signer``) option of every command goes through the home-mode
    check, so a new command cannot act as another organisation in a platform home."""
    root = typer.main.get_command(app)
    acting = [
        (path, param)
        for path, command in _commands(root)
        for param in command.params
        if {"--as", "--signer"} & set(param.opts)
    ]
    assert len(acting) > 20
    unguarded = [path for path, param in acting if param.callback is None]
    assert unguarded == []
