"""CLI commands for documents: ingest, validate, prove, verify-proof (registered by main)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the document commands to the ``fourflow`` app."""
