"""The state of the worker ``fourflow serve`` runs beside the API, as its API processes see it.

``serve`` (its supervisor thread, server.WorkerSupervisor) writes the state to a small JSON
file in the home at each change (written whole, then renamed: a reader never sees half of it)
and names the file in ``FOURFLOW_SERVE_WORKER_STATE`` for its API processes (one or several:
they inherit the environment), whose ``GET /health`` reads it. Without the variable (no worker
beside this API: ``--no-worker``, tests, another process manager) there is no state."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: The environment variable naming the state file (set by ``serve`` for its own processes).
STATE_ENV = "FOURFLOW_SERVE_WORKER_STATE"

#: Worker states in which the relay and the scheduled jobs do not run.
DOWN = frozenset({"down", "failed"})


def write(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file with ``state`` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(part, path)


def read() -> dict[str, Any] | None:
    """The worker's state as ``serve`` last wrote it; None when this API has no worker beside
    it; ``{"state": "unknown"}`` when the file cannot be read."""
    name = os.environ.get(STATE_ENV)
    if not name:
        return None
    try:
        state = json.loads(Path(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "unknown"}
    return state if isinstance(state, dict) else {"state": "unknown"}
