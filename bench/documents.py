"""Document benchmarks: UBL invoices end to end, and EN 16931 rule validation."""

from __future__ import annotations

import gc
import multiprocessing
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from fourflow.adapters.documents.registry import detect
from fourflow.adapters.documents.standards import standards_dir
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.services import ingest
from fourflow.services.ingest import SubmittedFile
from fourflow.services.onboarding import onboard

SAMPLE = ("en16931", "ubl-examples", "ubl-tc434-example1.xml")
SAMPLE_ID = b"<cbc:ID>12115118</cbc:ID>"
UBL_INVOICE_XSD = ("ubl", "xsd-2.1", "maindoc", "UBL-Invoice-2.1.xsd")
# The issue's reference: "lxml parse plus XSD validation of a 20 KB UBL invoice alone runs at
# about 2,900/s on this machine", and the one-process target of 1,000/s is a third of it.
REFERENCE_PER_S, TARGET_PER_S = 2900.0, 1000.0
PG_URL = os.environ.get("FOURFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SUBMITTER_USCC = "91110000600037341L"


def invoices(count: int, offset: int = 0) -> list[bytes]:
    """``count`` distinct copies of a 21 KB EN 16931 UBL invoice (the ID varies)."""
    raw = standards_dir().joinpath(*SAMPLE).read_bytes()
    assert SAMPLE_ID in raw
    return [
        raw.replace(SAMPLE_ID, f"<cbc:ID>B{offset + i}</cbc:ID>".encode(), 1) for i in range(count)
    ]


def _platform(url: str, home: Path) -> Platform:
    return Platform(Settings(home, url, None, "bench"))


def _submitter(p: Platform) -> str:
    with p.uow_factory() as uow:
        org = uow.organisations.by_uscc(SUBMITTER_USCC)
    if org is not None:
        return org.id
    return onboard(uow_factory=p.uow_factory, keystore=p.keystore, name="Bench Supplier",
                   uscc=SUBMITTER_USCC, roles=[Role.SUPPLIER], admit=False).id  # fmt: skip


def _ingest(url: str, home: str, count: int, offset: int) -> tuple[float, float, float]:
    """Ingest ``count`` invoices and anchor them; return the seconds, the warm-up, the CPU.

    The warm-up reads one invoice (not stored) before the clock starts: it compiles the UBL
    2.1 schema set once per process (about 0.5 s), a start-up cost like the imports. The CPU
    seconds are this process's (all its threads; not PostgreSQL's server): unlike the wall
    time, they hardly change with the machine's load.
    """
    files = [
        SubmittedFile(f"inv-{offset + i}.xml", raw) for i, raw in enumerate(invoices(count, offset))
    ]
    gc.freeze()  # as the `fourflow` command does once started (entrypoints/cli/main.py)
    with _platform(url, Path(home)) as p:
        submitter = _submitter(p)
        reader = p.reader_for(submitter)
        warm = time.perf_counter()
        reader.read(invoices(1, -1)[0], source="warm-up.xml")
        start, cpu = time.perf_counter(), time.process_time()
        outcomes = ingest.ingest_files(
            uow_factory=p.uow_factory, reader=reader, clock=p.clock,
            files=files, submitter_id=submitter,
        )  # fmt: skip
        ingest.anchor_pending(uow_factory=p.uow_factory, clock=p.clock, operator_id=submitter)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert all(o.status == "accepted" for o in outcomes), outcomes[0]
    return seconds, start - warm, cpu


def _pg_schema() -> tuple[str, str]:
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{PG_URL}?options=-csearch_path%3D{schema}"


def _drop_schema(schema: str) -> None:
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def parse_xsd_per_s(count: int = 2000) -> float:
    """lxml parse + UBL 2.1 XSD validation alone, invoices per second (the machine's yardstick)."""
    from lxml import etree  # noqa: PLC0415

    schema = etree.XMLSchema(etree.parse(str(standards_dir().joinpath(*UBL_INVOICE_XSD))))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    raws = invoices(count)
    for raw in raws[:50]:
        assert schema.validate(etree.fromstring(raw, parser))
    start = time.perf_counter()
    for raw in raws:
        schema.validate(etree.fromstring(raw, parser))
    return count / (time.perf_counter() - start)


def bench_ubl_ingest(line) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """UBL invoices per second: parse, XSD, map, canonicalise, fingerprint, store, anchor.

    First the yardstick: lxml parse + XSD alone on this machine now. Each ingest line then
    carries ``target_here``: the 1,000/s target scaled by how fast this machine runs the
    yardstick against the issue's 2,900/s (a slower or busier virtual machine lowers both).
    """
    count = 1000
    reference = parse_xsd_per_s()
    yield line(
        "ingest.ubl_parse_xsd_only_per_s", reference, "invoices/s",
        reference_in_issue=REFERENCE_PER_S, load=round(os.getloadavg()[0], 2),
    )  # fmt: skip
    target_here = round(TARGET_PER_S * reference / REFERENCE_PER_S)
    for backend in ("sqlite", "postgresql"):
        for workers in (1, 2):
            home = tempfile.mkdtemp(prefix="fourflow-bench-")
            schema = None
            if backend == "sqlite":
                url = f"sqlite:///{home}/b.db"
            else:
                schema, url = _pg_schema()
            try:
                with _platform(url, Path(home)) as p:  # migrate once, before the clock runs
                    _submitter(p)
                per = count // workers
                # Each worker times its own ingestion (process start-up, imports and the schema
                # compilation excluded); the slowest worker's time bounds the throughput.
                with multiprocessing.get_context("spawn").Pool(workers) as pool:
                    timed = pool.starmap(
                        _ingest, [(url, home, per, w * per) for w in range(workers)]
                    )
                yield line(
                    f"ingest.ubl_invoices_per_s.{backend}.{workers}proc",
                    per * workers / max(t for t, _, _ in timed), "invoices/s",
                    invoices=per * workers, bytes_each=21501,
                    warmup_s=round(max(w for _, w, _ in timed), 2),
                    cpu_ms_per_invoice=round(1000 * sum(c for _, _, c in timed) / count, 3),
                    load=round(os.getloadavg()[0], 2), target_here=target_here,
                )  # fmt: skip
            finally:
                if schema:
                    _drop_schema(schema)


def bench_en16931(line) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """EN 16931 business-rule validations per second (official XSLT on Saxon-HE)."""
    raws = invoices(50)
    spec = detect(raws[0])
    assert spec is not None and spec.validate is not None
    spec.validate(raws[0], source="warm", rules=True)
    start = time.perf_counter()
    for i, raw in enumerate(raws):
        spec.validate(raw, source=f"b{i}", rules=True)
    seconds = time.perf_counter() - start
    yield line(
        "validation.en16931_ubl_per_s", len(raws) / seconds, "invoices/s", rules="EN16931-UBL"
    )
