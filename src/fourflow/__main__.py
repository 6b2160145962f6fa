"""``python -m fourflow`` runs the CLI."""

from fourflow.entrypoints.cli.main import main

main()
