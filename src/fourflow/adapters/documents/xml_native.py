"""C over lxml's tree: C14N 1.0 of a document element (libxml2's bytes, a quarter of the time),
and the values of UBL lines and parties (:func:`fourflow.adapters.documents.ubl._lines`,
``ubl._party_of``).

libxml2's inclusive C14N searches the ancestors for every namespace in scope at every element
(about 0.2 ms a 21 KB UBL invoice, as much as parsing it). ``xmlnative.c`` walks the tree
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
``tests/documents/test_xml_native.py`` holds the two to the same bytes on every XML file of
the standards directory and on written edge cases.

``ubl_lines`` reads, for each UBL line element, the texts the mapping reads (id, quantity
and unit, amount, the item's names, the price) in one C pass over its children, where lxml
made a Python proxy of every element; a line holding anything the mapping reads otherwise
(comments or elements inside a value, several prices) is None and read through lxml
(``tests/documents/test_ubl_lines_mapping.py`` and the mapping digests hold it to the same
lines). ``ubl_party`` does the same for a party's ids, tax schemes and names.

The extension is built by ``make setup`` (:func:`build`, into ``build/native`` of the source
tree); when it is absent, or fails its self-test, libxml2 canonicalises and lxml reads the lines
(logged once).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import cast

from lxml import etree

from fourflow.adapters.documents import cextension

__all__ = ["build", "load", "native_canonical", "native_ubl_lines", "native_ubl_party"]

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("xmlnative.c")
BUILD_DIR = cextension.BUILD_DIR
MODULE = "_xmlnative"

Canonical = Callable[[etree._Element], "bytes | None"]
# A UBL line's texts (see ubl._line_from_values): id, quantity, unit, amount, seller's,
# standard and buyer's item ids, name, description, how many prices, price amount, base quantity
LineValues = tuple[
    str | None, str | None, str, str | None, str | None, str | None, str | None, str | None,
    str | None, int, str | None, str | None,
]  # fmt: skip
# (line elements, the quantity's local name) -> each line's texts, or None to read it in Python
UblLines = Callable[[list[etree._Element], str], list[LineValues | None]]
# A UBL party's texts (see ubl._party_from_values): legal company ids with their schemeID, tax
# schemes' company id and scheme id, endpoint and party ids with schemeID and schemeAgencyID,
# the registration name and the party name
PartyValues = tuple[
    list[tuple[str | None, str | None]],
    list[tuple[str | None, str | None]],
    list[tuple[str | None, str | None, str | None]],
    str | None,
    str | None,
]
UblParty = Callable[[etree._Element], PartyValues | None]


def module_path(directory: Path = BUILD_DIR) -> Path:
    """Where the built extension is (its name carries this Python's ABI suffix)."""
    return cextension.module_path(MODULE, directory)


def build(directory: Path = BUILD_DIR) -> Path:
    """Compile ``xmlnative.c`` against this Python and lxml's libxml2 headers.

    Raises:
        RuntimeError: the compiler is missing or failed (its output in the message).
    """
    return cextension.build(SOURCE, MODULE, directory)


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


def _off(reason: str) -> None:
    log.warning("native XML helpers off: %s; libxml2 canonicalises, lxml reads UBL lines", reason)


def load(directory: Path = BUILD_DIR) -> ModuleType | None:
    """The built extension, or None (logged once) when it is absent or fails its self-test
    (its C14N differs from libxml2's on a small document, or its line values from lxml's)."""
    return cextension.load(MODULE, directory, _self_test, _off)


_SELF_TEST_LINES = (
    b'<Invoice xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"'
    b' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
    b'<cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity unitCode="C62">2'
    b"</cbc:InvoicedQuantity><cbc:LineExtensionAmount>3</cbc:LineExtensionAmount><cac:Item>"
    b"<cbc:Description>d</cbc:Description><cbc:Name>n<![CDATA[m]]></cbc:Name>"
    b"<cac:SellersItemIdentification/><cac:SellersItemIdentification><cbc:ID>s</cbc:ID>"
    b"</cac:SellersItemIdentification></cac:Item><cac:Price><cbc:PriceAmount>4</cbc:PriceAmount>"
    b"</cac:Price></cac:InvoiceLine>"
    b"<cac:InvoiceLine><cbc:ID/><cbc:InvoicedQuantity>1<!-- c --></cbc:InvoicedQuantity>"
    b"</cac:InvoiceLine></Invoice>"
)


_SELF_TEST_PARTY = (
    b"<cac:Party"
    b' xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"'
    b' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
    b'<cbc:EndpointID schemeID="0088">E</cbc:EndpointID><cac:PartyIdentification>'
    b'<cbc:ID schemeAgencyID="9">P</cbc:ID></cac:PartyIdentification><cac:PartyTaxScheme>'
    b"<cbc:CompanyID>DE1</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>"
    b"</cac:PartyTaxScheme><cac:PartyTaxScheme/><cac:PartyLegalEntity><cbc:RegistrationName>R"
    b'</cbc:RegistrationName><cbc:CompanyID schemeID="0002"> L1 </cbc:CompanyID>'
    b"<cbc:CompanyID><!-- c --></cbc:CompanyID></cac:PartyLegalEntity></cac:Party>"
)


def _self_test(module: ModuleType) -> None:
    """The extension gives libxml2's C14N and lxml's line values on small documents."""
    module.prepare(etree._Element)
    root = etree.fromstring(_SELF_TEST)
    want = etree.tostring(root, method="c14n", with_comments=False)
    got = module.canonical(root)
    if got != want:
        raise RuntimeError(f"C14N self-test gave {got!r}, not {want!r}")
    lines = list(etree.fromstring(_SELF_TEST_LINES))
    values = module.ubl_lines(lines, "InvoicedQuantity")
    expected = [("1", "2", "C62", "3", "s", None, "nm", None, "d", 1, "4", None), None]
    if values != expected:
        raise RuntimeError(f"UBL lines self-test gave {values!r}, not {expected!r}")
    party = etree.fromstring(_SELF_TEST_PARTY)
    got_party = module.ubl_party(party)
    want_party = (
        [(" L1 ", "0002"), (None, None)],
        [("DE1", "VAT"), (None, None)],
        [("E", "0088", None), ("P", None, "9")],
        "R",
        None,
    )
    if got_party != want_party:
        raise RuntimeError(f"UBL party self-test gave {got_party!r}, not {want_party!r}")


@cache
def native_canonical() -> Canonical | None:
    """The built extension's ``canonical`` (None without it): loaded once a process."""
    module = load()
    return None if module is None else cast("Canonical", module.canonical)


@cache
def native_ubl_party() -> UblParty | None:
    """The built extension's ``ubl_party`` (None without it): loaded once a process."""
    module = load()
    return None if module is None else cast("UblParty", module.ubl_party)


@cache
def native_ubl_lines() -> UblLines | None:
    """The built extension's ``ubl_lines`` (None without it): loaded once a process."""
    module = load()
    return None if module is None else cast("UblLines", module.ubl_lines)


def main(argv: list[str]) -> int:
    """``python -m fourflow.adapters.documents.xml_native --build``: compile the extension."""
    return cextension.main(argv, "fourflow.adapters.documents.xml_native", build)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
