"""Safe XML: no network, no DTDs or entities, bounded size and depth; canonical form (C14N 2.0).

Every XML reader parses through ``parse_xml``. A document that declares a DTD is refused
outright (that is where billion-laughs and XXE live); libxml2's own limits (no ``huge_tree``)
bound nesting depth and text node size.
"""

from __future__ import annotations

from lxml import etree

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


def parse_xml(raw: bytes, source: str) -> etree._Element:
    """Parse untrusted XML bytes, or raise ``DocumentRejectedError`` saying why and where."""
    if len(raw) > MAX_XML_BYTES:
        raise DocumentRejectedError(
            [Problem("TOO_LARGE", f"{source}: {len(raw)} bytes exceeds {MAX_XML_BYTES}")]
        )
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
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
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise DocumentRejectedError(
            [Problem("DTD_FORBIDDEN", f"{source}: DTDs and entity declarations are not accepted")]
        )
    return root


def root_name(raw: bytes) -> tuple[str, str] | None:
    """``(namespace, local name)`` of the root element, read safely from the head, or None."""
    head = raw[:_HEAD] if len(raw) > _HEAD else raw
    if b"<!DOCTYPE" in raw[:_HEAD] or b"<!ENTITY" in raw[:_HEAD]:
        return None
    try:
        events = etree.iterparse(
            _BytesReader(head), events=("start",), resolve_entities=False, no_network=True,
            load_dtd=False, huge_tree=False, recover=True,
        )  # fmt: skip
        for _event, element in events:
            qname = etree.QName(element)
            return qname.namespace or "", qname.localname
    except etree.XMLSyntaxError:
        return None
    return None


class _BytesReader:
    """A file-like object over bytes for iterparse."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk


def canonical_xml(root: etree._Element) -> bytes:
    """The element's C14N 2.0 canonical form: the bytes a content fingerprint is taken over."""
    return bytes(etree.tostring(root, method="c14n2"))


def text(element: etree._Element | None) -> str | None:
    """Stripped text of an element, or None when absent or empty."""
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None
