"""EN 16931 business rules: the official CEN compiled XSLT run by SaxonC-HE, read back as SVRL.

The CEN TC 434 validation artefacts (``en16931/validation/{ubl,cii}/xslt``) are XSLT 2.0, which
libxslt cannot run, so they run in SaxonC-HE (``saxonche``). One Saxon processor serves the
process and each stylesheet is compiled once, on first use. Saxon is handed the document as
lxml re-serialised it after ``parse_xml`` (so never a DTD, never an external entity).
"""

from __future__ import annotations

import threading
from enum import StrEnum
from functools import cache
from typing import Any

from lxml import etree
from saxonche import PySaxonProcessor

from fourflow.adapters.documents.registry import ValidationIssue
from fourflow.adapters.documents.standards import artefact

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
_SVRL = {"svrl": SVRL_NS}


class Syntax(StrEnum):
    """The two syntaxes EN 16931 binds to, named as the CEN artefact folders are."""

    UBL = "ubl"
    CII = "cii"


_STYLESHEETS = {
    Syntax.UBL: ("en16931", "validation", "ubl", "xslt", "EN16931-UBL-validation.xslt"),
    Syntax.CII: ("en16931", "validation", "cii", "xslt", "EN16931-CII-validation.xslt"),
}
# SaxonC's Java side is shared by the process; one transformation runs at a time.
_saxon_lock = threading.RLock()


@cache
def _processor() -> Any:
    return PySaxonProcessor(license=False)


@cache
def _executable(syntax: Syntax) -> Any:
    path = artefact(*_STYLESHEETS[syntax])
    with _saxon_lock:
        compiler = _processor().new_xslt30_processor()
        return compiler.compile_stylesheet(stylesheet_file=str(path))


def compile_rules(syntax: Syntax) -> None:
    """Compile the rules of ``syntax`` now (the first check would do it anyway)."""
    _executable(syntax)


def svrl_for(document: etree._Element, syntax: Syntax) -> bytes:
    """Run the EN 16931 rules of ``syntax`` on ``document`` and return the SVRL report."""
    text = etree.tostring(document, encoding="unicode")
    with _saxon_lock:
        executable = _executable(syntax)
        node = _processor().parse_xml(xml_text=text)
        report: str = executable.transform_to_string(xdm_node=node)
    return report.encode("utf-8")


def svrl_issues(svrl: bytes) -> list[ValidationIssue]:
    """The failed assertions of an SVRL report as validation issues (id, flag, text, location)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    report = etree.fromstring(svrl, parser)
    return [
        ValidationIssue(
            rule=failed.get("id", "") or "",
            flag=failed.get("flag", "fatal") or "fatal",
            message=" ".join(
                "".join(failed.findtext("svrl:text", default="", namespaces=_SVRL)).split()
            ),
            location=failed.get("location", "") or "",
        )
        for failed in report.iterfind("svrl:failed-assert", _SVRL)
    ]


def check_rules(document: etree._Element, syntax: Syntax) -> list[ValidationIssue]:
    """The EN 16931 rules ``document`` breaks (fatal) or is warned about, in report order."""
    return svrl_issues(svrl_for(document, syntax))


def fired_rules(document: etree._Element, syntax: Syntax) -> dict[str, str]:
    """Each rule id that fired on ``document``, mapped to its flag (``fatal`` beats warning)."""
    fired: dict[str, str] = {}
    for issue in check_rules(document, syntax):
        if fired.get(issue.rule) != "fatal":
            fired[issue.rule] = issue.flag
    return fired
