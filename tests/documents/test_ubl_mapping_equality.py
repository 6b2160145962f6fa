"""The UBL mapping (``ubl.map_document``, UBL -> domain) gives exactly the documents it gave
before it was made cheaper (issue 19): on every UBL document in the standards directory (orders,
order responses, despatch and receipt advices, invoices, credit notes, freight invoices, the
documents embedded in the VEFA rule tests too) and on 600 seeded mutations of them (amounts
nudged or negated, elements dropped, ids and codes changed, dates moved, comments inside
values).

What is compared is the ``repr`` of the mapped ``Document`` (every field: parties and their
identifiers, lines with their decimals, totals, dates, references, carriage, format) or, when
the mapping refuses the document, the error's type and message. ``ubl_mapping_digests.json``
holds a SHA-256 prefix of each, computed with the mapper as of commit 17625a4 (before the change):
``python -m tests.documents.test_ubl_mapping_equality`` rewrites it, and must only be run when
the mapping is meant to change.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from fourflow.adapters.documents import ubl
from fourflow.adapters.documents.standards import standards_dir
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme, uscc_check_character, validate_uscc
from fourflow.domain.parties import Identifier

DIGESTS = Path(__file__).with_name("ubl_mapping_digests.json")
VEFA = "http://difi.no/xsd/vefa/validator/1.0"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _kind(root: etree._Element) -> ubl.UblKind | None:
    if not isinstance(root.tag, str):
        return None
    qname = etree.QName(root)
    return ubl.ROOTS.get((qname.namespace or "", qname.localname))


def sample_documents() -> Iterator[tuple[str, etree._Element]]:
    """Every UBL document FourFlow reads in the standards directory, embedded ones too."""
    base = standards_dir()
    for path in sorted(base.rglob("*.xml")):
        head = path.read_bytes()
        if b"urn:oasis:names:specification:ubl:schema:xsd:" not in head:
            continue
        try:
            root = etree.fromstring(head, _PARSER)
        except etree.XMLSyntaxError:
            continue  # deliberately broken files of the test suites
        where = str(path.relative_to(base))
        if root.tag == f"{{{VEFA}}}testSet":
            for n, test in enumerate(root.iterfind(f"{{{VEFA}}}test"), start=1):
                for child in test:
                    if isinstance(child.tag, str) and _kind(child) is not None:
                        yield f"{where}#{n}", etree.fromstring(etree.tostring(child))
                        break
        elif _kind(root) is not None:
            yield where, root


_AMOUNT = re.compile(r"(<(?:\w+:)?\w*(?:Amount|Quantity)\b[^>]*>)(-?[0-9]+(?:\.[0-9]+)?)(<)")
_MUTATIONS = ("nudge", "negate", "drop", "code", "date", "comment", "blank")


def _mutate(xml: str, rng: random.Random) -> str:
    kind = rng.choice(_MUTATIONS)
    if kind in ("nudge", "negate"):
        hits = list(_AMOUNT.finditer(xml))
        if not hits:
            return xml
        m = rng.choice(hits)
        value = float(m.group(2))
        new = f"{value + rng.choice((-0.01, 0.01, 1)):.2f}" if kind == "nudge" else f"{-value:.2f}"
        return xml[: m.start(2)] + new + xml[m.end(2) :]
    if kind == "drop":
        tags = re.findall(r"<((?:\w+:)?\w+)[ >]", xml)[1:]  # not the root
        if not tags:
            return xml
        tag = rng.choice(tags)
        end = r"(?=[\s/>])"
        drop = rf"<{tag}{end}[^>]*>(?:(?!<{tag}{end}).)*?</{tag}>"
        return re.sub(drop, "", xml, count=1, flags=re.S)
    if kind == "code":
        for tag in ("DocumentCurrencyCode", "ID", "CompanyID", "EndpointID", "Name"):
            if f"<cbc:{tag}" in xml and rng.random() < 0.5:
                return re.sub(rf"(<cbc:{tag}\b[^>]*>)[^<]*", r"\1ZZ", xml, count=1)
        return re.sub(r"(<cbc:ID\b[^>]*>)[^<]*(</cbc:ID>)", r"\1 \2", xml, count=1)
    if kind == "date":
        return re.sub(
            r"<cbc:(IssueDate|DueDate|ActualDeliveryDate|PaymentDueDate)>[^<]*",
            r"<cbc:\1>2001-01-01",
            xml,
            count=1,
        )
    hits = list(re.finditer(r"(<(?:\w+:)?\w+\b[^>]*>)([^<]*\S[^<]*)(</)", xml))
    if not hits:
        return xml
    m = rng.choice(hits)
    text = m.group(2)
    if kind == "blank":
        return xml[: m.start(2)] + "  " + xml[m.end(2) :]
    cut = rng.randint(0, len(text))  # a comment inside a value: its string value joins both
    return xml[: m.start(2)] + text[:cut] + "<!-- c -->" + text[cut:] + xml[m.end(2) :]


def simulated(count: int, seed: int = 1919) -> Iterator[tuple[str, etree._Element]]:
    """``count`` seeded mutations (1 to 3 each) of the UBL samples that map (the rule tests'
    snippets without an IssueDate do not), the mutations that still parse."""
    rng = random.Random(seed)
    bases = [
        etree.tostring(root, encoding="unicode")
        for where, root in sample_documents()
        if mapped(root, where).startswith("Document(")
    ]
    for i in range(count):
        xml = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            xml = _mutate(xml, rng)
        try:
            root = etree.fromstring(xml.encode("utf-8"), _PARSER)
        except etree.XMLSyntaxError:
            continue
        yield f"simulated#{i}", root


def mapped(root: etree._Element, where: str) -> str:
    """The ``repr`` of the mapped document, or the error the mapping raised."""
    kind = _kind(root)
    assert kind is not None
    # Vyper, imported elsewhere in the suite, sets the thread's decimal context to 78 digits; the
    # mapping rounds unit prices in its own context, so the digests hold under that one too.
    try:
        with decimal.localcontext(decimal.Context(prec=78)):
            return repr(ubl.map_document(root, kind, doc_id=where, submitter="org-1"))
    except Exception as exc:  # the same refusal is part of the same output
        return f"{type(exc).__name__}: {exc}"


def digests() -> dict[str, str]:
    found: dict[str, str] = {}
    for where, root in (*sample_documents(), *simulated(600)):
        found[where] = hashlib.sha256(mapped(root, where).encode()).hexdigest()[:16]
    return found


def test_every_ubl_sample_and_mutation_maps_as_before() -> None:
    expected: dict[str, str] = json.loads(DIGESTS.read_text(encoding="utf-8"))
    got = digests()
    assert got.keys() == expected.keys()
    differ = [where for where, digest in got.items() if expected[where] != digest]
    assert not differ, f"{len(differ)} documents map differently: {differ[:20]}"
    assert len(got) > 500
    kinds = {_kind(root) for _where, root in sample_documents()}
    assert {k.root for k in kinds if k is not None} >= {
        "Invoice", "CreditNote", "Order", "OrderResponse", "DespatchAdvice", "ReceiptAdvice",
    }  # fmt: skip


def test_the_mutations_reach_refusals_and_comments() -> None:
    outputs = [mapped(root, where) for where, root in simulated(600)]
    assert sum(not o.startswith("Document(") for o in outputs) > 5  # some are refused
    assert sum(o.startswith("Document(") for o in outputs) > 300
    assert sum("<!-- c -->" in etree.tostring(root).decode() for _w, root in simulated(600)) > 50


def _reference_company_identifier(value: str, *, scheme_id: str | None, tax: bool) -> Identifier:
    """``company_identifier`` before it skipped short ASCII values: every value tried."""
    try:
        return Identifier(IdScheme.USCC, validate_uscc(value))
    except DomainValueError:
        pass
    if tax:
        return Identifier(IdScheme.VAT, "".join(value.split()))
    return ubl.scheme_identifier(scheme_id, value)


def test_a_company_id_is_read_as_before_whatever_its_length() -> None:
    valid = "91110000600037341L"
    values = [
        valid, valid.lower(), "9111 0000-6000 3734 1L", valid[:-1], valid[:-1] + "X", "",
        "57151520", "NL8200.98.395.B.01", " " * 20, "91110000600037341",
        "\ufb00" + valid[2:],  # a ligature that upper-cases to two letters
        "9111000060003734\u00df", "911100006000373\ufb001L",
    ]  # fmt: skip
    first17 = "91110000FF0037341"  # a USCC with "FF" in it, written with the ligature
    ligature = "91110000\ufb000037341" + uscc_check_character(first17)
    assert len(ligature) == 17 and validate_uscc(ligature) == first17 + ligature[-1]
    values.append(ligature)
    for value in values:
        for scheme_id in (None, "0088", "VAT"):
            for tax in (False, True):
                got = ubl.company_identifier(value, scheme_id=scheme_id, tax=tax)
                assert got == _reference_company_identifier(value, scheme_id=scheme_id, tax=tax)
    assert ubl.company_identifier(valid.lower(), scheme_id=None, tax=True).scheme is IdScheme.USCC
    assert ubl.company_identifier(ligature, scheme_id=None, tax=True).scheme is IdScheme.USCC


if __name__ == "__main__":  # rewrite the digests: only when the mapping is meant to change
    DIGESTS.write_text(json.dumps(digests(), indent=0, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {DIGESTS}\n")
