"""The native business-rule engine against the official XSLT, and UBL ingest with the rules on.

One run prints, on the same machine and load:

* ``rules.yardstick_parse_xsd_per_s``: lxml parse + UBL 2.1 XSD of the 21 KB CEN example;
* ``rules.official_xslt_per_s``: the official EN 16931 XSLT on Saxon (what ``validate`` runs);
* ``rules.native_engine_per_s``: the native engine alone on an already parsed invoice (the
  issue's target: 2,000/s, twenty times the official XSLT), with ``stylesheet_runs``: on how
  many of the invoices a stylesheet ran (the asserts the native pass leaves to it; 0 since
  it decides every EN 16931 UBL assert), as on the two-thread and ingest lines;
* ``rules.native_engine_2threads_per_s``: the same on two threads (libxslt runs without the GIL);
* ``rules.native_engine_peppol_cpu_ms``: CPU per invoice of EN 16931 + Peppol BIS Billing 3 on
  Peppol's ``base-example.xml`` (what ingest runs on an invoice claiming Peppol), and of each
  rule set alone on it;
* ``rules.native_engine_family_cpu_ms``: the stylesheet's CPU per invoice, whole and without
  each structural rule family (:func:`family_cpu_ms`), beside a one-walk Python index of
  the document's paths (what deciding those families outside the stylesheet would cost);
* ``rules.native_xpath_us``: thread CPU microseconds per invoice the EN 16931 UBL native pass
  spends in libxml2's XPath (its tests, the globals it binds, the named sets' walk), in all
  and for the costliest tests, from a profiling build (:func:`xpath_profile`);
* ``rules.native_pass_cpu_ms``: CPU per invoice of the engine as it runs (the C native pass,
  and the stylesheet for what it leaves, nothing for EN 16931 UBL) beside the
  whole stylesheet alone (``RuleEngine(native=False)``), alternated in one sitting, and how
  many of the rule set's asserts the native pass decides;
* ``rules.native_pass_cii_cpu_ms``: the same for the EN 16931 CII rules on the CEN CII
  examples, with ``stylesheet_runs`` (0 since the pass decides every CII assert too);
* ``rules.python_backend_cpu_ms``: CPU per invoice of the experimental Python backend
  (asserts compiled to Python over a one-pass index, the rest on a reduced XSLT) beside the
  XSLT engine's, alternated in one sitting, and how many asserts it leaves to the XSLT;
* ``rules.ubl_ingest_per_s.<backend>.<n>proc``: UBL ingest end to end with the rules on
  (parse, XSD, rules, map, fingerprint, store, anchor) on SQLite and PostgreSQL, one and two
  processes (targets: 700/s and 1,200/s).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lxml import etree

from bench import documents
from fourflow.adapters.documents import cextension, en16931, native_rules, peppol_functions
from fourflow.adapters.documents.business_rules import STYLESHEET_RUNS, RuleEngine, RuleSet
from fourflow.adapters.documents.schematron import compile_schematron
from fourflow.adapters.documents.standards import standards_dir

Line = Callable[..., str]
ENGINE_TARGET, ONE_PROC_TARGET, TWO_PROC_TARGET = 2000.0, 700.0, 1200.0


def _trees(count: int) -> list[etree._Element]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return [etree.fromstring(raw, parser) for raw in documents.invoices(count)]


def official_per_s(count: int = 100) -> float:
    """The official XSLT on Saxon, invoices per second (stylesheet compiled beforehand)."""
    trees = _trees(count)
    en16931.check_rules(trees[0], en16931.Syntax.UBL)
    start = time.perf_counter()
    for tree in trees:
        en16931.check_rules(tree, en16931.Syntax.UBL)
    return count / (time.perf_counter() - start)


def native_per_s(count: int = 1000, threads: int = 1) -> tuple[float, float, float, int]:
    """The native engine on parsed invoices: invoices per second, first-use compile seconds,
    CPU milliseconds per invoice (this process, all threads: hardly moved by the load), and on
    how many of the invoices the stylesheet ran (the asserts the native pass leaves to it;
    0 when it decides all)."""
    engine = RuleEngine(standards_dir())
    compile_start = time.perf_counter()
    engine.prepare(RuleSet.EN16931_UBL)
    compile_s = time.perf_counter() - compile_start
    trees = _trees(count)
    assert not [i for i in engine.check(trees[0], RuleSet.EN16931_UBL) if i.flag == "fatal"]

    def run(chunk: list[etree._Element]) -> None:
        engine.prepare(RuleSet.EN16931_UBL)
        for tree in chunk:
            engine.check(tree, RuleSet.EN16931_UBL)

    chunks = [trees[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda c: engine.prepare(RuleSet.EN16931_UBL), range(threads)))
        runs = STYLESHEET_RUNS[RuleSet.EN16931_UBL]
        start, cpu = time.perf_counter(), time.process_time()
        list(pool.map(run, chunks))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        runs = STYLESHEET_RUNS[RuleSet.EN16931_UBL] - runs
    return count / seconds, compile_s, 1000 * cpu / count, runs


def _ingest_counted(
    url: str, home: str, count: int, offset: int, rules: bool, read_threads: int
) -> tuple[float, float, float, int]:
    """:func:`bench.documents._ingest` (in a worker process) with the number of documents the
    rule sets' stylesheets ran on while it ingested (their fallback for asserts the native
    pass does not decide)."""
    before = sum(STYLESHEET_RUNS.values())
    seconds, warm, cpu = documents._ingest(url, home, count, offset, rules, read_threads)
    return seconds, warm, cpu, sum(STYLESHEET_RUNS.values()) - before


def peppol_cpu_ms(count: int = 300, passes: int = 5) -> dict[str, float]:
    """CPU milliseconds per invoice (best of ``passes``) on Peppol's base example: EN 16931
    alone, Peppol BIS Billing 3 alone, and both (as ingest runs them on a Peppol invoice)."""
    engine = RuleEngine(standards_dir())
    path = standards_dir() / "peppol-billing" / "examples" / "examples" / "base-example.xml"
    trees = [etree.parse(str(path)).getroot() for _ in range(count)]
    sets = {
        "en16931": (RuleSet.EN16931_UBL,),
        "peppol": (RuleSet.PEPPOL_UBL,),
        "both": (RuleSet.EN16931_UBL, RuleSet.PEPPOL_UBL),
    }
    engine.prepare(RuleSet.EN16931_UBL, RuleSet.PEPPOL_UBL)
    assert not [i for i in engine.check(trees[0], RuleSet.PEPPOL_UBL) if i.flag == "fatal"]
    out: dict[str, float] = {}
    for name, rule_sets in sets.items():
        best = float("inf")
        for _ in range(passes):
            cpu = time.process_time()
            for tree in trees:
                for rule_set in rule_sets:
                    engine.check(tree, rule_set)
            best = min(best, (time.process_time() - cpu) / count)
        out[name] = round(1000 * best, 3)
    return out


def python_backend_cpu_ms(count: int = 300, passes: int = 5) -> dict[str, float]:
    """CPU milliseconds per invoice (best of ``passes``) of the EN 16931 UBL rules on the
    Python backend (``RuleEngine(backend="python")``: asserts compiled to Python, the rest
    on a reduced XSLT) and on the XSLT engine, alternated in one sitting; and how many of the
    rule set's asserts the Python backend leaves to the XSLT."""
    engines = {
        "python": RuleEngine(standards_dir(), backend="python"),
        "xslt": RuleEngine(standards_dir(), backend="xslt"),
    }
    best = _alternated_cpu_s(engines, count, passes)
    backend = engines["python"].python(RuleSet.EN16931_UBL).python
    return {
        "python": round(1000 * best["python"], 3),
        "xslt": round(1000 * best["xslt"], 3),
        "fallback_asserts": float(len(backend.fallback)),
        "asserts": float(len(backend.asserts)),
    }


