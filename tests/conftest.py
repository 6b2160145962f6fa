"""Test ordering for the whole suite, and the compiled contracts shared by its processes."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import sys
from pathlib import Path

import pytest

#: The longest tests (browsers, the 4-node consortium, the credit robot's training) go first,
#: so that under ``pytest -n 2 --dist loadgroup`` they run beside the many short ones instead
#: of last on one worker while the other has nothing left to do.
LONGEST_FIRST = (
    "tests/web/",
    "tests/consortium/",
    "tests/integration/test_credit_robot.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the longest tests to the front, keeping every other order as collected (the same
    on every xdist worker, as the scheduler requires)."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith(LONGEST_FIRST) else 1)


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
