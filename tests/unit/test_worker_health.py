"""The worker's state file as ``GET /health`` reads it: kept while unchanged, read again when
``serve`` replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourflow.entrypoints.api import worker_health


def test_the_state_is_read_once_while_the_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "worker.json"
    worker_health.write(path, {"state": "running", "restarts": 0})
    reads: list[Path] = []
    real = Path.read_text

    def counted(self: Path, *args: object, **kwargs: object) -> str:
        reads.append(self)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", counted)
    first = worker_health.read(path)
    assert first == {"state": "running", "restarts": 0}
    first["state"] = "changed by a caller"  # a copy: the kept state is not touched
    assert worker_health.read(path) == {"state": "running", "restarts": 0}
    assert reads == [path]
    worker_health.write(path, {"state": "down", "restarts": 1})  # replaced: a new file
    assert worker_health.read(path) == {"state": "down", "restarts": 1}
    assert reads == [path, path]


def test_a_missing_or_broken_file_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "worker.json"
    assert worker_health.read(None) is None
    assert worker_health.read(path) == {"state": "unknown"}
    path.write_text("{not json", encoding="utf-8")
    assert worker_health.read(path) == {"state": "unknown"}
    path.write_text("[1, 2]", encoding="utf-8")
    assert worker_health.read(path) == {"state": "unknown"}
