"""The C helpers (:mod:`fourflow.adapters.documents.xml_native`): C14N writes libxml2's bytes,
and the UBL line values give the lines lxml gives.

Content fingerprints are taken over ``canonical_xml``; stored ones must still verify, so the
extension must give exactly what ``etree.tostring(root, method="c14n", with_comments=False)``
gives, quirks of lxml's copy of a document element with siblings included:

* it builds from the Makefile's command into any directory and passes its self-test; without
  it ``load`` says so and ``canonical_xml`` still answers (libxml2's bytes);
* every XML file of the standards directory (and every document embedded in a VEFA test
  set): the same bytes, or None (left to libxml2) for a few, none of them an invoice;
* written edge cases (namespaces declared again, changed and undone below the root, a
  comment, processing instruction or DOCTYPE before the root, escapes in text and
  attributes, CDATA, processing instructions inside, other encodings) and 400 seeded random
  documents with namespaces declared at random depths, with and without a comment before the
  root: the same bytes;
* an element below the root, and a tree it does not handle, are left to libxml2;
* UBL lines: every line of every UBL document of the standards directory maps to the same
  ``DocumentLine`` (or the same error) from the C pass's values as through lxml, and without
  the extension ``ubl._lines`` gives the same lines;
* UBL parties: every party (any element with a ``cac:PartyName``, ``cac:PartyIdentification``,
  ``cbc:EndpointID``, ``cac:PartyTaxScheme`` or ``cac:PartyLegalEntity`` child) of those documents,
  and written odd ones (comments inside ids and names, empty elements, several tax schemes),
  gives the same ``PartyRef`` from the C pass's values as through lxml.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from fourflow.adapters.documents import ubl, xml, xml_native
from fourflow.adapters.documents.standards import standards_dir
from fourflow.domain.errors import DomainValueError

VEFA = "http://difi.no/xsd/vefa/validator/1.0"


@cache
def native() -> xml_native.Canonical:
    found = xml_native.native_canonical()
    assert found is not None, f"{xml_native.module_path()} is not built: run make setup"
    return found


def libxml2(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, method="c14n", with_comments=False))


def test_it_builds_anywhere_and_passes_its_self_test(tmp_path: Path) -> None:
    built = xml_native.build(tmp_path)
    assert built == xml_native.module_path(tmp_path)
    module = xml_native.load(tmp_path)
    assert module is not None
    root = etree.fromstring(xml_native._SELF_TEST)
    assert module.canonical(root) == libxml2(root)


def test_without_the_extension_libxml2_canonicalises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert xml_native.load(tmp_path / "absent") is None
    assert "native XML helpers off" in caplog.text
    root = etree.fromstring(xml_native._SELF_TEST)
    assert xml.canonical_xml(root) == libxml2(root)


def _standards_documents() -> Iterator[tuple[str, etree._Element]]:
    base = standards_dir()
    for path in sorted(base.rglob("*")):
        if (
            path.suffix.lower() not in (".xml", ".xsd", ".sch", ".xsl", ".xslt")
            or not path.is_file()
        ):
            continue
        try:
            root = xml.parse_xml(path.read_bytes(), str(path))
        except Exception:  # deliberately broken files of the test suites
            continue
        where = str(path.relative_to(base))
        yield where, root
        if root.tag == f"{{{VEFA}}}testSet":
            for n, test in enumerate(root.iterfind(f"{{{VEFA}}}test"), start=1):
                for child in test:
                    if isinstance(child.tag, str) and child.tag != f"{{{VEFA}}}assert":
                        yield f"{where}#{n}", etree.fromstring(etree.tostring(child))


def test_every_xml_file_of_the_standards_directory_gives_libxml2s_bytes() -> None:
    canonical = native()
    answered, left, invoices = 0, [], 0
    for where, root in _standards_documents():
        got = canonical(root)
        if got is None:
            left.append(where)
            assert etree.QName(root).localname not in ("Invoice", "CreditNote"), where
            assert "CrossIndustryInvoice" not in str(root.tag), where
            continue
        assert got == libxml2(root), where
        answered += 1
        invoices += etree.QName(root).localname in ("Invoice", "CreditNote")
        assert xml.canonical_xml(root) == got
    assert answered > 1500, answered
    assert invoices > 300, invoices
    assert len(left) < answered // 20, left[:10]


_EDGE_CASES = [
    # a comment before the root: lxml canonicalises a copy of the root (xmlns="" appears)
    b'<!-- c --><D xmlns="urn:u"><A><B><C>x</C></B></A></D>',
    b'<?pi before?><D xmlns="urn:u" xmlns:p="urn:p"><p:A><p:B><C/><p:C/></p:B></p:A></D>',
    b'<!DOCTYPE D><D xmlns="urn:u" xmlns:p="urn:p"><A><p:B p:x="1"><p:C/></p:B></A></D>',
    b'<D xmlns:p="urn:p"><p:A><B xmlns:p="urn:p"><p:C/></B></p:A></D><!-- after -->',
    b'<!-- c --><D xmlns="urn:u" xmlns:p="urn:p"><p:A xmlns:p="urn:q"><p:B><C/></p:B></p:A></D>',
    # declarations again (same URI: not rendered), changed, undone, defaults below the root
    b'<D xmlns="urn:u"><A xmlns="urn:u"><B xmlns="urn:v"><C xmlns=""><E/></C></B></A></D>',
    b'<D><A xmlns=""><B xmlns="urn:v"><C xmlns=""/></B></A></D>',
    b'<!-- c --><D><A xmlns="urn:v"><B xmlns=""><C xmlns="urn:v"/></B></A></D>',
    b'<p:D xmlns:p="urn:p" xmlns:q="urn:q"><q:A xmlns:p="urn:p2"><p:B xmlns:q="urn:q"/></q:A></p:D>',
    # attributes: order by namespace URI then name, unqualified first; xml:lang
    b'<D xmlns:b="urn:a" xmlns:a="urn:b" z="1" b:z="2" a:a="3" a="4" xml:lang="en"><E b:y="5"'
    b' a:y="6" y="7"/></D>',
    # escapes: text, attributes (tab, line feed, carriage return, quote), CDATA, PIs inside
    b'<D a="&lt;&gt;&amp;&quot;&#9;&#10;&#13;\'x">a &amp; b &lt; c &gt; d&#13;e\r\nf'
    b"<![CDATA[<&>\r]]><?p?><?q  a&#13;b ?><!-- x --></D>",
    "<D>é 中文 \U0001f600</D>".encode(),
    '<?xml version="1.0" encoding="ISO-8859-1"?><D a="\xe9">\xe9t\xe9</D>'.encode("latin-1"),
    b"<D/>",
    b'<D xmlns="urn:u"/>',
    b"<D>" + b"<E>" * 200 + b"x" + b"</E>" * 200 + b"</D>",
]


@pytest.mark.parametrize("raw", _EDGE_CASES, ids=range(len(_EDGE_CASES)))
def test_written_edge_cases_give_libxml2s_bytes(raw: bytes) -> None:
    root = xml.parse_xml(raw, "edge.xml")
    got = native()(root)
    assert got is not None
    assert got == libxml2(root), (got, libxml2(root))


_PREFIXES = (None, "a", "b", "c")
_URIS = ("urn:x", "urn:y", "http://example.com/z", "urn:w")


def _random_document(rng: random.Random) -> bytes:
    """A document with namespaces bound, rebound and undone at random depths."""

    def element(depth: int, scope: dict[str | None, str]) -> str:
        scope = dict(scope)
        declared: list[str] = []
        for prefix in _PREFIXES:
            if rng.random() < 0.15:
                uri = rng.choice(_URIS + (("",) if prefix is None else ()))
                scope[prefix] = uri
                declared.append(f'xmlns{":" + prefix if prefix else ""}="{uri}"')
        prefix = rng.choice(_PREFIXES)
        if prefix is not None and prefix not in scope:
            scope[prefix] = rng.choice(_URIS)
            declared.append(f'xmlns:{prefix}="{scope[prefix]}"')
        name = f"{prefix}:e{depth}" if prefix else f"e{depth}"
        attributes = []
        for n, attr_prefix in enumerate(p for p in _PREFIXES if rng.random() < 0.3):
            if attr_prefix is None:
                attributes.append(f'k{n}="v&amp;{n}"')
            elif attr_prefix in scope:
                attributes.append(f'{attr_prefix}:k{n}="{rng.choice(["1", "&lt;", "&#9;"])}"')
        head = " ".join([name, *declared, *attributes])
        parts = []
        if depth < 5:
            for _ in range(rng.randint(0, 3)):
                roll = rng.random()
                if roll < 0.6:
                    parts.append(element(depth + 1, scope))
                elif roll < 0.8:
                    parts.append(rng.choice(["t", " ", "\n  ", "a&amp;b", "&#13;", "&gt;"]))
                elif roll < 0.9:
                    parts.append("<!-- c -->")
                else:
                    parts.append("<?pi d?>")
        return f"<{head}>{''.join(parts)}</{name}>"

    before = rng.choice(["", "<!-- first -->", "<?pi x?>\n"])
    return (before + element(0, {})).encode()


def test_seeded_random_documents_give_libxml2s_bytes() -> None:
    rng = random.Random(19)
    canonical = native()
    for n in range(400):
        raw = _random_document(rng)
        root = xml.parse_xml(raw, f"random-{n}.xml")
        assert canonical(root) == libxml2(root), raw


def test_below_the_root_and_unhandled_trees_are_left_to_libxml2() -> None:
    root = xml.parse_xml(b'<D xmlns="urn:u" xmlns:p="urn:p"><p:A><B/></p:A></D>', "x.xml")
    child = root[0]
    assert native()(child) is None
    assert xml.canonical_xml(child) == libxml2(child)
    relative = xml.parse_xml(b'<D xmlns:u="utils"><u:A/></D>', "rel.xml")
    assert native()(relative) is None  # libxml2 decides what a relative URI does
    deep = b"<D>" + b"<E>" * 600 + b"x" + b"</E>" * 600 + b"</D>"  # past the walk's depth
    huge = etree.fromstring(deep, etree.XMLParser(huge_tree=True))
    assert native()(huge) is None
    assert xml.canonical_xml(huge) == libxml2(huge)
    with pytest.raises(TypeError):
        native()("not an element")  # type: ignore[arg-type]


def _ubl_documents() -> Iterator[tuple[str, etree._Element, ubl.UblKind]]:
    for where, root in _standards_documents():
        if not isinstance(root.tag, str):
            continue
        qname = etree.QName(root)
        kind = ubl.ROOTS.get((qname.namespace or "", qname.localname))
        if kind is not None:
            yield where, root, kind


def _outcome(fn, *args) -> object:  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except DomainValueError as exc:
        return ("error", str(exc))


def test_ubl_line_values_map_as_lxml_reads_them() -> None:
    lines = xml_native.native_ubl_lines()
    assert lines is not None
    from_c = through_lxml = 0
    for where, root, kind in _ubl_documents():
        steps, quantity = ubl._steps(kind.line), ubl._steps(kind.quantity)
        if len(steps) != 1:
            continue
        elements = ubl._index(root).get(steps[0], [])
        values = lines(elements, kind.quantity.partition(":")[2])
        assert len(values) == len(elements)
        for n, (element, found) in enumerate(zip(elements, values, strict=True), start=1):
            want = _outcome(ubl._line_of, element, n, kind, quantity)
            if found is None:
                through_lxml += 1
                continue
            assert _outcome(ubl._line_from_values, found, n, kind) == want, (where, n)
            from_c += 1
    assert from_c > 800, from_c
    assert through_lxml < from_c // 20, through_lxml


def test_without_the_extension_the_lines_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = [(root, kind) for _, root, kind in _ubl_documents()][::3]
    with_c = [_outcome(ubl._lines, ubl._index(root), kind) for root, kind in documents]
    monkeypatch.setattr(xml_native, "native_ubl_lines", lambda: None)
    assert [_outcome(ubl._lines, ubl._index(root), kind) for root, kind in documents] == with_c
    assert sum(isinstance(lines, tuple) and len(lines) > 0 for lines in with_c) > 40


_PARTY_CHILDREN = {
    f"{{{ubl.CAC}}}{name}"
    for name in ("PartyName", "PartyIdentification", "PartyTaxScheme", "PartyLegalEntity")
} | {f"{{{ubl.CBC}}}EndpointID"}

_ODD_PARTY = (
    f'<cac:Party xmlns:cac="{ubl.CAC}" xmlns:cbc="{ubl.CBC}">'
    '<cbc:EndpointID schemeID="0088">4<!-- c -->1</cbc:EndpointID><cbc:EndpointID/>'
    '<cac:PartyIdentification><cbc:ID schemeAgencyID="9"> 5790000435968 </cbc:ID><cbc:ID/>'
    "</cac:PartyIdentification><cac:PartyName><cbc:Name/></cac:PartyName><cac:PartyName>"
    "<cbc:Name> N </cbc:Name></cac:PartyName><cac:PartyTaxScheme><cbc:CompanyID> DE123"
    "</cbc:CompanyID><cac:TaxScheme/><cac:TaxScheme><cbc:ID>gst</cbc:ID></cac:TaxScheme>"
    "</cac:PartyTaxScheme><cac:PartyTaxScheme><cbc:CompanyID/></cac:PartyTaxScheme>"
    '<cac:PartyLegalEntity><cbc:CompanyID schemeID="0199"><!-- x -->L</cbc:CompanyID>'
    "<cbc:CompanyID>91110000600037341L</cbc:CompanyID></cac:PartyLegalEntity>"
    "<cac:PartyLegalEntity><cbc:RegistrationName>R<![CDATA[ 2]]></cbc:RegistrationName>"
    "</cac:PartyLegalEntity></cac:Party>"
)


def test_ubl_party_values_map_as_lxml_reads_them() -> None:
    party_of = xml_native.native_ubl_party()
    assert party_of is not None
    parties = [etree.fromstring(_ODD_PARTY)]
    for _, root, _ in _ubl_documents():
        parties.extend(
            e for e in root.iter() if any(isinstance(c.tag, str) and c.tag in _PARTY_CHILDREN
                                          for c in e)
        )  # fmt: skip
    from_c = 0
    for party in parties:
        for account in (None, "DE89 3704 0044 0532 0130 00"):
            want = _outcome(ubl._party_through_lxml, party, account)
            values = party_of(party)
            if values is None:
                continue
            assert _outcome(ubl._party_from_values, values, account) == want, etree.tostring(party)[
                :300
            ]
            from_c += 1
    assert party_of(etree.fromstring(_ODD_PARTY)) is not None
    assert from_c > 500, from_c
    with_comment = _ODD_PARTY.replace("R<![CDATA[ 2]]>", "R<!-- c -->")
    assert party_of(etree.fromstring(with_comment)) is None  # read through lxml
