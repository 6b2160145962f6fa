"""FourFlow installs as software: the wheel built from the tree carries the package data it needs
at run time (contracts, migrations, schemas, the standards manifest) and none of the third-party
artefacts; installed offline into a fresh virtual environment it runs the CLI, migrates a new
store, compiles a contract, and fetches and uses the official schemas from a local mirror.

Offline: the wheel is built by ``uv build --offline`` (setuptools from uv's cache, as ``make
setup`` left it) and installed by ``uv pip install --offline`` with ``requirements.lock`` as
constraints (the dependencies from the same cache). One test, in its own xdist group.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fourflow.adapters.documents import standards

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "fourflow"
SHARED = standards.standards_dir()  # ../shared/data: the local mirror
ORDER = SHARED / "ubl" / "examples-2.1" / "UBL-Order-2.1-Example.xml"
TIMEOUT = 600  # seconds for any one step on a loaded machine


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")
    if found.is_file():
        return str(found)
    which = shutil.which("uv")
    assert which, "uv is not installed (make setup installs it into .venv)"
    return which


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=cwd,
        check=False,
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _build(tmp_path: Path) -> Path:
    """The wheel of the tree, built from a copy (nothing is written into the checkout)."""
    tree = tmp_path / "tree"
    (tree / "src").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(
        SRC, tree / "src" / "fourflow", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    out = tmp_path / "dist"
    _run(_uv(), "build", "--wheel", "--offline", "--quiet", "--out-dir", out, tree, cwd=tree)
    (wheel,) = out.glob("fourflow-*.whl")
    return wheel


def test_the_wheel_installs_offline_and_runs(tmp_path: Path) -> None:
    wheel = _build(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {
        p.relative_to(SRC.parent).as_posix()
        for pattern in (
            "contracts/*.vy",
            "adapters/db/migrations/*.py",
            "adapters/db/migrations/versions/*.py",
            "adapters/db/migrations/script.py.mako",
            "adapters/documents/schemas/*.json",
            "adapters/documents/standards_manifest.json",
            "py.typed",
            "webui/*.html",  # the web app, built by make setup (docs/web.md)
            "webui/assets/*",
        )
        for p in SRC.glob(pattern)
    }
    assert len([n for n in package if n.endswith(".vy")]) >= 8
    assert "fourflow/webui/index.html" in names, "the built web app is not in the wheel"
    assert package <= names, sorted(package - names)
    # Third-party artefacts are fetched, never shipped.
    shipped = [n for n in names if n.endswith((".xsd", ".sch", ".xslt", ".yaml", ".jsonld"))]
    assert shipped == []

    # pip itself takes it (no index, no dependencies: the metadata and layout it installs).
    target = tmp_path / "pip-target"
    _run(
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--no-index", "--target", target, wheel,
    )  # fmt: skip
    assert (target / "fourflow" / "adapters" / "documents" / "standards_manifest.json").is_file()
    assert "fourflow.entrypoints.cli.main" in (target / "bin" / "fourflow").read_text()

    venv = tmp_path / "venv"
    _run(_uv(), "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    _run(
        _uv(), "pip", "install", "--quiet", "--offline", "--python", python,
        "-c", ROOT / "requirements.lock", wheel,
    )  # fmt: skip
    home = tmp_path / "home"
    work = tmp_path / "work"  # no shared/data above it: only the fetched artefacts count
    work.mkdir()
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "UV_CACHE_DIR"}  # no PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {"FOURFLOW_HOME": str(home), "FOURFLOW_KEYSTORE_PASSWORD": "wheel-test"}
    where = _run(python, "-c", "import fourflow; print(fourflow.__file__)", env=env, cwd=work)
    assert Path(where.strip()).is_relative_to(venv)  # not the checkout's editable install
    fourflow = venv / "bin" / "fourflow"

    assert "standards" in _run(fourflow, "--help", env=env, cwd=work)

    # A command that opens the platform: the packaged alembic migrations build a new store.
    figures = json.loads(
        _run(fourflow, "webhooks", "deliver", "--once", "--json", env=env, cwd=work)
    )
    assert figures == {"queued": 0, "delivered": 0, "retried": 0, "dead": 0}
    heads = [
        p.stem.split("_")[0] for p in (SRC / "adapters/db/migrations/versions").glob("[0-9]*.py")
    ]
    with sqlite3.connect(home / "fourflow.db") as db:
        (version,) = db.execute("select version_num from alembic_version").fetchone()
    assert version.split("_")[0] == max(heads)

    # The packaged Vyper sources compile (vyper and snekmate installed as dependencies).
    size = _run(
        python, "-c",
        "from fourflow.adapters.chain.artifacts import load_artifact;"
        "print(len(load_artifact('Notary', None).bytecode))",
        env=env, cwd=work,
    )  # fmt: skip
    assert int(size) > 1000

    # No standards directory yet: a clear error naming the artefact; fetch; then valid.
    refused = subprocess.run(
        [str(fourflow), "validate", str(ORDER), "--json"],
        capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=work, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    (issue,) = json.loads(refused.stdout)["issues"]
    assert "'ubl-2.1'" in issue["message"] and "fourflow standards fetch" in issue["message"]
    _run(fourflow, "standards", "fetch", "--only", "ubl-2.1", "--mirror", SHARED, env=env, cwd=work)
    assert (home / "standards" / "ubl" / "xsd-2.1" / "maindoc").is_dir()
    assert json.loads(_run(fourflow, "validate", ORDER, "--json", env=env, cwd=work))["valid"]
