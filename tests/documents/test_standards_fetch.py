"""`fourflow standards`: the pinned manifest, fetch from a mirror (path, file://, 127.0.0.1 HTTP),
the refusal of a tampered file (nothing kept), and the error naming a missing artefact.

``../shared/data`` (the official files, read where they are) serves as the local mirror; a
tampered mirror is a temporary copy of one small artefact with one byte changed.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fourflow.adapters.documents import (
    business_rules,
    cii,
    dcsa,
    en16931,
    epcis,
    jsonschemas,
    order_rules,
    standards,
    ubl,
)
from fourflow.adapters.documents.business_rules import RuleEngine, RuleSet, RulesUnavailableError
from fourflow.adapters.documents.standards_fetch import StandardsFetchError, fetch, status
from fourflow.adapters.documents.validation import validate_document
from fourflow.entrypoints.cli.main import app

SHARED = standards.standards_dir()  # ../shared/data beside the checkout (the default lookup)
ORDER = SHARED / "ubl" / "examples-2.1" / "UBL-Order-2.1-Example.xml"
SMALL = "peppol-poacc"  # 41 files, 93 KB
SMALL_TOO = "dcsa-ebl-3.0"
PINNED = re.compile(
    r"^https://(raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/"
    r"|docs\.oasis-open\.org/ubl/os-UBL-2\.1/)"
)


@pytest.fixture(autouse=True)
def _default_lookup() -> Iterator[None]:
    """Each test leaves the process's standards lookup as it found it (the default)."""
    yield
    standards.configure(None)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_every_pin_is_the_sha256_of_the_official_file_in_the_shared_copy() -> None:
    names = [a.name for a in standards.manifest()]
    assert len(names) == len(set(names)) and len(names) == 8
    for artefact in standards.manifest():
        assert artefact.files, artefact.name
        for file in artefact.files:
            raw = (SHARED / artefact.directory / file.path).read_bytes()
            assert hashlib.sha256(raw).hexdigest() == file.sha256, (artefact.name, file.path)
            assert len(raw) == file.size
            # Pinned to a release or a commit, never to a moving branch.
            assert PINNED.match(file.url), file.url


def test_every_path_a_validator_reads_belongs_to_a_manifest_artefact() -> None:
    listed = {f"{a.directory}/{f.path}" for a in standards.manifest() for f in a.files}
    read = [
        cii.SCHEMA,
        epcis.XSD,
        jsonschemas.EPCIS_SCHEMA,
        dcsa.EBL_SPEC,
        dcsa.ISSUANCE_SPEC,
        order_rules.SCHEMATRON,
        *(s.parts for s in business_rules.SOURCES.values()),
        *en16931._STYLESHEETS.values(),
        *(kind.schema for kind in ubl.KINDS.values()),
        ("iso20022", "xsd", "camt.053.001.08.xsd"),
        ("iso20022", "xsd", "pain.001.001.09.xsd"),
    ]
    for parts in read:
        assert "/".join(parts) in listed, parts
        assert standards.owner(tuple(parts)) is not None


def test_fetch_from_a_local_path_installs_verified_files_the_validators_then_use(
    tmp_path: Path,
) -> None:
    target = tmp_path / "standards"
    seen: list[tuple[str, str, int]] = []
    result = fetch(target, mirror=str(SHARED), progress=lambda *a: seen.append(a))
    names = [a.name for a in standards.manifest()]
    assert result.installed == names and result.already == []
    assert len(seen) == sum(len(a.files) for a in standards.manifest())
    assert result.bytes == sum(a.size for a in standards.manifest())
    assert [s.state for s in status(target, verify=True)] == ["present"] * len(names)
    assert not any(p.name.startswith(".fetch-") for p in target.iterdir())  # staging removed

    # The validators find everything through the one setting.
    standards.configure(target)
    assert standards.standards_dir() == target
    found = validate_document(ORDER.read_bytes(), source=ORDER.name, rules=True)
    assert found.format == "ubl-2.1" and found.valid, found.issues
    engine = RuleEngine(standards.standards_dir())
    assert engine.path_of(RuleSet.EN16931_UBL).is_relative_to(target)

    # A second fetch finds every file present with its pinned hash and downloads nothing.
    again = fetch(target, mirror=str(SHARED))
    assert again.installed == [] and again.already == names and again.bytes == 0


def test_fetch_over_http_from_127_0_0_1_and_from_a_file_url(tmp_path: Path) -> None:
    handler = partial(_QuietHandler, directory=str(SHARED))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            over_http = fetch(
                tmp_path / "a", only=[SMALL], mirror=f"http://127.0.0.1:{port}/", timeout=10
            )
        finally:
            server.shutdown()
            thread.join(timeout=10)
    assert over_http.installed == [SMALL]
    over_file = fetch(tmp_path / "b", only=[SMALL_TOO], mirror=SHARED.as_uri())
    assert over_file.installed == [SMALL_TOO]
    for root, name in ((tmp_path / "a", SMALL), (tmp_path / "b", SMALL_TOO)):
        directory = standards.by_name(name).directory
        assert _tree(root / directory) == _tree(SHARED / directory)
        assert sorted(p.name for p in root.iterdir()) == [directory.split("/")[0]]


