"""XML Schema validation against the official XSDs, each schema compiled once per process.

Compiling a large schema set (UBL 2.1 maindoc + common, CII D16B, ISO 20022) takes far longer
than validating a document against it, so compiled schemas are kept for the life of the
process. lxml's ``XMLSchema`` keeps its error log on the instance, so one validation at a time
runs per schema (a lock each); threads validating against different schemas do not wait.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.registry import ValidationIssue
from fourflow.adapters.documents.standards import StandardsMissingError, missing_path_error

MAX_XSD_ISSUES = 50


@dataclass(slots=True)
class _Compiled:
    schema: etree.XMLSchema
    lock: threading.Lock


_compiled: dict[Path, _Compiled] = {}
_compile_lock = threading.Lock()


def _schema_parser() -> etree.XMLParser:
    # The schemas are trusted files from the standards directory, but nothing is fetched.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def compiled_schema(schema_path: Path) -> etree.XMLSchema:
    """The compiled schema at ``schema_path``, compiled on first use and kept for the process."""
    return _entry(schema_path).schema


def _entry(schema_path: Path) -> _Compiled:
    # Known under the path it is asked for (resolving a path costs several system calls per
    # document), and under its resolved path, so that spellings of one file share a schema.
    entry = _compiled.get(schema_path)
    if entry is not None:
        return entry
    key = schema_path.resolve()
    with _compile_lock:
        entry = _compiled.get(key)
        if entry is None:
            entry = _Compiled(_compile(key), threading.Lock())
            _compiled[key] = entry
        _compiled[schema_path] = entry
    return entry


def _compile(path: Path) -> etree.XMLSchema:
    if not path.is_file():
        raise missing_path_error(path)
    try:
        return etree.XMLSchema(etree.parse(str(path), _schema_parser()))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise StandardsMissingError(f"XML schema {path} does not compile: {exc}") from exc


def validate_xsd(root: etree._Element, schema_path: Path) -> list[ValidationIssue]:
    """Validate the document at ``root`` against the XSD at ``schema_path``.

    Returns one ``ValidationIssue`` (rule ``XSD``, flag ``fatal``) per schema error, located by
    line number in the parsed bytes; an empty list means the document is schema-valid.
    """
    entry = _entry(schema_path)
    with entry.lock:
        if entry.schema.validate(root):
            return []
        # lxml-stubs declare the error log opaque; at run time it iterates _LogEntry records.
        errors: list[Any] = list(entry.schema.error_log)  # type: ignore[call-overload]
    return [
        ValidationIssue(rule="XSD", flag="fatal", message=e.message, location=f"line {e.line}")
        for e in errors[:MAX_XSD_ISSUES]
    ]


def issues_as_problems(source: str, issues: list[ValidationIssue]) -> list[Problem]:
    """Turn schema issues into the problems of a ``DocumentRejectedError``, naming ``source``."""
    return [Problem("SCHEMA", f"{source}: {issue.message}", issue.location) for issue in issues]


def require_xsd_valid(root: etree._Element, schema_path: Path, source: str) -> None:
    """Refuse the document with ``DocumentRejectedError`` unless it is valid against the XSD."""
    issues = validate_xsd(root, schema_path)
    if issues:
        raise DocumentRejectedError(issues_as_problems(source, issues))
