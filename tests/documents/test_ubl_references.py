"""The references a UBL document states are the same whether or not the line-reference
look-ups run: ``_references`` skips the three ``*/...LineReference`` XPath evaluations when no
child of the root holds a line reference (most documents), for ingest speed. Checked against
the unconditional look-ups on every UBL document in the standards directory and on written
documents that do hold order, despatch and receipt line references. Whether a document holds
one is told by a walk of libxml2 over the tree (``_has_line_references``), checked here against
the boolean XPath it replaced (``ANY_LINE_REFERENCE``) on the same documents."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import cast

from lxml import etree

from fourflow.adapters.documents import ubl
from fourflow.adapters.documents.standards import standards_dir
from fourflow.adapters.documents.xml import parse_xml, text
from fourflow.domain.documents import DocumentKind, DocumentRef

# The boolean XPath ``_has_line_references`` replaced (17625a4), as the reference.
ANY_LINE_REFERENCE = etree.XPath(
    "boolean(*/cac:OrderLineReference | */cac:DespatchLineReference | */cac:ReceiptLineReference)",
    namespaces=ubl.NS,
)


def reference_references(root: etree._Element) -> tuple[DocumentRef, ...]:
    """Every look-up evaluated, as ``_references`` did before the short cut."""
    index = ubl._index(root)
    refs: list[DocumentRef] = []
    for lookup, kind in ubl._REFERENCE_LOOKUPS:
        found = lookup(root) if isinstance(lookup, etree.XPath) else ubl._all(index, lookup)
        for element in cast("Iterable[etree._Element]", found):
            number = text(element)
            if number:
                refs.append(DocumentRef(kind, number))
    return tuple(dict.fromkeys(refs))


def _ubl_samples() -> list[Path]:
    base = standards_dir()
    found = []
    for folder in ("ubl", "en16931", "peppol-billing", "peppol-logistics", "peppol-poacc"):
        for path in sorted((base / folder).rglob("*.xml")):
            if b"urn:oasis:names:specification:ubl:schema:xsd:" in path.read_bytes()[:4096]:
                found.append(path)
    return found


def test_every_ubl_sample_states_the_same_references() -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    compared = with_line_refs = 0
    for path in _ubl_samples():
        try:
            root = etree.parse(str(path), parser).getroot()
        except etree.XMLSyntaxError:
            continue  # deliberately broken files of the test suites
        expected = reference_references(root)
        assert ubl._references(root, ubl._index(root)) == expected, path
        compared += 1
        holds = bool(ANY_LINE_REFERENCE(root))
        assert ubl._has_line_references(root) == holds, path
        with_line_refs += holds
    assert compared > 100
    assert with_line_refs > 0  # some samples do hold line references


DOC = b"""<DespatchAdvice xmlns="urn:oasis:names:specification:ubl:schema:xsd:DespatchAdvice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:ID>D1</cbc:ID>
<cac:OrderReference><cbc:ID>O-HEAD</cbc:ID></cac:OrderReference>
%s
</DespatchAdvice>"""

LINE_REFS = {
    b"": (),
    b"<cac:DespatchLine><cbc:ID>1</cbc:ID><cac:OrderLineReference><cbc:LineID>1</cbc:LineID>"
    b"<cac:OrderReference><cbc:ID>O-LINE</cbc:ID></cac:OrderReference>"
    b"</cac:OrderLineReference></cac:DespatchLine>": (DocumentRef(DocumentKind.ORDER, "O-LINE"),),
    b"<cac:ReceiptLine><cac:DespatchLineReference><cbc:LineID>1</cbc:LineID>"
    b"<cac:DocumentReference><cbc:ID>D-0</cbc:ID></cac:DocumentReference>"
    b"</cac:DespatchLineReference></cac:ReceiptLine>"
    b"<cac:InvoiceLine><cac:ReceiptLineReference><cbc:LineID>2</cbc:LineID>"
    b"<cac:DocumentReference><cbc:ID>R-9</cbc:ID></cac:DocumentReference>"
    b"</cac:ReceiptLineReference></cac:InvoiceLine>": (
        DocumentRef(DocumentKind.DESPATCH_ADVICE, "D-0"),
        DocumentRef(DocumentKind.RECEIPT_ADVICE, "R-9"),
    ),
    # a line reference holding no document reference states nothing more
    b"<cac:DespatchLine><cac:OrderLineReference><cbc:LineID>1</cbc:LineID>"
    b"</cac:OrderLineReference></cac:DespatchLine>": (),
}


def test_line_references_are_found_and_their_absence_changes_nothing() -> None:
    for lines, from_lines in LINE_REFS.items():
        root = parse_xml(DOC % lines, "refs.xml")
        found = ubl._references(root, ubl._index(root))
        assert found == (DocumentRef(DocumentKind.ORDER, "O-HEAD"), *from_lines), lines
        assert found == reference_references(root)
        assert bool(ANY_LINE_REFERENCE(root)) == (b"LineReference" in lines)
        assert ubl._has_line_references(root) == (b"LineReference" in lines)


def test_only_a_line_reference_under_a_child_of_the_root_counts() -> None:
    deeper = (
        b"<cac:DespatchLine><cac:Item><cac:OrderLineReference><cbc:LineID>1</cbc:LineID>"
        b"</cac:OrderLineReference></cac:Item></cac:DespatchLine>"
    )
    direct = b"<cac:ReceiptLineReference><cbc:LineID>1</cbc:LineID></cac:ReceiptLineReference>"
    for lines in (deeper, direct):
        root = parse_xml(DOC % lines, "refs.xml")
        assert not ANY_LINE_REFERENCE(root)
        assert not ubl._has_line_references(root)
