"""Test ordering for the whole suite, and the compiled contracts shared by its processes."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

#: Property tests judge what a function returns, not how fast it returns it: no deadline per
#: example (200 ms by default) and no "too slow" health check, which a loaded 2-core CI machine
#: trips while the test waits for a core (a timing assertion, as the project has none).
settings.register_profile("fourflow", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fourflow")

#: Where each test starts in an ``xdist`` run (``make test``: ``-n 2 --dist loadgroup
#: --no-loadscope-reorder``, so the work units go out in collection order): the longest units
#: first (longest processing time first), so that they run beside the many short ones instead
#: of last on one worker while the other has nothing left to do. A test goes to the first entry
#: its node id starts with; the rest keep their collected order after them (the unit tests,
#: collected last, fill the end). Figures: ``--durations`` of full runs on 2 cores.
START_ORDER = (
    "tests/consortium/",  # the clique group: four geth nodes, 1 s blocks, about 400 s serial
    "tests/web/test_browser.py",  # six people in six browsers: 90-120 s
    "tests/integration/test_credit_robot.py",  # one 700-trade platform built, trained: 100-150 s
    "tests/documents/test_en16931_conformance.py",  # two groups: 145 and 53 CEN unit tests
    "tests/api/test_authorisation.py",  # one group of 79: every route, role and owner
    "tests/web/",
    "tests/risk/test_evaluate.py",
    "tests/packaging/",
    "tests/api/test_two_processes.py",
    "tests/api/test_kill_restart.py",
    "tests/integration/test_races.py",
    "tests/integration/test_crash_recovery.py",
    "tests/documents/test_rule_engine_agreement.py",  # the rule-engine-agreement group (24)
    "tests/documents/test_python_rule_backend.py",
    "tests/documents/test_peppol_rules.py",
)


def _start_rank(item: pytest.Item) -> int:
    for rank, prefix in enumerate(START_ORDER):
        if item.nodeid.startswith(prefix):
            return rank
    return len(START_ORDER)


def _xdist_group(item: pytest.Item) -> str | None:
    """The item's ``xdist_group`` name as pytest-xdist spells it (several joined by ``_``)."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) if names else None


def _suffix_groups(items: list[pytest.Item]) -> None:
    """Give each grouped item the ``@group`` suffix that ``--dist loadgroup`` schedules by.

    pytest-xdist 3.8 writes the suffix to ``item._nodeid``, but pytest 9 keeps a node's id in
    ``item._id`` (a ``NodeId``) and reads nothing else: without this every ``xdist_group`` mark
    is ignored, each worker builds the same module fixtures again and two workers can run two
    geth networks at once. Only the id's string changes; its path, names and parameters stay.
    """
    for item in items:
        group = _xdist_group(item)
        if group is None or item.nodeid.endswith(f"@{group}"):
            continue  # not grouped, or already suffixed (an xdist that writes the id itself)
        ident = item._id
        suffixed = dataclasses.replace(ident)
        object.__setattr__(suffixed, "_str_cache", f"{ident}@{group}")
        item._id = suffixed
        if item.nodeid != f"{ident}@{group}":
            raise pytest.UsageError(f"cannot mark {ident} with its xdist group {group!r}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the items by ``START_ORDER``, keeping every other order as collected (the same on
    every xdist worker, as the scheduler requires); on an xdist worker under ``--dist
    loadgroup``, mark each grouped item with its group (``_suffix_groups``)."""
    items.sort(key=_start_rank)
    if hasattr(config, "workerinput") and getattr(config.option, "loadgroup", False):
        _suffix_groups(items)


def _shared_artifacts_cache() -> Path | None:
    """The machine's shared cache of compiled contracts (``FOURFLOW_ARTIFACTS_CACHE``, else
    ``~/.cache/fourflow``), as every process started from the environment uses it."""
    from fourflow.bootstrap import Settings

    return Settings.from_env().artifacts_cache


def _cached(name: str, cache: Path) -> bool:
    from fourflow.adapters.chain.artifacts import cache_key, contracts_dir

    return (cache / "artifacts" / f"{name}-{cache_key(contracts_dir())}.json").is_file()


def _compile_into(name: str, cache: str | None) -> str:
    """Compile contract ``name`` into the shared cache, and (``cache`` None) for titanoboa into
    its own disk cache (``~/.cache/titanoboa``: the contract tests' ``deployers``); run in a
    pool process."""
    if cache is None:
        import boa

        from fourflow.adapters.chain.artifacts import contracts_dir

        deployer = boa.load_partial(str(contracts_dir() / f"{name}.vy"))
        assert deployer.compiler_data.bytecode, name
        return name
    from fourflow.adapters.chain.artifacts import load_artifact

    return load_artifact(name, cache).name


def pytest_configure(config: pytest.Config) -> None:
    """Compile FourFlow's contracts once for the whole run, and let every process use them.

    Tests build ``Settings`` in code (no shared cache: each home keeps its own artifacts), so
    each xdist worker compiled all eight contracts again, and each server a test started from
    the environment compiled them too while the shared cache was still empty. Now the
    controller of an xdist run fills the shared cache before the workers start (two
    compilations at a time, the machine's two cores), and every test process reads it into
    its memory, where ``load_artifact`` looks first: the same sources, compiler and cache key,
    compiled once instead of two to five times. It fills titanoboa's disk cache the same way
    for the contract tests. A run without xdist compiles nothing here.
    """
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    from fourflow.adapters.chain import artifacts

    cache = _shared_artifacts_cache()
    if cache is not None:
        missing = [n for n in artifacts.CONTRACT_NAMES if not _cached(n, cache)]
        # titanoboa's compilations too (read from its disk cache when already there), so
        # that the two workers' contract tests do not both compile every contract at once.
        jobs = [(n, str(cache)) for n in missing] + [(n, None) for n in artifacts.CONTRACT_NAMES]
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
            list(pool.map(_compile_into, *zip(*jobs, strict=True)))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Read what the shared cache holds into this process's memory, when the tests collected
    use the chain adapters (a unit-test run pays nothing). Never compiles: a contract not
    cached is compiled on first use, as before."""
    if "fourflow.adapters.chain.artifacts" not in sys.modules:
        return
    from fourflow.adapters.chain import artifacts

    cache = _shared_artifacts_cache()
    if cache is None:
        return
    for name in artifacts.CONTRACT_NAMES:
        if _cached(name, cache):
            artifacts.load_artifact(name, cache)
