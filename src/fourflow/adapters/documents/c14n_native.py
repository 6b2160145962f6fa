"""Canonical XML 1.0 of a document element in C: libxml2's C14N bytes, in a quarter of the time.

libxml2's inclusive C14N searches the ancestors for every namespace in scope at every element
(about 0.2 ms a 21 KB UBL invoice, as much as parsing it). ``c14nnative.c`` walks the tree
once, keeping the bindings in scope as it goes down, and writes the same bytes: the namespace
axis as libxml2 decides it, including the quirk of lxml's C14N of a document element that has
siblings (a comment before it, a DOCTYPE): lxml canonicalises a shallow copy of the element
whose children still point at the original's declarations, so below an element named with a
root declaration's prefix that declaration is out of libxml2's sight (``<B xmlns="">`` under
a default namespace). Stored fingerprints were taken over those bytes, so they are kept.

It answers None for what it does not handle (entity references, attribute values that are not
plain text, namespace URIs that are not plain absolute ones, more than 64 declarations or
attributes on an element, an element that is not the document element), and
:func:`fourflow.adapters.documents.xml.canonical_xml` then asks libxml2.
``tests/documents/test_c14n_native.py`` holds the two to the same bytes on every XML file of
the standards directory and on written edge cases.

The extension is built by ``make setup`` (:func:`build`, into ``build/native`` of the source
tree); when it is absent, or fails its self-test, libxml2 canonicalises (logged once).
"""

from __future__ import annotations

import importlib.util
import logging
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import lxml
from lxml import etree

__all__ = ["build", "load", "native_canonical"]

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("c14nnative.c")
# build/native of the source tree (src/fourflow/adapters/documents -> the repository root)
BUILD_DIR = Path(__file__).resolve().parents[4] / "build" / "native"
MODULE = "_c14nnative"

Canonical = Callable[[etree._Element], "bytes | None"]


def module_path(directory: Path = BUILD_DIR) -> Path:
    """Where the built extension is (its name carries this Python's ABI suffix)."""
    return directory / (MODULE + str(sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def build(directory: Path = BUILD_DIR) -> Path:
    """Compile ``c14nnative.c`` against this Python and lxml's libxml2 headers.

    Raises:
        RuntimeError: the compiler is missing or failed (its output in the message).
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = module_path(directory)
    compiler = shlex.split(str(sysconfig.get_config_var("CC") or "cc"))
    includes = [sysconfig.get_paths()["include"], *lxml.get_include()]  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        out = Path(scratch) / target.name
        command = [
            *compiler,
            *("-O2", "-shared", "-fPIC", "-Wall"),
            *(f"-I{i}" for i in includes),
            str(SOURCE),
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


_LOCK = threading.Lock()
_LOADED: dict[Path, Canonical | None] = {}

# The self-test: namespaces declared below the root (again, changed, undone), attributes in
# several namespaces, text and attribute characters C14N escapes, CDATA, a comment and a
# processing instruction inside, a comment before the root (so <m> under <k> gets xmlns="").
_SELF_TEST = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<!-- before -->\n"
    b'<r xmlns="urn:d" xmlns:b="urn:b" xmlns:a="urn:a" z="1" a:y="&lt;&quot;&#9;&#10;&#13;">'
    b'<a:e b:x="2" x="3" a:x="4"><b:f xmlns:b="urn:b" xmlns:c="urn:c"/><g xmlns=""/></a:e>'
    b"<h>a &amp; b &lt; c &gt; d&#13;<![CDATA[<&>]]><!-- c --><?pi x&#13; y?><?e?></h>"
    b"<k><m><a:n/></m></k></r>"
)


def load(directory: Path = BUILD_DIR) -> Canonical | None:
    """The extension's ``canonical``, or None (logged once) when it is absent or fails its
    self-test (its bytes differ from libxml2's on a small document)."""
    path = module_path(directory)
    with _LOCK:
        if path in _LOADED:
            return _LOADED[path]
        canonical: Canonical | None = None
        reason = ""
        if not path.is_file():
            reason = f"{path} is not built (make setup builds it)"
        else:
            try:
                spec = importlib.util.spec_from_file_location(MODULE, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"no loader for {path}")
                module: ModuleType = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                module.prepare(etree._Element)
                root = etree.fromstring(_SELF_TEST)
                want = etree.tostring(root, method="c14n", with_comments=False)
                got = module.canonical(root)
                if got != want:
                    raise RuntimeError(f"self-test gave {got!r}, not {want!r}")
                canonical = module.canonical
            except Exception as exc:  # an extension for another Python, or a wrong build
                reason = f"{path} cannot be used: {exc}"
        if canonical is None:
            log.warning("native C14N off: %s; libxml2 canonicalises", reason)
        _LOADED[path] = canonical
        return canonical


def native_canonical() -> Canonical | None:
    """The built extension's ``canonical`` (None without it): loaded once a process."""
    return load()


def main(argv: list[str]) -> int:
    """``python -m fourflow.adapters.documents.c14n_native --build``: compile the extension."""
    if argv != ["--build"]:
        print("usage: python -m fourflow.adapters.documents.c14n_native --build", file=sys.stderr)
        return 2
    try:
        print(build())
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