def _alternated_cpu_s(engines: dict[str, RuleEngine], count: int, passes: int) -> dict[str, float]:
    """CPU seconds an invoice of each engine on the EN 16931 UBL rules over ``count`` simulated
    invoices, the best of ``passes`` rounds that run the engines one after the other."""
    trees = _trees(count)
    for engine in engines.values():
        engine.prepare(RuleSet.EN16931_UBL)
        assert not [i for i in engine.check(trees[0], RuleSet.EN16931_UBL) if i.flag == "fatal"]
    best = dict.fromkeys(engines, float("inf"))
    for _ in range(passes):
        for name, engine in engines.items():
            cpu = time.process_time()
            for tree in trees:
                engine.check(tree, RuleSet.EN16931_UBL)
            best[name] = min(best[name], (time.process_time() - cpu) / count)
    return best


def native_pass_cpu_ms(count: int = 300, passes: int = 5) -> dict[str, float]:
    """CPU milliseconds per invoice (best of ``passes``) of the EN 16931 UBL rules with the
    native pass (the default engine) and with the whole stylesheet alone, alternated in one
    sitting; and how many asserts the native pass decides (0: its extension is not built)."""
    engines = {
        "native": RuleEngine(standards_dir()),
        "xslt_alone": RuleEngine(standards_dir(), native=False),
    }
    best = _alternated_cpu_s(engines, count, passes)
    split = engines["native"].hybrid(RuleSet.EN16931_UBL)
    return {
        **{name: round(1000 * seconds, 3) for name, seconds in best.items()},
        "native_asserts": float(0 if split is None else len(split.native.numbers)),
        "asserts": float(len(engines["native"].compiled(RuleSet.EN16931_UBL).asserts)),
    }


