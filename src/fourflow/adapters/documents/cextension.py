"""Building and loading the C extensions of the documents adapters (``rulesnative.c`` for
:mod:`fourflow.adapters.documents.native_rules`, ``xmlnative.c`` for
:mod:`fourflow.adapters.documents.xml_native`).

Each is compiled by ``make setup`` against this Python and lxml's libxml2 headers into
``build/native`` of the source tree, loaded once a process from there, and used only when it
passes its module's self-test; otherwise its module says why (logged once) and the callers
take the pure-lxml path.
"""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import lxml

__all__ = ["BUILD_DIR", "build", "load", "main", "module_path"]

# build/native of the source tree (src/fourflow/adapters/documents -> the repository root)
BUILD_DIR = Path(__file__).resolve().parents[4] / "build" / "native"

_LOCK = threading.Lock()
_LOADED: dict[Path, ModuleType | None] = {}


def module_path(module: str, directory: Path = BUILD_DIR) -> Path:
    """Where the built extension ``module`` is (its name carries this Python's ABI suffix)."""
    return directory / (module + str(sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def build(source: Path, module: str, directory: Path, flags: Sequence[str] = ()) -> Path:
    """Compile ``source`` into the extension ``module`` in ``directory`` (-O2 and ``flags``).

    The compiler writes a new file in a scratch directory beside the target, which is then
    renamed over the old one: processes that have the old one loaded keep its pages (a new
    inode), where writing over a loaded library in place crashes them.

    Raises:
        RuntimeError: the compiler is missing or failed (its output in the message).
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = module_path(module, directory)
    compiler = shlex.split(str(sysconfig.get_config_var("CC") or "cc"))
    includes = [sysconfig.get_paths()["include"], *lxml.get_include()]  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        out = Path(scratch) / target.name
        command = [
            *compiler,
            *("-O2", "-shared", "-fPIC", "-Wall"),
            *flags,
            *(f"-I{i}" for i in includes),
            str(source),
            "-o",
            str(out),
        ]
        try:
            done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"cannot run the C compiler {compiler[0]}: {exc}") from None
        if done.returncode != 0:
            raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr.strip()}")
        out.replace(target)
    return target


def load(
    module: str,
    directory: Path,
    self_test: Callable[[ModuleType], None],
    off: Callable[[str], None],
) -> ModuleType | None:
    """The built extension ``module`` of ``directory``, loaded once a process, or None when it
    is absent or ``self_test`` raises (then ``off`` is called once with the reason)."""
    path = module_path(module, directory)
    with _LOCK:
        if path in _LOADED:
            return _LOADED[path]
        loaded: ModuleType | None = None
        reason = ""
        if not path.is_file():
            reason = f"{path} is not built (make setup builds it)"
        else:
            try:
                spec = importlib.util.spec_from_file_location(module, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"no loader for {path}")
                loaded = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(loaded)
                self_test(loaded)
            except Exception as exc:  # an extension for another Python, or a wrong build
                reason = f"{path} cannot be used: {exc}"
                loaded = None
        if loaded is None:
            off(reason)
        _LOADED[path] = loaded
        return loaded


def main(argv: list[str], program: str, build_it: Callable[[], Path]) -> int:
    """``python -m <program> --build``: compile the extension, print where it is."""
    if argv != ["--build"]:
        print(f"usage: python -m {program} --build", file=sys.stderr)
        return 2
    try:
        print(build_it())
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0