def test_a_server_that_never_answers_is_given_up_after_the_timeout(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(StandardsFetchError, match="timed out"):
            fetch(tmp_path / "s", only=[SMALL], mirror=f"http://127.0.0.1:{port}", timeout=1)
        assert time.monotonic() - started < 30
    assert not (tmp_path / "s").exists()  # made for the fetch, removed with nothing in it


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _mirror_of(tmp_path: Path, *names: str) -> Path:
    mirror = tmp_path / "mirror"
    for name in names:
        directory = standards.by_name(name).directory
        shutil.copytree(SHARED / directory, mirror / directory)
    return mirror


def test_a_tampered_file_refuses_the_whole_fetch_and_keeps_nothing(tmp_path: Path) -> None:
    mirror = _mirror_of(tmp_path, SMALL, SMALL_TOO)
    victim = standards.by_name(SMALL_TOO).files[-1]
    path = mirror / standards.by_name(SMALL_TOO).directory / victim.path
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit
    path.write_bytes(bytes(raw))
    target = tmp_path / "standards"
    target.mkdir()
    (target / "keep.txt").write_text("untouched", encoding="utf-8")
    before = _tree(target)

    # SMALL comes first and verifies; SMALL_TOO's file does not: neither is installed.
    with pytest.raises(StandardsFetchError) as refused:
        fetch(target, only=[SMALL, SMALL_TOO], mirror=str(mirror))
    message = str(refused.value)
    assert SMALL_TOO in message and victim.path in message and victim.sha256 in message
    assert "nothing installed" in message
    assert _tree(target) == before
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]  # no staging left

    # A file larger than its pin is cut off at the pinned size and refused the same way.
    path.write_bytes(path.read_bytes() + b" " * 4096)
    with pytest.raises(StandardsFetchError, match="larger than the pinned"):
        fetch(target, only=[SMALL_TOO], mirror=str(mirror))
    # An absent file: the download error names it; still nothing installed.
    path.unlink()
    with pytest.raises(StandardsFetchError, match=f"cannot download {victim.path}"):
        fetch(target, only=[SMALL_TOO], mirror=str(mirror))
    assert _tree(target) == before


def test_a_refetch_replaces_an_altered_artefact_as_a_whole(tmp_path: Path) -> None:
    target = tmp_path / "standards"
    fetch(target, only=[SMALL], mirror=str(SHARED))
    directory = target / standards.by_name(SMALL).directory
    first = standards.by_name(SMALL).files[0]
    (directory / first.path).write_text("edited", encoding="utf-8")
    (directory / "stray.sch").write_text("not official", encoding="utf-8")
    (state,) = [s for s in status(target, verify=True) if s.artefact.name == SMALL]
    assert state.state == "altered" and state.altered == (first.path,)
    result = fetch(target, only=[SMALL], mirror=str(SHARED))
    assert result.installed == [SMALL]
    assert _tree(directory) == _tree(SHARED / standards.by_name(SMALL).directory)


def test_a_missing_artefact_is_named_with_the_fetch_command(tmp_path: Path) -> None:
    target = tmp_path / "standards"
    fetch(target, only=[SMALL], mirror=str(SHARED))
    standards.configure(target)
    # UBL's schemas are absent: validation names the artefact and how to get it.
    found = validate_document(ORDER.read_bytes(), source=ORDER.name, rules=False)
    assert not found.valid
    (issue,) = found.issues
    assert "'ubl-2.1'" in issue.message and "is missing" in issue.message
    assert "fourflow standards fetch --only ubl-2.1" in issue.message
    assert "maindoc/UBL-Order-2.1.xsd" in issue.message
    with pytest.raises(RulesUnavailableError, match="fourflow standards fetch --only en16931"):
        RuleEngine(standards.standards_dir()).path_of(RuleSet.EN16931_UBL)

    # One file of a fetched artefact removed: the artefact is incomplete, that file named.
    part = standards.by_name(SMALL).files[0].path
    (target / standards.by_name(SMALL).directory / part).unlink()
    standards.configure(target)
    with pytest.raises(standards.StandardsMissingError) as incomplete:
        standards.artefact(*order_rules.SCHEMATRON)
    assert "'peppol-poacc'" in str(incomplete.value) and "incomplete" in str(incomplete.value)
    assert part in str(incomplete.value)

    # The setting names a folder that does not exist: nothing else is looked at.
    standards.configure(tmp_path / "nowhere", home=tmp_path)
    with pytest.raises(standards.StandardsMissingError, match="fourflow standards fetch"):
        standards.standards_dir()


def test_the_cli_fetches_into_the_setting_and_reports_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "standards"
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOURFLOW_STANDARDS_DIR", str(target))
    runner = CliRunner()

    missing = runner.invoke(app, ["standards", "status", "--json"])
    assert missing.exit_code == 1
    assert '"state": "missing"' in missing.stdout and '"complete": false' in missing.stdout

    unknown = runner.invoke(app, ["standards", "fetch", "--only", "ubl-9", "--mirror", "x"])
    assert unknown.exit_code == 1 and "no standards artefact 'ubl-9'" in unknown.stderr

    got = runner.invoke(
        app, ["standards", "fetch", "--only", SMALL, "--mirror", str(SHARED), "--json"]
    )
    assert got.exit_code == 0, got.stderr
    assert f'"installed": [\n    "{SMALL}"' in got.stdout

    partial_state = runner.invoke(app, ["standards", "status", "--verify", "--json"])
    assert partial_state.exit_code == 1
    assert f'"directory": "{target}"' in partial_state.stdout

    everything = runner.invoke(app, ["standards", "fetch", "--mirror", SHARED.as_uri()])
    assert everything.exit_code == 0, everything.stderr
    assert f"{SMALL} already present and verified" in everything.stdout
    complete = runner.invoke(app, ["standards", "status", "--verify"])
    assert complete.exit_code == 0 and "missing" not in complete.stdout

    # `fourflow validate` reads the fetched folder (the setting), not ../shared/data.
    shutil.rmtree(target / "ubl")
    refused = runner.invoke(app, ["validate", str(ORDER), "--json"])
    assert refused.exit_code == 1
    assert "fourflow standards fetch --only ubl-2.1" in refused.stdout