def cii_cpu_ms(rounds: int = 30, passes: int = 5) -> dict[str, float]:
    """CPU milliseconds per invoice (best of ``passes``) of the EN 16931 CII rules on the CEN
    CII examples (``en16931/cii-examples``, each ``rounds`` times a pass) with the native
    pass and with the whole stylesheet alone, alternated in one sitting; on how many of the
    native engine's checks a stylesheet ran; how many asserts the pass decides."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    folder = standards_dir() / "en16931" / "cii-examples"
    trees = [etree.parse(str(p), parser).getroot() for p in sorted(folder.glob("*.xml"))]
    engines = {
        "native": RuleEngine(standards_dir()),
        "xslt_alone": RuleEngine(standards_dir(), native=False),
    }
    for engine in engines.values():
        engine.prepare(RuleSet.EN16931_CII)
    best = dict.fromkeys(engines, float("inf"))
    runs = 0
    for _ in range(passes):
        for name, engine in engines.items():
            before = STYLESHEET_RUNS[RuleSet.EN16931_CII]
            cpu = time.process_time()
            for _ in range(rounds):
                for tree in trees:
                    engine.check(tree, RuleSet.EN16931_CII)
            elapsed = time.process_time() - cpu
            best[name] = min(best[name], elapsed / (rounds * len(trees)))
            if name == "native":
                runs += STYLESHEET_RUNS[RuleSet.EN16931_CII] - before
    split = engines["native"].hybrid(RuleSet.EN16931_CII)
    return {
        **{name: round(1000 * seconds, 3) for name, seconds in best.items()},
        "stylesheet_runs": float(runs),
        "checks": float(passes * rounds * len(trees)),
        "documents": float(len(trees)),
        "native_asserts": float(0 if split is None else len(split.native.numbers)),
        "asserts": float(len(engines["native"].compiled(RuleSet.EN16931_CII).asserts)),
    }


def family(rule: str) -> str:
    """A rule id's family: ``UBL-CR``, ``UBL-SR``, ``BR-CL``, ``BR-DEC``, ``BR-CO``, a VAT
    category's ``BR-S`` ..., or ``BR`` for the plain ``BR-nn``."""
    found = re.match(r"(UBL-CR|UBL-SR|UBL-DT|BR-CL|BR-DEC|BR-CO|BR-[A-Z]+(?=-)|BR)", rule)
    return found.group(1) if found else rule


STRUCTURAL = ("UBL-CR", "UBL-SR", "BR-CL", "BR-DEC")


