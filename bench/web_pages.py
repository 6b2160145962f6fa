"""The supervision pages in a browser over a simulated platform of 10,000 trades (issue 17).

A home on its own PostgreSQL database and its own anvil node is filled through the services
from the simulator (``fourflow simulate``: 10,000 trades of a tiered supply network): its
parties onboarded, every document ingested, linked
and verified, debt items issued on the trades still open, financing requested for some of them
(the robot decides), a district's scenario platform with every trader as a member and the banks
taking part, a regulator and the district's local government; every organisation admitted on
the chain and every queued chain operation applied by the relay at the end. A progress bar on
stderr shows each phase.

Then ``fourflow serve`` (2 API processes) serves it on 127.0.0.1 and ``web/e2e/bench-pages.mjs``
(playwright-core driving Debian's chromium, headless, 1366x768) signs in as each role (and opens a
tab signed in as no one, for the invitation page) and times each page: navigation until the page's
main content is visible (its ``data-testid``) and every request (the live notifications' stream
aside) is answered, the median and p90 of ``RUNS`` (5) loads after one warm-up; the supervision
pages also ``COLD_RUNS`` (3) times right after a write to the tables they read (their answers' cache
cold). A page's first failure ends it (reported with what it shows, no value), the next page is
timed. Yardsticks: ``GET /api/v1/health`` timed in the same browser (``fetch``) and a page without
the app.

Figures (one JSON line each, printed as each page is timed; progress on stderr):
``web_pages.<page>_ms`` (median, p90, max, the cold loads' median and max, the largest API
answer of the page; where the time went, as medians: ``visible_median_ms`` (main content
shown), ``api_end_median_ms`` (the last API answer's end), ``long_tasks_median_ms`` (the main
thread's tasks over 50 ms, summed), and ``last_file``: the median load's file whose answer
ended last, a chunk, a font or an API answer, with its end), ``web_pages.health_ms``,
``web_pages.blank_page_ms``.
Target: every page under 1,000 ms on loopback.

``FOURFLOW_BENCH_WEB_PAGES=home,supervision_all`` times only those pages (bench-pages.mjs's
names); ``FOURFLOW_BENCH_WEB_PROFILE=<dir>`` also profiles one more load of each
(``PROFILE``); ``FOURFLOW_BENCH_WEB_TOTAL_S`` (1500) bounds the timing: no page is begun after
it, and the script is stopped 300 s later. The server, the chain node and the browser are stopped at
the end, also on an error, Ctrl-C, SIGTERM or SIGHUP.

The platform is built once and kept: a PostgreSQL template database ``bench_web_tpl_<key>`` and
its home (keys, master key, contract artifacts, the chain node's dumped state) under
``build/bench-web/<key>/``, the key naming the recipe (``RECIPE``), the number of trades and the
simulator's source. Each run copies it (``CREATE DATABASE ... TEMPLATE``, seconds), migrates
the copy to the code's schema (``Platform.initialise``, as ``fourflow init`` on an older store:
this also keeps the invoice facts of every trade, migration 0028, about a minute at 10,000
trades) and adds its people (one admin for each role whose pages are timed).
``FOURFLOW_BENCH_WEB_REBUILD`` set builds the template again.

``FOURFLOW_BENCH_WEB_HOME`` names a directory to keep the run's copy in (prepared once, reused by
later runs with the same directory: its ``built.json`` says what it holds);
``FOURFLOW_BENCH_WEB_TRADES`` another number of trades; ``FOURFLOW_BENCH_WEB_DATABASE`` the
copy's database (default ``bench_web``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.api import wait_serving
from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.documents.writers.output import DirectorySink
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.errors import FourFlowError
from fourflow.domain.identity import KYC_CHECKS, OrgType, UserRole
from fourflow.domain.parties import Role
from fourflow.services import financing, identity, items, relay
from fourflow.services import scenario_platforms as sp
from fourflow.services.ingest import SubmittedFile, ingest_files
from fourflow.services.linking import link_documents
from fourflow.services.onboarding import onboard
from fourflow.services.verification import verify_many
from fourflow.simulation.generator import Simulation, SimulationParams

PG_URL = os.environ.get("FOURFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = os.environ.get("FOURFLOW_BENCH_WEB_DATABASE", "bench_web")
TRADES = int(os.environ.get("FOURFLOW_BENCH_WEB_TRADES", "10000"))
API = "/api/v1"
PASSWORD = "bench-web-password-1"
#: Items issued on open trades, financings requested on them (the robot decides each).
ITEMS, FINANCINGS = 400, 400
#: Issuing stops after this many refusals in a row (the trades, newest first, fell due).
REFUSED_IN_A_ROW = 400
TARGET_MS = 1000.0
#: The build recipe's version: raise it when ``build`` changes what it makes (a new template).
RECIPE = 7
REBUILD = bool(os.environ.get("FOURFLOW_BENCH_WEB_REBUILD"))
#: The pages timed (comma-separated names, bench-pages.mjs's), default every page.
PAGES = os.environ.get("FOURFLOW_BENCH_WEB_PAGES", "")
#: No page is begun after this many seconds of timing (those left are reported not timed).
TOTAL_S = float(os.environ.get("FOURFLOW_BENCH_WEB_TOTAL_S", "1500"))
ROOT = Path(__file__).resolve().parents[1]
Line = Callable[..., str]
T = TypeVar("T")
err = Console(stderr=True)


@contextmanager
def _bar(what: str, total: int) -> Iterator[Callable[[int], None]]:
    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    started = time.perf_counter()
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.update(task, advance=n)
    err.print(f"  {what}: {time.perf_counter() - started:.1f} s")


def _chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _admin_of(p: Platform, org_id: str, email: str, name: str) -> dict[str, Any]:
    new = identity.add_user(
        p.identities, org_id=org_id, email=email, name=name, role=UserRole.ADMIN,
        password=PASSWORD,
    )  # fmt: skip
    secret = None
    if new.totp_uri:
        secret = new.totp_uri.split("secret=", 1)[1].split("&", 1)[0]
    return {"email": email, "totp_secret": secret}


def _filed_on(sim: Path, f: Path) -> dt.date:
    """The day a simulated document was filed (its folder: documents/YYYY-MM/DD/...)."""
    return dt.date.fromisoformat("-".join(f.relative_to(sim / "documents").parts[:2]))


def build(p: Platform, root: Path, trades: int) -> dict[str, Any]:
    """Fill the home (see the module's text); what it holds, for ``built.json``."""
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=365)
    sim = root / "sim"
    params = SimulationParams(seed=1717, trades=trades, fraud_rate=0.02, start=start, months=12)
    with _bar("simulating trades", trades) as step, DirectorySink(sim) as sink:
        done = [0]

        def progress(n: int) -> None:
            step(n - done[0])
            done[0] = n

        Simulation(params, sink).run(progress)
    p.initialise()
    parties = json.loads((sim / "parties.json").read_text("utf-8"))
    # Each debtor's account bank is the bank member sharing its account's bank identification
    # number (``accounts.account_bank``): the simulated banks hold the traders' BINs in turn.
    bank_parties = [x for x in parties if "bank" in x["roles"]]
    bins = sorted({a[:6] for x in parties if "bank" not in x["roles"] for a in x["accounts"]})
    for n, bin_ in enumerate(bins):
        owner = bank_parties[n % len(bank_parties)]
        owner["accounts"] = [*owner["accounts"], f"{bin_}{n:013d}"]
    orgs: dict[str, Any] = {}
    with _bar("onboarding parties", len(parties)) as step:
        for party in parties:
            org = onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=party["name"],
                uscc=party["uscc"], roles=[Role(r) for r in party["roles"]],
                identifiers=[("gln", party["gln"])], accounts=list(party["accounts"]),
                profile=dict(party["profile"]),
            )  # fmt: skip
            orgs[org.id] = org
            step(1)
    submitter = next(iter(orgs))
    files = [
        SubmittedFile(str(f.relative_to(sim)), f.read_bytes())
        for f in sorted((sim / "documents").rglob("*"))
        if f.is_file() and _filed_on(sim, f) <= today
    ]
    with _bar("ingesting documents", len(files)) as step:
        for chunk in _chunks(files, 2000):
            ingest_files(uow_factory=p.uow_factory, reader=p.reader_for(submitter), clock=p.clock,
                         files=chunk, submitter_id=submitter)  # fmt: skip
            # the fingerprints on the chain as they come (as the API's worker does; one relay
            # of every operation at the end sends a batch the node's proxy refuses, 502)
            _relay(p, p.require_contracts())
            step(len(chunk))
    link_documents(uow_factory=p.uow_factory)
    with p.uow_factory() as uow:
        trade_ids = [t.id for t in uow.trades.list()]
    with _bar("verifying trades", len(trade_ids)) as step:
        for ids in _chunks(trade_ids, 1000):
            verify_many(uow_factory=p.uow_factory, trade_ids=list(ids), as_of=today)
            _relay(p, p.require_contracts())
            step(len(ids))
    with p.uow_factory() as uow:
        verdicts = uow.trades.verdicts()
    open_trades = [t.id for t in verdicts if t.status in ("verified", "partial")]
    buyer_of = {t.id: t.buyer_id for t in verdicts}
    ledger = p.require_contracts()  # the debtor confirms (signs)
    _relay(p, ledger)  # the admissions and the documents' fingerprints first
    issued: list[str] = []
    refused = 0  # in a row: newest first, so past a long run of refusals the rest fell due too
    with _bar("issuing debt items", ITEMS) as step:
        signed: set[str] = set()  # debtors whose confirmation is not on the chain yet
        for trade_id in reversed(open_trades):
            if len(issued) == ITEMS or refused == REFUSED_IN_A_ROW:
                break
            if buyer_of[trade_id] in signed:
                # applied before the debtor signs again (as the API's worker does): its next
                # confirmation's nonce is read from the chain
                _relay(p, ledger)
                signed.clear()
            try:
                item = items.issue_item(uow_factory=p.uow_factory, ledger=ledger, clock=p.clock,
                                        trade_id=trade_id, as_of=today, confirm=True)  # fmt: skip
            except FourFlowError:
                refused += 1  # paid, no open receivable, fallen due: not issuable
                continue
            refused = 0
            issued.append(item.id)
            signed.add(buyer_of[trade_id])
            step(1)
    _relay(p, ledger)
    banks = [o.id for o in orgs.values() if o.has_role(Role.BANK)]
    with _bar("financing requests", FINANCINGS) as step:
        for n, item_id in enumerate(issued[:FINANCINGS]):
            with p.uow_factory() as uow:
                (holding,) = uow.items.holdings(item_id)[:1]
            with suppress(FourFlowError):  # refused: the robot's decision stands as stored
                financing.request_financing(
                    uow_factory=p.uow_factory, holding_id=holding.id,
                    bank_id=banks[n % len(banks)], amount=holding.amount * 8 // 10,
                    actor_id=holding.holder_id, as_of=today, cold_start=p.cold_start,
                )  # fmt: skip
            step(1)
    # the district's platform, its local government and the regulator, one user each
    district = onboard(
        uow_factory=p.uow_factory, keystore=p.keystore, name="姑苏区人民政府",
        uscc="11320508MB0000017H", roles=[Role.LOCAL_GOVERNMENT],
    )  # fmt: skip
    regulator = onboard(
        uow_factory=p.uow_factory, keystore=p.keystore, name="国家金融监督管理总局苏州监管分局",
        uscc="11320500MB0000017X", roles=[Role.REGULATOR],
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    store = p.scenario_platforms
    platform = sp.create(
        store, p.uow_factory, name="姑苏区供应链金融服务平台", operator=district.id,
        scenarios=["manufacturing"], region="苏州市姑苏区", by="bench", now=now,
    )  # fmt: skip
    viewer = sp.Viewer(district.id, frozenset({OrgType.LOCAL_GOVERNMENT}))
    members = [o for o in orgs.values() if not o.has_role(Role.BANK)]
    with _bar("admitting members", len(members)) as step:
        for org in members:
            with suppress(FourFlowError):  # not a member type
                sp.admit(
                    store, p.uow_factory, viewer=viewer, platform_id=platform.id, org=org.id,
                    checks=dict.fromkeys(KYC_CHECKS, True), note="bench", by="bench", now=now,
                )  # fmt: skip
            step(1)
    for bank in banks:
        sp.add_bank(store, p.uow_factory, viewer=viewer, platform_id=platform.id, bank=bank,
                    by="bench", now=now)  # fmt: skip
    # Every queued chain operation applied, as the API's worker does: admissions, anchors of the
    # documents, items issued and confirmed, financings.
    with _bar("relaying chain operations", 1) as step:
        relayed = _relay(p, ledger)
        step(1)
    with p.uow_factory() as uow:
        counts = {
            "trades": len(uow.trades.list()), "items": len(uow.items.list()),
            "financings": len(uow.financings.list()),
            "organisations": len(uow.organisations.list()),
        }  # fmt: skip
    return {
        "platform_id": platform.id,
        "regulator_id": regulator.id,
        "district_id": district.id,
        "counts": counts,
        "relayed": {"applied": relayed.applied, "failed": len(relayed.failed)},
        "built": today.isoformat(),
    }


def _relay(p: Platform, ledger: Any) -> relay.RelayResult:
    with p.chain_writer():
        return relay.relay(uow_factory=p.uow_factory, ledger=ledger, claims=p.relay_claims())


def _people(p: Platform, built: dict[str, Any]) -> dict[str, Any]:
    """One admin user for each role whose pages are timed (made in the run's copy): the
    regulator, the district, the operator (admissions), the supplier with the most financings,
    the core enterprise owing the most items, the bank with the most financings."""
    with p.uow_factory() as uow:
        fins = uow.financings.list()
        issued = uow.items.list()
        orgs = {o.id: o for o in uow.organisations.list()}
    debtors = Counter(i.debtor_id for i in issued)
    borrowers = Counter(f.borrower_id for f in fins)
    banks = Counter(f.bank_id for f in fins)
    core = next(o for o, _ in debtors.most_common() if orgs[o].has_role(Role.CORE_ENTERPRISE))
    who = {
        "regulator": built["regulator_id"], "district": built["district_id"],
        "operator": p.operator_id(),
        "supplier": next(o for o, _ in borrowers.most_common() if o != core),
        "core": core, "bank": banks.most_common(1)[0][0],
    }  # fmt: skip
    people = {
        role: {"org_id": org, **_admin_of(p, org, f"admin@{role}.bench.cn", f"{role} admin")}
        for role, org in who.items()
    }
    financed = {f.item_id for f in fins if f.borrower_id == who["supplier"]}
    item = next(i for i in issued if i.id in financed)  # its trade's and its item's view
    people["supplier"] |= {"trade_id": item.trade_id, "item_id": item.id}
    return people


# ----------------------------------------------------------------------------- the template


def _recipe_key(trades: int) -> str:
    """What the built platform depends on: the recipe's version, the number of trades and the
    simulator's source (the same seed gives the same trades)."""
    found = hashlib.sha256(f"{RECIPE}:{trades}".encode())
    for f in sorted((ROOT / "src" / "fourflow" / "simulation").rglob("*.py")):
        found.update(f.read_bytes())
    return found.hexdigest()[:12]


def _pg(sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        cur = conn.execute(sql, args or None)
        return list(cur.fetchall()) if cur.description else []


def _exists(database: str) -> bool:
    return bool(_pg("SELECT 1 FROM pg_database WHERE datname = %s", database))


def _url(database: str) -> str:
    return f"{PG_URL.rsplit('/', 1)[0]}/{database}"


def _quiet(database: str) -> None:
    """Close other sessions on ``database`` (a template is copied only when no one is on it)."""
    _pg("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()", database)  # fmt: skip


def _copy_home(source: Path, target: Path) -> None:
    """The home's files (keys, master key, contract artifacts, the chain's dumped state), not
    a running node's record, locks or logs."""
    shutil.copytree(
        source, target, dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("node.json", "*.lock", "*.log", "work", "built.json"),
    )  # fmt: skip


def template(trades: int) -> tuple[str, Path, dict[str, Any]]:
    """The built platform for ``trades``: (template database, its home, what it holds), built
    now unless ``build/bench-web/<key>`` and its database exist (``FOURFLOW_BENCH_WEB_REBUILD``
    set: built again)."""
    key = _recipe_key(trades)
    kept = ROOT / "build" / "bench-web" / key
    name = f"bench_web_tpl_{key}"
    if (kept / "built.json").exists() and _exists(name) and not REBUILD:
        return name, kept / "home", json.loads((kept / "built.json").read_text("utf-8"))
    fresh = kept.with_name(f"{key}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    home = fresh / "home"
    home.mkdir(parents=True)
    building = f"{name}_new"
    _pg(f"DROP DATABASE IF EXISTS {building} WITH (FORCE)")
    _pg(f"CREATE DATABASE {building}")
    node = AnvilNode(home)
    started = time.perf_counter()
    try:
        chain = node.ensure_running()
        with Platform(Settings(home, _url(building), chain, None)) as p:
            built = build(p, fresh / "work", trades)
    finally:
        node.stop()  # anvil dumps its state: the copies start from it
    shutil.rmtree(fresh / "work", ignore_errors=True)
    built["build_s"] = round(time.perf_counter() - started, 1)
    built["recipe"], built["commit"] = key, _commit()
    _quiet(building)
    _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg(f"ALTER DATABASE {building} RENAME TO {name}")
    (fresh / "built.json").write_text(json.dumps(built, ensure_ascii=False, indent=1), "utf-8")
    shutil.rmtree(kept, ignore_errors=True)
    fresh.rename(kept)
    return name, kept / "home", built


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=False)  # fmt: skip
    return done.stdout.strip() or "unknown"


def _prepare(home: Path, node: AnvilNode, keep: bool) -> tuple[dict[str, Any], str, str]:
    """The run's platform: a copy of the template (its database and home), migrated to this
    code's schema by ``initialise`` (as ``fourflow init`` on an older store), with its people;
    or, with a kept home already prepared, that one. (built.json, database URL, chain)."""
    marker = home / "built.json"
    if keep and marker.exists():
        built = json.loads(marker.read_text("utf-8"))
        return built, str(built["database_url"]), node.ensure_running()
    started = time.perf_counter()
    name, kept, built = template(TRADES)
    _copy_home(kept, home)
    _pg(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _quiet(name)
    _pg(f"CREATE DATABASE {DATABASE} TEMPLATE {name}")
    url = _url(DATABASE)
    chain = node.ensure_running()
    with Platform(Settings(home, url, chain, None)) as p:
        p.initialise()
        built["people"] = _people(p, built)
    built["database_url"], built["prepare_s"] = url, round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps(built, ensure_ascii=False, indent=1), "utf-8")
    return built, url, chain


def _serve(home: Path, url: str, chain: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(home), "FOURFLOW_DATABASE_URL": url, "FOURFLOW_CHAIN_URL": chain,
        "FOURFLOW_API_RATE_PER_MINUTE": "10000000",
        "FOURFLOW_LOG_LEVEL": "info",  # serve.log: each request with its duration (ms)
    }  # fmt: skip
    log = (home / "serve.log").open("ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    return server, f"http://127.0.0.1:{port}"  # not answering yet: wait_serving


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Debian's chromium is not installed (apt-get install chromium)")


def _browse(base: str, built: dict[str, Any], url: str, line: Line) -> Iterator[str]:
    """Every page timed in chromium (``web/e2e/bench-pages.mjs``): a figure line as each page
    is timed. The script asks for a write (``{"write": page}``) before each load timed with the
    supervision views' cache cold: a no-op update of the regulator's organisation row, which its
    trigger counts (migration 0026), so the next request computes afresh."""
    env = {
        **os.environ, "BASE_URL": base, "CHROMIUM": _chromium(), "PASSWORD": PASSWORD,
        "PEOPLE": json.dumps(built["people"]), "PLATFORM_ID": built["platform_id"],
        "TOTAL_MS": str(int(TOTAL_S * 1000)),
    }  # fmt: skip
    if PAGES:
        env["ONLY"] = PAGES
    if PROFILE:
        env["PROFILE_DIR"] = str(Path(PROFILE).resolve())
    script = subprocess.Popen(
        ["node", str(ROOT / "web" / "e2e" / "bench-pages.mjs")], env=env, cwd=ROOT / "web",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert script.stdout is not None
        for text in script.stdout:
            lines.put(text)
        lines.put(None)

    threading.Thread(target=read, daemon=True, name="bench-pages-stdout").start()
    # the script stops beginning pages at TOTAL_S; a page takes at most a few minutes more
    deadline = time.monotonic() + TOTAL_S + 300
    yardsticks: dict[str, float] = {}
    try:
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            while True:
                try:
                    text = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise RuntimeError(
                        f"bench-pages.mjs still running after {TOTAL_S + 300:.0f} s: stopped"
                    ) from None
                if text is None:
                    break
                try:
                    said = json.loads(text)
                except ValueError:
                    print(text.rstrip(), file=sys.stderr)
                    continue
                if "write" in said:
                    conn.execute("UPDATE organisations SET name = name WHERE id = %s",
                                 (built["regulator_id"],))  # fmt: skip
                    assert script.stdin is not None
                    script.stdin.write("written\n")
                    script.stdin.flush()
                elif "yardsticks" in said:
                    yardsticks = said["yardsticks"]
                    yield from _yardsticks(yardsticks, built, line)
                elif "page" in said:
                    yield _figure(said["page"], yardsticks, built, line)
        if script.wait(timeout=60) != 0:
            raise RuntimeError(
                f"bench-pages.mjs failed with {script.returncode} (its stderr above)"
            )
    finally:
        with _undisturbed():
            _stop(script, "bench-pages.mjs")


@contextmanager
def _undisturbed() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP ignored while the children are stopped (a second signal
    does not leave them running)."""
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {s: signal.signal(s, signal.SIG_IGN) for s in caught}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def _stop(process: subprocess.Popen[Any], what: str, wait: float = 60) -> None:
    """Stop ``process`` and its process group: SIGTERM, up to ``wait`` seconds, then SIGKILL."""
    if process.poll() is None:
        print(f"stopping {what} (up to {wait:.0f} s)", file=sys.stderr)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            print(f"{what} did not stop in {wait:.0f} s: killed", file=sys.stderr)
    with suppress(ProcessLookupError):  # what is left of its group (workers, a browser)
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)


def _common(built: dict[str, Any]) -> dict[str, Any]:
    return {
        "trades": built["counts"]["trades"], "items": built["counts"]["items"],
        "financings": built["counts"]["financings"], "cpus": os.cpu_count(),
        "load": round(os.getloadavg()[0], 2), "built_by": built.get("commit"),
    }  # fmt: skip


def _yardsticks(found: dict[str, float], built: dict[str, Any], line: Line) -> Iterable[str]:
    yield line("web_pages.health_ms", found["health_ms"], "ms", **_common(built))
    yield line("web_pages.blank_page_ms", found["blank_page_ms"], "ms", **_common(built))


#: A directory: after its timed loads, each page is loaded once more under the browser's CPU
#: profiler (navigation pages): ``<page>.cpuprofile`` written there (Chrome DevTools opens it)
#: and where the main thread's time went, by script and by function, printed on stderr.
PROFILE = os.environ.get("FOURFLOW_BENCH_WEB_PROFILE", "")

#: Where a page's time went (bench-pages.mjs), medians of the timed loads: its main content
#: visible, the end of its last API answer, the main thread's long tasks (over 50 ms) summed;
#: the median load's file that arrived last.
BREAKDOWN = ("visible_median_ms", "api_end_median_ms", "long_tasks_median_ms", "last_file")


def _figure(page: dict[str, Any], yard: dict[str, float], built: dict[str, Any], line: Line) -> str:
    common = _common(built)
    if "error" in page:  # not rendered (or not timed): no value, the reason
        failed = {"bench": f"web_pages.{page['name']}_ms", "value": None, "unit": "ms"}
        return json.dumps(failed | {k: page[k] for k in ("role", "path", "error")} | common,
                          ensure_ascii=False)  # fmt: skip
    health, blank = yard.get("health_ms"), yard.get("blank_page_ms")
    cold = {
        k: page[k]
        for k in ("cold_median_ms", "cold_max_ms", "cold_runs", "cold_slowest")
        if k in page
    }
    return line(
        f"web_pages.{page['name']}_ms", page["median_ms"], "ms", target=TARGET_MS,
        max_ms=page["max_ms"], p90_ms=page["p90_ms"], runs=page["runs"], role=page["role"],
        path=page["path"], kind=page["kind"], **cold,
        x_blank_page=round(page["median_ms"] / blank, 2) if blank else None,
        x_health=round(page["median_ms"] / health, 1) if health else None,
        largest_answer_bytes=page["largest_bytes"], slowest_request=page["slowest"],
        **{k: page[k] for k in BREAKDOWN if k in page},
        **common,
    )  # fmt: skip


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def bench_web_pages(line: Line) -> Iterator[str]:
    """Build (or reuse) the home, serve it, time the pages in chromium, stop everything (also
    on Ctrl-C, SIGTERM or SIGHUP: the server, the chain node and the browser are stopped)."""
    kept = os.environ.get("FOURFLOW_BENCH_WEB_HOME")
    home = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="fourflow-bench-web-"))
    home.mkdir(parents=True, exist_ok=True)
    node = AnvilNode(home)
    server: subprocess.Popen[bytes] | None = None
    before = {s: signal.signal(s, _interrupted) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        built, url, chain = _prepare(home, node, keep=bool(kept))
        server, base = _serve(home, url, chain)
        wait_serving(server, base)
        yield from _browse(base, built, url, line)
    except (Exception, KeyboardInterrupt):
        served = home / "serve.log"
        if served.exists():
            print(served.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        with _undisturbed():
            if server is not None:
                _stop(server, "fourflow serve", wait=30)  # its live streams end on their own
            node.stop()
            if not kept:
                shutil.rmtree(home, ignore_errors=True)
        for s, handler in before.items():
            signal.signal(s, handler)
