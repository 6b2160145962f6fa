"""Regenerate ``src/fourflow/adapters/documents/standards_manifest.json`` (a maintainer's tool).

The manifest pins, file by file, the official schemas and rule artefacts FourFlow's validators
read: where each file is published (its official address at a fixed release or commit), its
SHA-256 and size, and where it goes in the standards directory (the layout of
``../shared/data``).

The pins are of the official files, and this tool proves it before writing them: every file of
the local copy (``--data``, default ``../shared/data``) must be byte-identical to the file at
its source path in a clone of the publishing repository at the pinned commit (``--mirrors``:
bare clones named ``owner+name/repo``), compared by git blob id (``git hash-object`` against
``git ls-tree``). A file that is not found there stops the tool. The SHA-256 is then that of
those same bytes.

Usage: ``python tools/standards_manifest.py --mirrors /work/.mirror [--data ../shared/data]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "src" / "fourflow" / "adapters" / "documents" / "standards_manifest.json"


@dataclass(frozen=True)
class Source:
    """A repository at a pinned commit and the official address of its files."""

    repo: str
    commit: str
    #: ``{path}`` is the file's path in the repository (URL-quoted).
    url: str

    def address(self, path: str) -> str:
        return self.url.format(commit=self.commit, path=quote(path))


def github(repo: str, commit: str) -> Source:
    return Source(repo, commit, f"https://raw.githubusercontent.com/{repo}/{{commit}}/{{path}}")


EN16931 = github("ConnectingEurope/eInvoicing-EN16931", "b6c9e06a59812fb1a83585da40923b3678a649ad")
#: The OASIS release tree of UBL 2.1 (docs.oasis-open.org/ubl/os-UBL-2.1/); the bytes are
#: checked against the release-package mirror whose commit 69d9f20 is "Release: UBL 2.1 (OASIS
#: Standard)", in which the tree sits at the same relative paths (xsd/common, xsd/maindoc).
UBL = Source(
    "kduvekot/ubl-release-package",
    "69d9f20189fe7fa551dcc59f17d8480e70cda970",
    "https://docs.oasis-open.org/ubl/os-UBL-2.1/{path}",
)
EPCIS = github("gs1/EPCIS", "2b888befbc071e1c2d388e027b30149b3f51dcef")
MOOV = github("moov-io/iso20022", "05aa282eb151466fd6b80c431e1cf9b2fada9cdd")
CAMT = github("genkgo/camt", "c99e4fe37347cd6d0daf9dc211186aa28794e60f")
#: sepaxml 2.7.0: the tag of the release whose wheel the copies came from.
SEPAXML = github("raphaelm/python-sepaxml", "ff5e7bd066586ec2b6597ed0fc9e2173974d37b0")
DCSA = github("dcsaorg/Conformance-Gateway", "283bf7a1dcbcd9ea8fa6a25230af7c45c136e892")
POACC = github("OpenPEPPOL/poacc-upgrade-3", "0e7e5c790f786350fafb6384c46ca40d3db0b777")
#: Peppol BIS Billing 3.0.19 (May 2025 release).
BILLING = github("OpenPEPPOL/peppol-bis-invoice-3", "78d7f7dfa223f39f8ebd8d35c127f2690e646322")


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    version: str
    directory: str
    used_by: tuple[str, ...]
    license: str
    sources: tuple[Source, ...]
    #: Source folders searched first (in order) for a file of this artefact.
    prefixes: tuple[str, ...] = ("",)


SPECS = (
    Spec(
        "ubl-2.1",
        "OASIS UBL 2.1 XML schemas (common and main documents)",
        "2.1 OS",
        "ubl/xsd-2.1",
        ("UBL reader (Order, DespatchAdvice, ReceiptAdvice, Invoice, CreditNote ... XSD)",),
        "OASIS UBL 2.1 OS, (c) OASIS Open 2013, OASIS IPR Policy",
        (UBL,),
        ("xsd/",),
    ),
    Spec(
        "en16931-validation",
        "CEN/TC 434 EN 16931 validation artefacts (Schematron and compiled XSLT 2.0)",
        "1.3.16",
        "en16931/validation",
        (
            "native business-rule engine (preprocessed Schematron, UBL and CII)",
            "EN 16931 reference validator on Saxon (compiled XSLT 2.0)",
        ),
        "EUPL-1.2",
        (EN16931,),
    ),
    Spec(
        "cii-d16b",
        "UN/CEFACT Cross Industry Invoice D16B XML schemas (EN 16931 subset)",
        "D16B",
        "en16931/cii-schema",
        ("CII reader (CrossIndustryInvoice XSD)",),
        "EUPL-1.2",
        (EN16931,),
        ("cii/schema/",),
    ),
    Spec(
        "iso20022",
        "ISO 20022 message schemas (camt.052/053/054, pain.001/002/008, remt.001)",
        "mixed versions",
        "iso20022/xsd",
        ("ISO 20022 reader (bank statements, payment initiation and status XSD)",),
        "ISO 20022 message schemas, freely published by the ISO 20022 RA",
        (MOOV, CAMT, SEPAXML),
        ("docs/specifications/", "assets/", "sepaxml/schemas/"),
    ),
    Spec(
        "epcis-2.0",
        "GS1 EPCIS 2.0 JSON Schema, JSON-LD context and XML schemas",
        "2.0",
        "epcis/schema",
        ("EPCIS reader (JSON Schema and XSD)",),
        "GS1 standard artefacts (GS1 IP policy)",
        (EPCIS,),
    ),
    Spec(
        "dcsa-ebl-3.0",
        "DCSA eBL 3.0.0 OpenAPI specifications (transport document, issuance, surrender, PINT,"
        " Track & Trace)",
        "3.0.0",
        "dcsa/schema",
        ("DCSA eBL reader (OpenAPI component schemas)",),
        "Apache-2.0",
        (DCSA,),
    ),
    Spec(
        "peppol-poacc",
        "Peppol BIS 3 post-award Schematron (Order T01 and others)",
        "2025-Q2",
        "peppol-poacc/schematron",
        ("Peppol Order (T01) arithmetic rules",),
        "(c) OpenPeppol AISBL, published as Peppol BIS artefacts",
        (POACC,),
        ("rules/sch/",),
    ),
    Spec(
        "peppol-billing",
        "Peppol BIS Billing 3 Schematron (PEPPOL-EN16931-UBL/CII and the CEN rules it bundles)",
        "3.0.19",
        "peppol-billing/schematron",
        ("Peppol BIS Billing 3 rules (native rule engine)",),
        "(c) OpenPeppol AISBL, published as Peppol BIS artefacts; CEN-EN16931-*.sch EUPL-1.2",
        (BILLING,),
        ("rules/sch/",),
    ),
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def _tree(mirrors: Path, source: Source) -> dict[str, list[str]]:
    """blob id -> paths at the source's commit."""
    repo = mirrors / source.repo.replace("/", "+") / "repo"
    out: dict[str, list[str]] = {}
    for line in _git(repo, "ls-tree", "-r", "-z", source.commit).split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        out.setdefault(meta.split()[2], []).append(path)
    return out


