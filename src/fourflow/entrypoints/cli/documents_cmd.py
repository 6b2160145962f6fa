"""CLI commands for documents: ingest, validate, sign, prove, verify-proof (docs/cli.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from fourflow.bootstrap import parse_json, validate_document
from fourflow.domain.scenarios import Scenario
from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import JsonOpt, business_day, platform, relay_now
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.services import evidence, linking
from fourflow.services import ingest as ingest_service
from fourflow.services.common import find_org
from fourflow.services.ingest import DocumentOutcome, SubmittedFile
from fourflow.services.proofs import check_proof, document_proof

SIGNATURE_SUFFIX = ".sig.json"


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if not path.exists():
            raise typer.BadParameter(f"{path} does not exist")
        found = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        yield from (f for f in found if not f.name.endswith(SIGNATURE_SUFFIX))


def _senders(path: Path) -> dict[Path, str]:
    """File (resolved, relative to the senders file's folder) -> the sender's USCC."""
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist")
    named = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            named[(path.parent / row["file"]).resolve()] = str(row["sender"])
        except (ValueError, KeyError, TypeError) as exc:
            raise typer.BadParameter(f"{path}, line {number}: not a sender row ({exc})") from exc
    return named


def _signature_of(path: Path) -> dict[str, Any] | None:
    sig = path.with_name(path.name + SIGNATURE_SUFFIX)
    if not sig.exists():
        return None
    value = json.loads(sig.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else None


def _mapping(path: Path | None) -> dict[str, object] | None:
    if path is None:
        return None
    value = parse_json(path.read_bytes(), str(path))
    if not isinstance(value, dict):
        raise typer.BadParameter(f"{path}: a mapping file is a JSON object")
    return {"mapping": value}


def outcome_row(o: DocumentOutcome) -> dict[str, Any]:
    """The JSON line of one ingested document (docs/cli.md)."""
    doc = o.parsed.document if o.parsed else None
    return {
        "path": o.source,
        "status": o.status,
        "format": doc.source_format if doc else None,
        "kind": doc.kind.value if doc else None,
        "number": doc.number if doc else None,
        "issue_date": doc.issue_date.isoformat() if doc else None,
        "seller": sorted(str(i) for i in doc.seller.identifiers) if doc else [],
        "buyer": sorted(str(i) for i in doc.buyer.identifiers) if doc else [],
        "currency": (doc.currency or (doc.total.currency if doc.total else None)) if doc else None,
        "total": doc.total.plain() if doc and doc.total else None,
        "document_id": o.document_id,
        "fingerprint": o.fingerprint,
        "business_key": o.business_key,
        "errors": list(o.errors),
        "findings": [dict(f) for f in o.findings],
    }


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of documents.")],
    as_org: Annotated[
        str,
        typer.Option(
            "--as",
            help="Submitting organisation (`operator`; another organisation's USCC or id in "
            "demo and simulation homes).",
            callback=home_mode.as_org_callback,
        ),
    ],
    mapping: Annotated[
        Path | None, typer.Option(help="Column-mapping file for CSV/XLSX exports.")
    ] = None,
    scenario: Annotated[
        Scenario | None, typer.Option(help="Scenario of documents that do not state one.")
    ] = None,
    senders: Annotated[
        Path | None,
        typer.Option(
            help="A simulated platform's senders.jsonl: each file is submitted as the member "
            "it names (with `--as operator`; demo and simulation homes).",
            callback=home_mode.acting_path_callback,
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Ingest documents: detect, validate, fingerprint, store, register and anchor them.

    A file ``F`` may come with a detached signature ``F.sig.json`` (see ``fourflow sign``).
    Exits 1 if any document was refused.
    """
    files = list(_files(paths))
    options = _mapping(mapping)
    if senders is not None and as_org != "operator":
        raise typer.BadParameter("--senders submits for the members it names: use --as operator")
    with platform() as p:
        groups: dict[str, list[Path]] = {}
        with p.uow_factory() as uow:
            if senders is None:
                submitter = find_org(uow, p.operator_id() if as_org == "operator" else as_org)
                groups[submitter.id] = files
            else:
                named = _senders(senders)
                for f in files:
                    uscc = named.get(f.resolve())
                    if uscc is None:
                        raise typer.BadParameter(f"{f} is not named in {senders}")
                    groups.setdefault(find_org(uow, uscc).id, []).append(f)
        outcomes: list[DocumentOutcome] = []
        with Progress(console=err_console, transient=True, disable=json_out) as progress:
            task = progress.add_task("ingesting", total=len(files))
            for submitter_id, mine in groups.items():
                reader = p.reader_for(submitter_id, options)
                for start in range(0, len(mine), ingest_service.FILES_PER_TRANSACTION):
                    chunk = mine[start : start + ingest_service.FILES_PER_TRANSACTION]
                    outcomes.extend(
                        ingest_service.ingest_files(
                            uow_factory=p.uow_factory,
                            reader=reader,
                            clock=p.clock,
                            files=[
                                SubmittedFile(str(f), f.read_bytes(), _signature_of(f))
                                for f in chunk
                            ],
                            submitter_id=submitter_id,
                            verifier=p.verifier,
                            scenario=scenario,
                            date_tolerance=dt.timedelta(days=p.settings.date_tolerance_days),
                        )
                    )
                    progress.advance(task, len(chunk))
        with p.chain_writer():  # as the API and the worker: no document in two batches
            ingest_service.anchor_pending(
                uow_factory=p.uow_factory, clock=p.clock, operator_id=p.operator_id()
            )
        linked = linking.link_documents(
            uow_factory=p.uow_factory, in_hand=ingest_service.stored(outcomes)
        )
        # a trade that gained documents (one that waited for its order ...) is verified again
        evidence.reverify_extended(
            uow_factory=p.uow_factory, result=linked, as_of=business_day(p, None)
        )
        placed = evidence.placements(
            uow_factory=p.uow_factory,
            document_ids=[o.document_id for o in outcomes if o.document_id],
            result=linked,
        )
        relay_now(p)
    for o in outcomes:
        row = outcome_row(o)
        where = placed.get(o.document_id or "")
        row["trade"] = where.trade_id if where else None
        row["trade_status"] = where.status if where else None
        row["waits"] = where.waits if where else ""
        if json_out:
            emit_json(row, line=True)
            continue
        colour = {"accepted": "green", "duplicate": "yellow"}.get(o.status, "red")
        what = (
            f"{row['kind']} {row['number']} ({row['format']})"
            if row["kind"]
            else "; ".join(f"{e['message']} {e['location']}".strip() for e in o.errors)
        )
        if where and where.trade_id:
            what += f" -> trade {where.trade_id} ({where.status})"
        elif where and where.waits:
            what += f" -> unlinked: {where.waits}"
        console.print(f"[{colour}]{o.status:<9}[/{colour}] {o.source}: {what}")
    if any(o.status == "rejected" for o in outcomes):
        raise typer.Exit(1)


def validation_row(path: Path, *, rules: bool) -> dict[str, Any]:
    """Validate one file without storing it: its format and every failed rule."""
    found = validate_document(path.read_bytes(), source=str(path), rules=rules)
    issues = [
        {"rule": i.rule, "flag": i.flag, "message": i.message, "location": i.location}
        for i in found.issues
    ]
    return {"path": str(path), "format": found.format, "valid": found.valid, "issues": issues}


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of documents.")],
    rules: Annotated[bool, typer.Option(help="Also run business rules (EN 16931).")] = True,
    json_out: JsonOpt = False,
) -> None:
    """Validate documents against their schemas and business rules; nothing is stored.

    Lists each failed rule with its flag (``fatal`` or ``warning``); exits 1 on any fatal.
    """
    all_valid = True
    for path in _files(paths):
        row = validation_row(path, rules=rules)
        all_valid = all_valid and row["valid"]
        if json_out:
            emit_json(row, line=True)
            continue
        mark = "[green]valid[/green]" if row["valid"] else "[red]invalid[/red]"
        console.print(f"{mark} {path} ({row['format']})")
        for i in row["issues"]:
            console.print(f"  {i['flag']:<7} {i['rule']}: {i['message']} {i['location']}")
    if not all_valid:
        raise typer.Exit(1)


