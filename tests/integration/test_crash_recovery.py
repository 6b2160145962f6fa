"""`fourflow demo` killed with SIGKILL mid-run, run again: the store and the chain still agree.

The first run is killed right after it announces a step (plus a short delay, so the kill lands
inside the step's database and chain work). The second run must finish, and `fourflow audit`
must find every item of the store on the chain, none issued twice, and nothing failed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fourflow.adapters.chain.node import AnvilNode

pytestmark = [pytest.mark.chain, pytest.mark.slow]

STEP_TIMEOUT = 120.0


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")}
    env.update(FOURFLOW_HOME=str(home), FOURFLOW_KEYSTORE_PASSWORD="crash-test")
    return env


def _fourflow(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fourflow", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _kill_after(home: Path, step: str, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "demo"],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + STEP_TIMEOUT
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if step in line:
                time.sleep(delay)
                break
            assert time.monotonic() < deadline, f"step {step!r} not reached: {seen}"
        else:
            pytest.fail(f"the demo ended before step {step!r}: {''.join(seen)}")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("step", "delay"),
    [
        ("ingesting the four flows", 0.05),
        ("issuing digital debt items", 0.2),
        ("passing parts of the tier-1 item", 0.1),
        ("the core enterprise pays", 0.15),
    ],
)
def test_a_killed_demo_leaves_nothing_lost_or_doubled(
    tmp_path: Path, step: str, delay: float
) -> None:
    home = tmp_path / "home"
    try:
        _kill_after(home, step, delay)
        second = _fourflow(home, "demo", "--json")
        assert second.returncode == 0, second.stderr
        report = json.loads(second.stdout)
        assert report["run"] == 2
        assert [i["status"] for i in report["items"]] == ["settled", "active"]

        audited = _fourflow(home, "audit", "--json")
        result = json.loads(audited.stdout)
        assert audited.returncode == 0, result
        assert result["ok"] and result["discrepancies"] == []
        assert result["pending_ops"] == 0 and result["failed_ops"] == 0
        assert result["items_checked"] >= 2
        # The node the killed run left behind was adopted and stopped by the next command.
        assert AnvilNode(home).running() is None
    finally:
        _fourflow(home, "chain", "node", "stop", timeout=60)
