"""The state of the worker ``fourflow serve`` runs beside the API, as its API processes see it.

``serve`` (its supervisor thread, server.WorkerSupervisor) writes the state to a small JSON
file in the home at each change (written whole, then renamed: a reader never sees half of it)
and names the file in its API processes' settings (``Settings.serve_worker_state``: one
process is given it in code; several inherit ``FOURFLOW_SERVE_WORKER_STATE``), whose
``GET /health`` reads it. Without it (no worker beside this API: ``--no-worker``, tests, another
process manager) there is no state."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: Worker states in which the relay and the scheduled jobs do not run.
DOWN = frozenset({"down", "failed"})

#: The last state read from each file, by the file's identity (inode, size, modification
#: time in ns): a ``GET /health`` costs a ``stat`` while the file is unchanged, not a read
#: and a parse.
_last: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def write(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file with ``state`` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(part, path)


def read(path: Path | None) -> dict[str, Any] | None:
    """The worker's state as ``serve`` last wrote it to ``path``; None when this API has no
    worker beside it (no path); ``{"state": "unknown"}`` when the file cannot be read."""
    if path is None:
        return None
    try:
        stat = path.stat()
        identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        kept = _last.get(path)
        if kept is not None and kept[0] == identity:
            return dict(kept[1])
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "unknown"}
    if not isinstance(state, dict):
        return {"state": "unknown"}
    _last[path] = (identity, state)  # a replaced file is a new inode: read again
    return dict(state)