def family_cpu_ms(count: int = 200, passes: int = 5) -> dict[str, float]:
    """What the structural rule families cost in the EN 16931 UBL stylesheet, and what one
    walk of the tree in Python costs (best of ``passes`` over ``count`` parsed invoices, all
    alternated in one sitting).

    ``all``: the whole sheet; ``without_<family>``: the sheet compiled without that family's
    asserts (``compile_schematron(only=...)``: every rule context still shadows later rules),
    so ``all - without_<family>`` is what the family costs; ``without_structural``: without
    the families one walk of the tree could decide (:data:`STRUCTURAL`: forbidden elements,
    cardinality, code lists, decimal places); ``python_walk``: that one walk in Python (every
    element's path from the root counted, and its attributes), the least a Python evaluator
    of those families would spend.
    """
    engine = RuleEngine(standards_dir())
    path = engine.path_of(RuleSet.EN16931_UBL)
    full = engine.compiled(RuleSet.EN16931_UBL)
    numbers = range(len(full.asserts))
    leave = {f"without_{f}": {f} for f in STRUCTURAL}
    leave["without_structural"] = set(STRUCTURAL)
    sheets: dict[str, etree.XSLT] = {"all": etree.XSLT(etree.fromstring(full.xslt.encode()))}
    for name, left in leave.items():
        only = frozenset(n for n in numbers if family(full.asserts[n].rule) not in left)
        reduced = compile_schematron(path, functions=peppol_functions.PEPPOL_FUNCTIONS, only=only)
        sheets[name] = etree.XSLT(etree.fromstring(reduced.xslt.encode()))
    trees = [tree.getroottree() for tree in _trees(count)]
    runs: dict[str, Callable[[etree._ElementTree], object]] = {
        **sheets,
        "python_walk": lambda tree: _paths(tree.getroot()),
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(passes):
        for name, run in runs.items():
            cpu = time.process_time()
            for tree in trees:
                run(tree)
            best[name] = min(best[name], (time.process_time() - cpu) / count)
    return {name: round(1000 * seconds, 3) for name, seconds in best.items()}


def _paths(root: etree._Element) -> dict[str, int]:
    """Every element's path from ``root`` (Clark names) with how many elements have it, and
    each attribute's path: what the structural families read."""
    paths: dict[str, int] = {}
    stack = [(root, "")]
    while stack:
        element, prefix = stack.pop()
        for child in element.iterchildren(etree.Element):
            here = prefix + "/" + child.tag
            paths[here] = paths.get(here, 0) + 1
            if len(child):
                stack.append((child, here))
            for name in child.attrib:
                paths[here + "/@" + str(name)] = 1
    return paths


def xpath_profile(count: int = 300, top: int = 6) -> dict[str, object]:
    """Thread CPU microseconds per invoice that the EN 16931 UBL native pass spends in
    libxml2's XPath over ``count`` simulated invoices, in all and for the ``top`` costliest
    tests (the rules they decide, or the global they bind), from a profiling build of the
    extension (``-DFF_PROFILE``, compiled into a temporary directory; ``make setup``'s build
    has no timers). The timers themselves add about 0.1 us a test."""
    with tempfile.TemporaryDirectory(prefix="fourflow-rules-profile-") as scratch:
        cextension.build(
            native_rules.SOURCE, native_rules.MODULE, Path(scratch),
            ["-ffp-contract=off", "-DFF_PROFILE"],
        )  # fmt: skip
        module = cextension.load(
            native_rules.MODULE, Path(scratch), native_rules._self_test, lambda _: None
        )
        assert module is not None, "the profiling build failed its self-test"
        engine = RuleEngine(standards_dir())
        compiled = engine.compiled(RuleSet.EN16931_UBL)
        found = native_rules.native_pass(compiled, module)
        assert found is not None
        trees = _trees(count)
        for tree in trees[:5]:
            found.failures(tree)
        module.profile()
        for tree in trees:
            found.failures(tree)
        profile: dict[int, tuple[float, int]] = module.profile()
    rows = []
    for at, (ns, calls) in profile.items():
        text, numbers = found.xpaths[at] if at >= 0 else ("the named sets' walk", ())
        what = ",".join(dict.fromkeys(compiled.asserts[n].rule for n in numbers))
        rows.append((ns / count / 1000, calls / count, what or text[:60]))
    rows.sort(reverse=True)
    return {
        "total_us": round(sum(r[0] for r in rows), 1),
        "tests": len(rows),
        **{
            f"top{i + 1}": f"{r[2]} {r[0]:.1f} us ({r[1]:g} calls)"
            for i, r in enumerate(rows[:top])
        },
    }


def bench_rule_engine(line: Line) -> Iterator[str]:
    """Every figure of the module docstring, in one run."""

    def load() -> float:
        return round(os.getloadavg()[0], 2)

    yardstick = documents.parse_xsd_per_s()
    yield line("rules.yardstick_parse_xsd_per_s", yardstick, "invoices/s", load=load())
    official = official_per_s()
    yield line("rules.official_xslt_per_s", official, "invoices/s", engine="Saxon-HE",
               rules="EN16931-UBL 1.3.16", load=load())  # fmt: skip
    native, compile_s, cpu_ms, runs = native_per_s()
    yield line("rules.native_engine_per_s", native, "invoices/s", rules="EN16931-UBL 1.3.16",
               target=ENGINE_TARGET, times_official=round(native / official, 2),
               cpu_ms_per_invoice=round(cpu_ms, 3), first_use_compile_s=round(compile_s, 2),
               stylesheet_runs=runs, invoices=1000, load=load())  # fmt: skip
    native2, _, cpu_ms2, runs2 = native_per_s(threads=2)
    yield line("rules.native_engine_2threads_per_s", native2, "invoices/s",
               cpu_ms_per_invoice=round(cpu_ms2, 3), stylesheet_runs=runs2,
               load=load())  # fmt: skip
    peppol = peppol_cpu_ms()
    yield line("rules.native_engine_peppol_cpu_ms", peppol["both"], "ms CPU/invoice",
               rules="EN16931-UBL 1.3.16 + Peppol BIS Billing 3.0.19",
               en16931_alone=peppol["en16931"], peppol_alone=peppol["peppol"],
               document="peppol-billing base-example.xml", load=load())  # fmt: skip
    families = family_cpu_ms()
    yield line("rules.native_engine_family_cpu_ms", families["all"], "ms CPU/invoice",
               rules="EN16931-UBL 1.3.16", load=load(),
               **{k: v for k, v in families.items() if k != "all"})  # fmt: skip
    profile = xpath_profile()
    yield line("rules.native_xpath_us", profile.pop("total_us"), "us CPU/invoice",
               rules="EN16931-UBL 1.3.16", build="-DFF_PROFILE", **profile,
               load=load())  # fmt: skip
    split = native_pass_cpu_ms()
    yield line("rules.native_pass_cpu_ms", split["native"], "ms CPU/invoice",
               rules="EN16931-UBL 1.3.16", xslt_alone_cpu_ms=split["xslt_alone"],
               native_asserts=int(split["native_asserts"]), asserts=int(split["asserts"]),
               load=load())  # fmt: skip
    cii = cii_cpu_ms()
    yield line("rules.native_pass_cii_cpu_ms", cii["native"], "ms CPU/invoice",
               rules="EN16931-CII 1.3.16", xslt_alone_cpu_ms=cii["xslt_alone"],
               stylesheet_runs=int(cii["stylesheet_runs"]), checks=int(cii["checks"]),
               documents=int(cii["documents"]), native_asserts=int(cii["native_asserts"]),
               asserts=int(cii["asserts"]), load=load())  # fmt: skip
    py = python_backend_cpu_ms()
    yield line("rules.python_backend_cpu_ms", py["python"], "ms CPU/invoice",
               rules="EN16931-UBL 1.3.16", xslt_engine_cpu_ms=py["xslt"],
               fallback_asserts=int(py["fallback_asserts"]), asserts=int(py["asserts"]),
               load=load())  # fmt: skip
    count = 600
    for backend in ("sqlite", "postgresql"):
        for workers in (1, 2):
            home = tempfile.mkdtemp(prefix="fourflow-bench-rules-")
            schema = None
            if backend == "sqlite":
                url = f"sqlite:///{home}/b.db"
            else:
                schema, url = documents._pg_schema()
            try:
                with documents._platform(url, Path(home)) as p:
                    documents._submitter(p)
                per = count // workers
                with multiprocessing.get_context("spawn").Pool(workers) as pool:
                    # each process reads on its share of the cores, as in ingest.ubl_invoices_per_s
                    threads = documents.reading_threads(workers)
                    timed = pool.starmap(
                        _ingest_counted,
                        [(url, home, per, w * per, True, threads) for w in range(workers)],
                    )
                yield line(
                    f"rules.ubl_ingest_per_s.{backend}.{workers}proc",
                    per * workers / max(t for t, _, _, _ in timed), "invoices/s",
                    rules="on", target=ONE_PROC_TARGET if workers == 1 else TWO_PROC_TARGET,
                    cpu_ms_per_invoice=round(1000 * sum(c for _, _, c, _ in timed) / count, 3),
                    stylesheet_runs=sum(r for _, _, _, r in timed), invoices=per * workers,
                    read_threads=threads, load=load(),
                )  # fmt: skip
            finally:
                if schema:
                    documents._drop_schema(schema)