def sign(
    path: Annotated[Path, typer.Argument(help="The document file to sign.")],
    as_org: Annotated[
        str,
        typer.Option(
            "--as",
            help="Signing organisation (USCC or id; demo and simulation homes).",
            callback=home_mode.as_org_callback,
        ),
    ],
    sm2_private_key: Annotated[
        str | None, typer.Option(help="Sign with this SM2 private key (hex) instead.")
    ] = None,
) -> None:
    """Write ``PATH.sig.json``: the organisation's signature of the file's bytes."""
    raw = path.read_bytes()
    with platform() as p:
        with p.uow_factory() as uow:
            org = find_org(uow, as_org)
        signature = p.sign(raw, org.id, sm2_private_key=sm2_private_key)
    out = path.with_name(path.name + SIGNATURE_SUFFIX)
    out.write_text(json.dumps(signature, indent=2) + "\n", encoding="utf-8")
    console.print(f"signed {path} as {org.name}: {out}")


def prove(doc_id: Annotated[str, typer.Argument(help="The stored document's id.")]) -> None:
    """Print the document's proof (fingerprint, Merkle path, anchor) as JSON."""
    with platform() as p:
        proof = document_proof(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), doc_id=doc_id
        )
    emit_json(proof)


def verify_proof(
    proof_file: Annotated[Path, typer.Argument(help="A proof written by `fourflow prove`.")],
    document: Annotated[
        Path | None, typer.Argument(help="The document file, to check too.")
    ] = None,
    chain_url: Annotated[str | None, typer.Option(help="The chain node to ask.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a proof against the chain alone (and the file, when given); exit 1 if it fails."""
    proof = json.loads(proof_file.read_text(encoding="utf-8"))
    with platform() as p:
        ledger = p.ledger_at(chain_url, {"Notary": proof["anchor"]["notary"]})
        result = check_proof(
            proof,
            ledger=ledger,
            raw=document.read_bytes() if document else None,
            reader_factory=lambda: p.reader_for(None),
        )
    if json_out:
        emit_json(
            {"ok": result.ok, "checks": dict(result.checks), "messages": list(result.messages)}
        )
    else:
        for name, passed in result.checks.items():
            console.print(f"{'[green]✓[/green]' if passed else '[red]✗[/red]'} {name}")
        for message in result.messages:
            console.print(f"  {message}")
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the document commands to the ``fourflow`` app."""
    app.command()(ingest)
    app.command()(validate)
    app.command()(sign)
    app.command()(prove)
    app.command("verify-proof")(verify_proof)
