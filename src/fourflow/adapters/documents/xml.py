"""Safe XML: no network, no DTDs or entities, bounded size and depth; canonical form (C14N).

Every XML reader parses through ``parse_xml``. A document that declares a DTD is refused
outright (that is where billion-laughs and XXE live); libxml2's own limits (no ``huge_tree``)
bound nesting depth and text node size.
"""

from __future__ import annotations

import re

from lxml import etree

from fourflow.adapters.documents import xml_native
from fourflow.adapters.documents.errors import DocumentRejectedError, Problem

MAX_XML_BYTES = 32 * 1024 * 1024
_HEAD = 4096


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        recover=False,
    )


# A bare document type name (``<!DOCTYPE project>``) declares nothing and loads nothing; any
# internal subset, SYSTEM or PUBLIC identifier, or entity declaration is refused.
_BARE_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[A-Za-z_][\w.:\-]*\s*>")


def _declares_dtd(raw: bytes) -> bool:
    if b"<!ENTITY" in raw:
        return True
    if b"<!DOCTYPE" not in raw:
        return False
    return _BARE_DOCTYPE.sub(b"", raw, count=1).find(b"<!DOCTYPE") >= 0


def parse_xml(raw: bytes, source: str) -> etree._Element:
    """Parse untrusted XML bytes, or raise ``DocumentRejectedError`` saying why and where."""
    if len(raw) > MAX_XML_BYTES:
        raise DocumentRejectedError(
            [Problem("TOO_LARGE", f"{source}: {len(raw)} bytes exceeds {MAX_XML_BYTES}")]
        )
    if _declares_dtd(raw):
        raise DocumentRejectedError(
            [Problem("DTD_FORBIDDEN", f"{source}: DTDs and entity declarations are not accepted")]
        )
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise DocumentRejectedError(
            [Problem("NOT_XML", f"{source}: {exc.msg}", f"line {line}" if line else "")]
        ) from None
    except ValueError as exc:  # e.g. unicode strings with encoding declarations
        raise DocumentRejectedError([Problem("NOT_XML", f"{source}: {exc}")]) from None
    tree = root.getroottree()
    doctype = str(getattr(tree.docinfo, "doctype", "") or "")
    if doctype and not _BARE_DOCTYPE.fullmatch(doctype.encode("utf-8")):
        raise DocumentRejectedError(
            [Problem("DTD_FORBIDDEN", f"{source}: DTDs and entity declarations are not accepted")]
        )
    return root


# The first start tag after the prolog (declaration, comments, processing instructions).
_FIRST_TAG = re.compile(
    rb"^(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE\s[^>\[]*>)*"
    rb"<([A-Za-z_][\w.\-]*)(?::([A-Za-z_][\w.\-]*))?([^>]*)>",
    re.DOTALL,
)
_XMLNS = re.compile(rb"""xmlns(?::([\w.\-]+))?\s*=\s*["']([^"']*)["']""")


def root_name(raw: bytes) -> tuple[str, str] | None:
    """``(namespace, local name)`` of the root element, read from the head, or None.

    A regular expression over the first start tag: cheap, and it never expands anything.
    Only UTF-8/ASCII-compatible heads are recognised (others fall through to the parser).
    """
    match = _FIRST_TAG.match(raw.removeprefix(b"\xef\xbb\xbf")[:_HEAD])
    if match is None:
        return None
    first, second, attributes = match.groups()
    prefix, local = (first, second) if second is not None else (b"", first)
    for ns_prefix, uri in _XMLNS.findall(attributes):
        if (ns_prefix or b"") == prefix:
            return uri.decode("utf-8", "replace"), local.decode("utf-8", "replace")
    return ("", local.decode("utf-8", "replace")) if not prefix else None


def canonical_xml(root: etree._Element) -> bytes:
    """The element's canonical form (W3C C14N 1.0, comments removed).

    These are the bytes a content fingerprint is taken over: attribute order, namespace
    declarations, quoting, line ends and character references no longer change it. They are
    libxml2's C14N of the element as lxml hands it over (``etree.tostring(root,
    method="c14n", with_comments=False)``), quirks included, so that every stored
    fingerprint still verifies. A document element is written by the C extension of
    :mod:`~fourflow.adapters.documents.xml_native` (the same bytes in about a quarter of
    the time) when it is built and the tree holds nothing it leaves to libxml2; anything else
    by libxml2 (C14N 1.0 in C; lxml's C14N 2.0 is pure Python and several times slower).
    """
    native = xml_native.native_canonical()
    if native is not None:
        found = native(root)
        if found is not None:
            return found
    return bytes(etree.tostring(root, method="c14n", with_comments=False))


def text(element: etree._Element | None) -> str | None:
    """Stripped text of an element, or None when absent or empty."""
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None