def _norm(path: str) -> str:
    return path.replace(" ", "_").replace("(", "").replace(")", "")


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _locate(
    spec: Spec, rel: str, blob: str, trees: dict[Source, dict[str, list[str]]]
) -> tuple[Source, str]:
    name = PurePosixPath(rel).name
    for source in spec.sources:
        paths = trees[source].get(blob, [])
        ranked = sorted(
            paths,
            key=lambda p: (
                not any(p.startswith(x) for x in spec.prefixes),
                not _norm(p).endswith(_norm(rel)),
                PurePosixPath(p).name != name,
                p,
            ),
        )
        if ranked:
            return source, ranked[0]
    raise SystemExit(f"{spec.directory}/{rel}: not found at any pinned source commit")


def build(data: Path, mirrors: Path) -> dict[str, object]:
    artefacts = []
    trees: dict[Source, dict[str, list[str]]] = {}
    for spec in SPECS:
        for source in spec.sources:
            if source not in trees:
                trees[source] = _tree(mirrors, source)
        files = []
        root = data / spec.directory
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            raw = path.read_bytes()
            source, at = _locate(spec, rel, _blob_id(raw), trees)
            files.append(
                {
                    "path": rel,
                    "url": source.address(at),
                    "sha256": hashlib.sha256(raw).hexdigest(),
                    "size": len(raw),
                }
            )
        artefacts.append(
            {
                "name": spec.name,
                "title": spec.title,
                "version": spec.version,
                "directory": spec.directory,
                "used_by": list(spec.used_by),
                "license": spec.license,
                "origin": [f"{s.repo}@{s.commit}" for s in spec.sources],
                "files": files,
            }
        )
    return {"format": 1, "artefacts": artefacts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--mirrors", type=Path, required=True)
    args = parser.parse_args()
    manifest = build(args.data, args.mirrors)
    OUT.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    count = sum(len(a["files"]) for a in manifest["artefacts"])  # type: ignore[attr-defined]
    print(f"{OUT}: {len(SPECS)} artefacts, {count} files", file=sys.stderr)


if __name__ == "__main__":
    main()
