"""One ``Settings`` reads the environment: no module outside ``fourflow.bootstrap`` does.

Configuration is a field of ``fourflow.bootstrap.Settings``, read in ``from_env`` and passed
down as arguments (docs/architecture.md, "Settings").
"""

from __future__ import annotations

import ast
from pathlib import Path

import fourflow
from fourflow.bootstrap import Settings

SOURCE = Path(fourflow.__file__).parent
ALLOWED = {SOURCE / "bootstrap.py"}
#: Names in ``os`` that read (or change) the process environment.
ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(code: str, filename: str = "<code>") -> list[str]:
    """Where ``code`` touches the process environment: ``os.environ``, ``os.getenv`` and the
    like (also under another name for ``os``), these names imported from ``os``, or a CLI
    option filled from a variable (Typer's and Click's ``envvar=``)."""
    tree = ast.parse(code, filename)
    os_names = {"os", "posix"}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in {"os", "posix"}:
                    os_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module in {"os", "posix"}:
            for alias in node.names:
                if alias.name in ENV_NAMES:
                    found.append(
                        f"{filename}:{node.lineno}: from {node.module} import {alias.name}"
                    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in {"envvar", "auto_envvar_prefix"}:
                    found.append(f"{filename}:{keyword.value.lineno}: {keyword.arg}=")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENV_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            found.append(f"{filename}:{node.lineno}: {node.value.id}.{node.attr}")
    return sorted(found, key=lambda hit: int(hit.split(":")[-2]))


def test_the_detector_finds_every_way_of_reading_the_environment() -> None:
    code = "\n".join(
        [
            "import os",
            "import os as system",
            "from os import getenv",
            "a = os.environ.get('X')",
            "b = system.getenv('Y')",
            "c = os.environ['Z']",
            "d = getenv('W')",
            "e = os.path.join('a', 'b')",
            "f = typer.Option(None, envvar='V')",
        ]
    )
    found = environment_reads(code, "m.py")
    assert found == [
        "m.py:3: from os import getenv",
        "m.py:4: os.environ",
        "m.py:5: system.getenv",
        "m.py:6: os.environ",
        "m.py:9: envvar=",
    ]


def test_no_module_outside_bootstrap_reads_the_environment() -> None:
    modules = sorted(SOURCE.rglob("*.py"))
    assert len(modules) > 100, SOURCE  # the whole package was walked
    found = [
        hit
        for path in modules
        if path not in ALLOWED
        for hit in environment_reads(path.read_text(encoding="utf-8"), str(path))
    ]
    assert found == [], "read the environment in bootstrap.Settings.from_env:\n" + "\n".join(found)


def test_settings_read_the_log_level_with_the_rest() -> None:
    assert Settings.from_env({"FOURFLOW_HOME": "/tmp/x"}).log_level == "warning"
    assert Settings.from_env(
        {"FOURFLOW_HOME": "/tmp/x", "FOURFLOW_LOG_LEVEL": "debug"}
    ).log_level == ("debug")
