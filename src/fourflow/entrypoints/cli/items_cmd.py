"""CLI commands for debt items and warehouse receipts (registered by main)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``item``, ``receipt`` and ``consortium`` commands to the ``fourflow`` app."""
