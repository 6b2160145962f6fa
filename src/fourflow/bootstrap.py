"""The composition root: settings from the environment, adapters built, services wired.

Nothing is built at import time. ``Platform`` opens the store (migrating it), the key store
and, on first use, the chain (starting FourFlow's own local node unless
``FOURFLOW_CHAIN_URL`` names an external one).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog

from fourflow.adapters.chain.clique import DEFAULT_CHAIN_ID as CLIQUE_CHAIN_ID
from fourflow.adapters.chain.clique import CliqueNetwork
from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.chain.ops import GOVERNANCE
from fourflow.adapters.crypto.envelope import read_master_key_file, write_key_file
from fourflow.adapters.crypto.keystore import EnvelopeKeyStore, MasterKeySource
from fourflow.adapters.crypto.passwords import Argon2Passwords, Totp
from fourflow.adapters.crypto.signatures import (
    recover_text_signer,
    sign_secp256k1,
    sign_sm2,
    verify_signature,
)
from fourflow.adapters.db.engine import default_sqlite_url, make_engine
from fourflow.adapters.db.identity import SqlIdentityStoreFactory
from fourflow.adapters.db.item_views import SqlItemViewVersions
from fourflow.adapters.db.locks import held
from fourflow.adapters.db.migration import migrate
from fourflow.adapters.db.relay_claims import SenderClaims
from fourflow.adapters.db.scenario_platforms import SqlPlatformStore
from fourflow.adapters.db.uow import SqlUnitOfWorkFactory
from fourflow.adapters.db.webhooks import SqlWebhookStore
from fourflow.adapters.documents import standards, standards_fetch
from fourflow.adapters.documents.business_rules import InvoiceRules, RuleEngine
from fourflow.adapters.documents.jsonsafe import load_json
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.validation import DocumentValidation, validate_document
from fourflow.adapters.documents.writers.output import DirectorySink
from fourflow.adapters.webhook_http import UrllibPoster
from fourflow.domain.errors import ConflictError, FourFlowError
from fourflow.domain.identifiers import uscc_check_character
from fourflow.domain.parties import Organisation, Role
from fourflow.risk.bootstrap import Collector, HistorySource
from fourflow.risk.features import InvoiceFacts
from fourflow.services import onboarding
from fourflow.services.credit import history as credit_history
from fourflow.services.identity import CredentialCache, Identities, IdentityPolicy
from fourflow.services.ports import Clock, UnitOfWorkFactory
from fourflow.services.reading import DocumentReader, SignatureVerifier
from fourflow.services.webhooks import DeliveryResult, deliver_webhooks
from fourflow.simulation.generator import Simulation, SimulationParams

log = structlog.get_logger("fourflow.bootstrap")

DEFAULT_HOME = Path.home() / ".fourflow"
CONTRACTS_KEY = "chain.{chain_id}.contracts"
#: The store-wide lock held while the platform is initialised (operator, contracts).
INIT_LOCK = "fourflow.initialise"
#: The store-wide lock around the API's chain work (``Platform.chain_writer``).
CHAIN_WRITER_LOCK = "fourflow.chain-writer"
OPERATOR_NAME = "FourFlow 平台运营方"
OPERATOR_USCC_BASE = "91310000MA1FF0000"  # a valid structure; the check char is computed


class NotInitialisedError(FourFlowError, RuntimeError):
    """The platform in this home has not been initialised (run ``fourflow init``)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Where FourFlow keeps its state and which services it talks to.

    Attributes:
        home: FOURFLOW_HOME, default ``~/.fourflow``: database, keys, chain state, artifacts.
        database_url: FOURFLOW_DATABASE_URL, default SQLite under ``home``.
        chain_url: FOURFLOW_CHAIN_URL, an external node; unset means FourFlow runs its own.
        keystore_password: FOURFLOW_KEYSTORE_PASSWORD, the password of key files of the older
            layout (one password for every key), read only to convert them on opening; unset
            means the secret in ``home/keystore.secret``.
        master_key: FOURFLOW_MASTER_KEY, the master key (base64 of 32 bytes) wrapping every
            organisation's data key (docs/security.md, Keys).
        master_key_file: FOURFLOW_MASTER_KEY_FILE, a file holding the master key instead. Both
            unset: a key generated in ``home/master.key`` (mode 0600), fit for a local
            single-machine platform only.
        chain_id: FOURFLOW_CHAIN_ID for the local node (default 1337).
        anvil_bin: FOURFLOW_ANVIL_BIN, the anvil executable (default: the npm package, PATH).
        project_root: FOURFLOW_PROJECT_ROOT, where ``node_modules`` (anvil) and the geth build
            cache are looked for.
        confirmations: FOURFLOW_CHAIN_CONFIRMATIONS, blocks on top of an operation's block
            before it counts as done (0 on anvil; a few on a Clique network, which has no
            finality).
        receipt_timeout: FOURFLOW_CHAIN_RECEIPT_TIMEOUT, seconds an operation may wait to be
            mined (and confirmed) before the relay gives up on it for this run (default 60).
        chain_batch_calls: FOURFLOW_CHAIN_BATCH_CALLS, the most calls of one JSON-RPC batch
            request to the node (default 256; a request is also kept under 1 MiB, half of
            anvil's body limit): a large queue's calls go in several requests.
        standards_dir: FOURFLOW_STANDARDS_DIR, the one folder of official schemas and rule
            artefacts every validator reads (the layout of ``shared/data``; filled by
            ``fourflow standards fetch``); unset: ``home/standards`` once fetched, else
            ``shared/data`` beside the checkout.
        geth_bin: FOURFLOW_GETH_BIN, the geth v1.13.15 executable of the Clique development
            network (default: the ``make geth`` build in ``~/.cache/fourflow``).
        artifacts_cache: FOURFLOW_ARTIFACTS_CACHE, the folder whose ``artifacts/`` caches the
            compiled contracts, keyed by the hash of their sources and compiler, shared by every
            home (default ``~/.cache/fourflow``; None, as in Settings built in code: the home).
        date_tolerance_days: FOURFLOW_DATE_TOLERANCE_DAYS, how many days after the day of
            submission a document may be dated before ingest refuses it (default 1).
        log_level: FOURFLOW_LOG_LEVEL, the lowest level logged to stderr (default
            ``warning``; an unknown name logs at warning).
        api_access_minutes: FOURFLOW_API_ACCESS_MINUTES, how long an API access token works
            (default 15; refresh tokens work 14 days and rotate).
        api_max_body_bytes: FOURFLOW_API_MAX_BODY_BYTES, the largest request body the API
            takes (default 10 MiB).
        api_cors_origins: FOURFLOW_API_CORS_ORIGINS, comma-separated browser origins allowed
            to call the API (default none: CORS closed).
        four_eyes_limit: FOURFLOW_FOUR_EYES_LIMIT, the requested amount (in the item's
            currency) above which a bank's decision needs an officer and an approver
            (default 1000000).
        api_rate_per_minute: FOURFLOW_API_RATE_PER_MINUTE, requests per minute one API key,
            access token or (for public routes) client address may make (default 600).
        api_auth_cache_seconds: FOURFLOW_API_AUTH_CACHE_SECONDS, how long an API process
            trusts a bearer credential it verified before checking it again: the bound after
            which a key or token revoked elsewhere stops working in every process (default 5;
            0 checks every request).
        new_user_password: FOURFLOW_NEW_USER_PASSWORD, the password ``fourflow user add``
            gives the user it creates (unset: it is prompted for).
        price_feed: FOURFLOW_PRICE_FEED, the goods price feed file (CSV ``goods_code,price,
            currency,as_of``) ``fourflow margin watch`` revalues pledged receipts from.
        webhook_timeout_seconds: FOURFLOW_WEBHOOK_TIMEOUT_SECONDS, how long one webhook POST
            may take (default 5).
        webhook_max_attempts: FOURFLOW_WEBHOOK_MAX_ATTEMPTS, attempts before a delivery is
            dead-lettered (default 6).
        webhook_backoff_seconds: FOURFLOW_WEBHOOK_BACKOFF_SECONDS, the first retry's wait,
            doubled at each further attempt (default 2).
        events_stream_seconds: FOURFLOW_EVENTS_STREAM_SECONDS, how long one server-sent event
            stream stays open (default 300; the browser reconnects with Last-Event-ID).
        serve_worker_state: FOURFLOW_SERVE_WORKER_STATE, the file in which ``fourflow serve``
            keeps the state of the worker it runs beside its API processes, for their
            ``GET /health`` (set by serve for its own processes, ``export_serve_worker_state``;
            not set by hand; unset: no worker beside this API).
    """

    home: Path
    database_url: str
    chain_url: str | None
    keystore_password: str | None
    chain_id: int = 1337
    anvil_bin: Path | None = None
    project_root: Path | None = None
    confirmations: int = 0
    receipt_timeout: float = 60.0
    chain_batch_calls: int = 256
    standards_dir: Path | None = None
    date_tolerance_days: int = 1
    geth_bin: Path | None = None
    artifacts_cache: Path | None = None
    log_level: str = "warning"
    api_access_minutes: int = 15
    api_max_body_bytes: int = 10 * 1024 * 1024
    api_cors_origins: tuple[str, ...] = ()
    four_eyes_limit: str = "1000000"
    api_rate_per_minute: int = 600
    api_auth_cache_seconds: float = 5.0
    new_user_password: str | None = None
    price_feed: Path | None = None
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 6
    webhook_backoff_seconds: float = 2.0
    events_stream_seconds: float = 300.0
    serve_worker_state: Path | None = None
    master_key: str | None = None
    master_key_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment."""
        env = os.environ if environ is None else environ
        home = Path(env.get("FOURFLOW_HOME") or DEFAULT_HOME).expanduser().resolve()
        return cls(
            home=home,
            database_url=env.get("FOURFLOW_DATABASE_URL") or default_sqlite_url(home),
            chain_url=env.get("FOURFLOW_CHAIN_URL") or None,
            keystore_password=env.get("FOURFLOW_KEYSTORE_PASSWORD") or None,
            chain_id=int(env.get("FOURFLOW_CHAIN_ID") or 1337),
            anvil_bin=Path(env["FOURFLOW_ANVIL_BIN"]) if env.get("FOURFLOW_ANVIL_BIN") else None,
            project_root=(
                Path(env["FOURFLOW_PROJECT_ROOT"]) if env.get("FOURFLOW_PROJECT_ROOT") else None
            ),
            confirmations=int(env.get("FOURFLOW_CHAIN_CONFIRMATIONS") or 0),
            receipt_timeout=float(env.get("FOURFLOW_CHAIN_RECEIPT_TIMEOUT") or 60),
            chain_batch_calls=int(env.get("FOURFLOW_CHAIN_BATCH_CALLS") or 256),
            standards_dir=(
                Path(env["FOURFLOW_STANDARDS_DIR"]) if env.get("FOURFLOW_STANDARDS_DIR") else None
            ),
            date_tolerance_days=int(env.get("FOURFLOW_DATE_TOLERANCE_DAYS") or 1),
            geth_bin=Path(env["FOURFLOW_GETH_BIN"]) if env.get("FOURFLOW_GETH_BIN") else None,
            artifacts_cache=Path(
                env.get("FOURFLOW_ARTIFACTS_CACHE")
                or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fourflow"
            ).expanduser(),
            log_level=env.get("FOURFLOW_LOG_LEVEL") or "warning",
            api_access_minutes=int(env.get("FOURFLOW_API_ACCESS_MINUTES") or 15),
            api_max_body_bytes=int(env.get("FOURFLOW_API_MAX_BODY_BYTES") or 10 * 1024 * 1024),
            api_cors_origins=tuple(
                o.strip()
                for o in (env.get("FOURFLOW_API_CORS_ORIGINS") or "").split(",")
                if o.strip()
            ),
            four_eyes_limit=env.get("FOURFLOW_FOUR_EYES_LIMIT") or "1000000",
            api_rate_per_minute=int(env.get("FOURFLOW_API_RATE_PER_MINUTE") or 600),
            api_auth_cache_seconds=float(env.get("FOURFLOW_API_AUTH_CACHE_SECONDS") or 5),
            new_user_password=env.get("FOURFLOW_NEW_USER_PASSWORD") or None,
            price_feed=Path(env["FOURFLOW_PRICE_FEED"]) if env.get("FOURFLOW_PRICE_FEED") else None,
            webhook_timeout_seconds=float(env.get("FOURFLOW_WEBHOOK_TIMEOUT_SECONDS") or 5),
            webhook_max_attempts=int(env.get("FOURFLOW_WEBHOOK_MAX_ATTEMPTS") or 6),
            webhook_backoff_seconds=float(env.get("FOURFLOW_WEBHOOK_BACKOFF_SECONDS") or 2),
            events_stream_seconds=float(env.get("FOURFLOW_EVENTS_STREAM_SECONDS") or 300),
            serve_worker_state=(
                Path(env[SERVE_WORKER_STATE_ENV]) if env.get(SERVE_WORKER_STATE_ENV) else None
            ),
            master_key=env.get("FOURFLOW_MASTER_KEY") or None,
            master_key_file=(
                Path(env["FOURFLOW_MASTER_KEY_FILE"]).expanduser()
                if env.get("FOURFLOW_MASTER_KEY_FILE")
                else None
            ),
        )

    def master_key_source(self) -> MasterKeySource:
        """Where the master key comes from (FOURFLOW_MASTER_KEY, FOURFLOW_MASTER_KEY_FILE,
        else ``home/master.key``)."""
        return MasterKeySource(
            value=self.master_key, file=self.master_key_file,
            default_file=self.home / "master.key",
        )  # fmt: skip

    def password(self) -> str:
        """The key store password, creating the local secret on first use."""
        if self.keystore_password:
            return self.keystore_password
        path = self.home / "keystore.secret"
        if not path.exists():
            # Written whole under a private name, then linked into place: of processes starting
            # at once one secret wins and none reads a half-written file.
            self.home.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(secrets.token_urlsafe(32))
                os.link(draft, path)
            except FileExistsError:
                pass  # another process linked its secret first: use that one
            finally:
                draft.unlink(missing_ok=True)
        return path.read_text(encoding="utf-8").strip()

    def describe_database(self) -> str:
        """The database URL without any password."""
        if "@" in self.database_url and "://" in self.database_url:
            scheme, rest = self.database_url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
        return self.database_url


SERVE_WORKER_STATE_ENV = "FOURFLOW_SERVE_WORKER_STATE"


def export_serve_worker_state(path: Path | None) -> None:
    """Name (or, with None, stop naming) the worker's state file in this process's environment,
    for the API processes ``fourflow serve`` starts (they inherit it and read it in
    ``Settings.from_env``: ``serve_worker_state``)."""
    if path is None:
        os.environ.pop(SERVE_WORKER_STATE_ENV, None)
    else:
        os.environ[SERVE_WORKER_STATE_ENV] = str(path)


def simulated_history(
    *, seed: int, trades: int, scenario: str = "manufacturing", months: int = 18
) -> list[InvoiceFacts]:
    """The cold-start history (``risk.bootstrap.HistorySource``): a clean simulated platform.

    Its invoices with payments, credit notes, deliveries and disputes; the only way production
    code reaches the simulator.
    """
    sink = Collector()
    params = SimulationParams(
        seed=seed, trades=trades, scenario=scenario, fraud_rate=0.0, months=months,
        disputes=True,
    )  # fmt: skip
    Simulation(params, sink).run()
    return sink.facts(scenario)


def simulation_output(out: Path) -> DirectorySink:
    """The simulator's output directory writer (``fourflow simulate``; docs/simulator.md)."""
    return DirectorySink(out)


def clique_network(
    directory: Path | None, *, geth: Path | None = None, settings: Settings | None = None
) -> CliqueNetwork:
    """The members' Clique development network in ``directory`` (default: home/consortium),
    run by ``geth`` (default: ``Settings.geth_bin``, else the build cache)."""
    settings = settings or Settings.from_env()
    where = directory if directory is not None else settings.home / "consortium"
    return CliqueNetwork(where, geth=geth or settings.geth_bin)


def configure_standards(settings: Settings) -> None:
    """Point the validators at the standards directory of ``settings`` (docs/standards.md)."""
    standards.configure(settings.standards_dir, settings.project_root, settings.home)


def standards_status(
    settings: Settings, *, verify: bool = False
) -> tuple[Path | None, list[standards_fetch.ArtefactState]]:
    """The standards directory the validators use (None: none found) and each artefact's
    state in it (``verify``: SHA-256 checked too)."""
    configure_standards(settings)
    try:
        root = standards.standards_dir()
    except standards.StandardsMissingError:
        root = None
    target = root if root is not None else standards.fetch_target()
    return root, standards_fetch.status(target, verify=verify)


def standards_fetch_into(
    settings: Settings,
    *,
    only: Sequence[str] = (),
    mirror: str | None = None,
    timeout: float = standards_fetch.DEFAULT_TIMEOUT,
    force: bool = False,
    progress: standards_fetch.Progress | None = None,
) -> standards_fetch.FetchResult:
    """``fourflow standards fetch``: FOURFLOW_STANDARDS_DIR, else ``home/standards``."""
    configure_standards(settings)
    target = standards.fetch_target()
    result = standards_fetch.fetch(
        target, only=only, mirror=mirror, timeout=timeout, force=force, progress=progress
    )
    configure_standards(settings)  # forget lookups made before the install
    return result


def standards_manifest() -> tuple[standards.Artefact, ...]:
    """The pinned official artefacts (the package's manifest)."""
    return standards.manifest()


def parse_json(raw: bytes, source: str) -> object:
    """Parse a JSON file given by a user (a column mapping ...) strictly and safely."""
    value: object = load_json(raw, source)
    return value


class SystemClock:
    """The real date and time (UTC)."""

    def today(self) -> dt.date:
        """Today's date in UTC."""
        return dt.datetime.now(dt.UTC).date()

    def now(self) -> dt.datetime:
        """Now, timezone-aware UTC."""
        return dt.datetime.now(dt.UTC)


class Platform:
    """FourFlow's adapters and services for one home, opened and closed as a unit."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        #: Where the cold-start model's history comes from (services/credit.py).
        self.cold_start: HistorySource = simulated_history
        settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(settings.database_url)
        migrate(self.engine)
        self.uow_factory: UnitOfWorkFactory = SqlUnitOfWorkFactory(self.engine)
        self.keystore = EnvelopeKeyStore(
            settings.home, settings.master_key_source(), legacy_password=settings.password
        )
        self.keystore.open()  # checks the master key; converts key files of the older layout
        self._webhook_secrets = self.keystore.secret_box("webhooks")
        self.webhooks.seal_plaintext_secrets()  # endpoints registered before secrets were sealed
        self._identity_store = SqlIdentityStoreFactory(
            self.engine, secrets=self.keystore.secret_box("totp")
        )
        self._identity_store.seal_plaintext_totp()  # second factors enrolled before, likewise
        configure_standards(settings)
        self._rules: InvoiceRules | None = None
        self._node: AnvilNode | None = None
        self._started_node = False
        self._ledger: ChainLedger | None = None
        self._identities: Identities | None = None
        self._item_view_versions: SqlItemViewVersions | None = None

    # ------------------------------------------------------------------ chain

    @property
    def managed_node(self) -> bool:
        """True when FourFlow runs its own local node (no FOURFLOW_CHAIN_URL)."""
        return self.settings.chain_url is None

    def chain_url(self) -> str:
        """The node's JSON-RPC URL, starting the local node if FourFlow manages it."""
        if self.settings.chain_url:
            return self.settings.chain_url
        if self._node is None:
            self._node = self._anvil()
        # A lease: the node (started now, or on demand by another process, or left behind by a
        # killed one) is stopped on close only when no other process still holds a lease.
        url, started = self._node.acquire()
        if started:
            log.info("started local chain node", home=str(self.settings.home))
        self._started_node = True
        return url

    def _anvil(self) -> AnvilNode:
        return AnvilNode(
            self.settings.home,
            chain_id=self.settings.chain_id,
            binary=self.settings.anvil_bin,
            project_root=self.settings.project_root,
        )

    def _keep_path(self) -> Path:
        return self.settings.home / "chain" / "keep-running"

    def start_node(self) -> str:
        """Start the local node and leave it running after this process (for servers)."""
        url = self.chain_url()
        self._keep_path().touch()
        return url

    def stop_node(self) -> bool:
        """Stop the local node of this home, if one runs; True if one was stopped."""
        self._keep_path().unlink(missing_ok=True)
        if self._node is not None:
            self._node.release(stop_if_last=False)
            self._started_node = False
        return self._anvil().stop()

    def govern(
        self, council_org_ids: Sequence[str], threshold: int | None = None, delay: int = 86_400
    ) -> str:
        """End the founding phase once: Governance, with this council (``threshold`` votes,
        default a bare majority; a ``delay``-second timelock), owns the Registry and the
        settlement token. Returns its address (the existing one if already handed over)."""
        ledger = self.require_contracts()
        existing = ledger.contracts.get(GOVERNANCE)
        if existing:
            return existing
        votes = threshold if threshold is not None else len(council_org_ids) // 2 + 1
        address = ledger.hand_over(self.operator_id(), list(council_org_ids), votes, delay)
        self.save_contracts(ledger)
        return address

    def save_contracts(self, ledger: ChainLedger) -> None:
        """Store the ledger's contract addresses (after Governance took over, for instance)."""
        with self.uow_factory() as uow:
            uow.settings.put(
                self._contracts_key(ledger), json.dumps(ledger.contracts, sort_keys=True)
            )
            uow.commit()

    def _contracts_key(self, ledger: ChainLedger) -> str:
        return CONTRACTS_KEY.format(chain_id=ledger.chain_id)

    @property
    def ledger(self) -> ChainLedger:
        """The chain ledger with FourFlow's contracts (deployed by ``initialise``)."""
        if self._ledger is None:
            ledger = ChainLedger(
                self.chain_url(),
                self.keystore,
                artifacts_home=self.settings.artifacts_cache or self.settings.home,
                managed_node=self.managed_node,
                receipt_timeout=self.settings.receipt_timeout,
                batch_calls=self.settings.chain_batch_calls,
            )
            ledger.client.confirmations = self.settings.confirmations
            with self.uow_factory() as uow:
                stored = uow.settings.get(self._contracts_key(ledger))
            if stored is not None:
                ledger.use_contracts(json.loads(stored))
            self._ledger = ledger
        return self._ledger

    def require_contracts(self) -> ChainLedger:
        """The ledger, refusing when the contracts were never deployed."""
        ledger = self.ledger
        if not ledger.contracts:
            raise NotInitialisedError("the contracts are not deployed; run `fourflow init`")
        return ledger

    # ------------------------------------------------------------------ setup

    def operator(self) -> Organisation | None:
        """The platform operator organisation, once initialised."""
        with self.uow_factory() as uow:
            org_id = uow.settings.get(onboarding.OPERATOR_ORG_KEY)
            return uow.organisations.get(org_id) if org_id else None

    def operator_id(self) -> str:
        """The operator's organisation id, or NotInitialisedError."""
        operator = self.operator()
        if operator is None:
            raise NotInitialisedError("the platform is not initialised; run `fourflow init`")
        return operator.id

    def initialise(
        self, *, operator_name: str = OPERATOR_NAME, operator_uscc: str | None = None
    ) -> dict[str, str]:
        """Create the operator and deploy the contracts; keep the invoice facts of the trades
        that have none kept (``credit.history.fill``: every trade of a store older than
        revision 0028, once); safe to run again.

        Processes opening one fresh platform at once create one operator and deploy once: the
        first holds the store's init lock while it works, the others wait for it and then
        find its operator and contracts (read again under the lock).
        """
        with held(self.engine, INIT_LOCK):
            addresses = self._initialise(operator_name, operator_uscc)
            started = time.perf_counter()
            kept = credit_history.fill(self.uow_factory)
            if kept:
                log.info("trade facts kept", trades=kept,
                         seconds=round(time.perf_counter() - started, 1))  # fmt: skip
            return addresses

    def _initialise(self, operator_name: str, operator_uscc: str | None) -> dict[str, str]:
        operator = self.operator()
        if operator is None:
            uscc = operator_uscc or OPERATOR_USCC_BASE + uscc_check_character(OPERATOR_USCC_BASE)
            operator = onboarding.onboard(
                uow_factory=self.uow_factory,
                keystore=self.keystore,
                name=operator_name,
                uscc=uscc,
                roles=[Role.OPERATOR],
                admit=False,
            )
            with self.uow_factory() as uow:
                uow.settings.put(onboarding.OPERATOR_ORG_KEY, operator.id)
                uow.commit()
        ledger = self.ledger
        with self.uow_factory() as uow:  # as stored now: another process may have deployed
            stored = uow.settings.get(self._contracts_key(ledger))
        if stored is not None:
            ledger.use_contracts(json.loads(stored))
        before = dict(ledger.contracts)
        if before:
            ledger.check_deployed()
        # Deploys what is missing only: everything on a new chain, or contracts added by a
        # newer FourFlow to a platform that already runs the older ones.
        addresses = ledger.deploy(operator.id)
        if addresses != before:
            with self.uow_factory() as uow:
                uow.settings.put(self._contracts_key(ledger), json.dumps(addresses, sort_keys=True))
                uow.commit()
            log.info("contracts deployed", **addresses)
        return addresses

    def ensure_initialised(self) -> None:
        """Initialise on first use (the demo runs on a fresh home), deploying what is missing."""
        self.initialise()

    def reader_for(
        self, submitter_id: str | None, options: dict[str, object] | None = None
    ) -> DocumentReader:
        """The document reader for a submitting organisation (``options``: e.g. a mapping).

        Invoices, credit notes and orders it reads must pass their business rules.
        """
        return DetectingReader(submitter=submitter_id, options=options, rules=self.rules)

    def stored_reader_for(self, submitter_id: str | None) -> DocumentReader:
        """A reader for documents already stored (the audit re-reads them for their
        fingerprints): schemas only, so documents kept before a rule existed still read."""
        return DetectingReader(submitter=submitter_id)

    @property
    def rules(self) -> InvoiceRules:
        """The business rules applied at ingest (compiled on first use)."""
        if self._rules is None:
            self._rules = InvoiceRules(RuleEngine(standards.standards_dir()))
        return self._rules

    def sign(
        self, raw: bytes, org_id: str, *, sm2_private_key: str | None = None
    ) -> dict[str, str]:
        """A detached signature of ``raw`` by the organisation's key (or the given SM2 key)."""
        if sm2_private_key:
            return sign_sm2(sm2_private_key, raw)
        return sign_secp256k1(self.keystore.private_key(org_id), raw)

    @property
    def verifier(self) -> SignatureVerifier:
        """Verifies document signatures (secp256k1 EIP-191 and SM2)."""
        return verify_signature

    def ledger_at(self, url: str | None, addresses: dict[str, str]) -> ChainLedger:
        """A read-only view of contracts at given addresses (for checking proofs)."""
        return ChainLedger(
            url or self.chain_url(),
            self.keystore,
            addresses,
            artifacts_home=self.settings.artifacts_cache or self.settings.home,
        )

    def chain_writer(self) -> AbstractContextManager[None]:
        """The store-wide lock the API's processes take around their chain work (queueing
        and relaying chain operations), so that of several processes on one store one at a
        time sends transactions."""
        return held(self.engine, CHAIN_WRITER_LOCK, timeout_s=300.0)

    def relay_claims(self) -> SenderClaims | None:
        """On PostgreSQL, one relay per sender at a time by row lock (``relay.relay`` with
        ``claims``: several workers relay different senders side by side); None on SQLite,
        whose one writer relays under ``chain_writer``."""
        if self.engine.dialect.name != "postgresql":
            return None
        return SenderClaims(self.engine, holder=f"{socket.gethostname()}:{os.getpid()}")

    def item_view_versions(self) -> SqlItemViewVersions:
        """The version of each item's view (issue 16, reads): ``items.ItemViews`` keeps the
        views it rendered at their version and renders again once it grows."""
        if self._item_view_versions is None:
            self._item_view_versions = SqlItemViewVersions(self.engine)
        return self._item_view_versions

    def rotate_master_key(self, new_key_file: Path) -> tuple[int, str]:
        """Rewrap every data key under the master key in ``new_key_file``, atomically
        (``fourflow keys rotate-master``); returns (data keys rewrapped, the new key's id)."""
        new = read_master_key_file(new_key_file, "--new-key-file")
        return self.keystore.rotate_master(new), new.key_id

    # ------------------------------------------------------------------ identities

    @property
    def identities(self) -> Identities:
        """Users, credentials and sign-in (issue 16), on this platform's database."""
        if self._identities is None:
            self._identities = Identities(
                store=self._identity_store,
                uow_factory=self.uow_factory,
                keystore=self.keystore,
                hasher=Argon2Passwords(),
                second_factor=Totp(),
                clock=self.clock,
                policy=IdentityPolicy(
                    access_ttl=dt.timedelta(minutes=self.settings.api_access_minutes)
                ),
                recover_signer=recover_text_signer,
                credential_cache=CredentialCache(self.settings.api_auth_cache_seconds),
            )
        return self._identities

    @property
    def scenario_platforms(self) -> SqlPlatformStore:
        """Scenario platforms as tenants (issue 16 item 5): members, banks, products."""
        return SqlPlatformStore(self.engine)

    @property
    def webhooks(self) -> SqlWebhookStore:
        """Webhook endpoints, the event outbox and deliveries (issue 16)."""
        return SqlWebhookStore(self.engine, secrets=self._webhook_secrets)

    def deliver_webhooks(self, *, limit: int = 200) -> DeliveryResult:
        """One bounded webhook delivery pass with this platform's settings (for the worker
        and ``fourflow webhooks deliver --once``)."""
        s = self.settings
        return deliver_webhooks(
            self.webhooks, UrllibPoster(), now=lambda: dt.datetime.now(dt.UTC),
            max_attempts=s.webhook_max_attempts, backoff_seconds=s.webhook_backoff_seconds,
            timeout_seconds=s.webhook_timeout_seconds, limit=limit,
        )  # fmt: skip

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Release the database and stop the local node if this process started it."""
        if self._node is not None and self._started_node:
            self._node.release(stop_if_last=not self._keep_path().exists())
            self._started_node = False
        if self._item_view_versions is not None:
            self._item_view_versions.close()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def create_master_key_file(path: Path) -> str:
    """Write a new random master key to ``path`` (mode 0600, never overwriting); its id."""
    return write_key_file(path).key_id


def open_platform(settings: Settings | None = None) -> Platform:
    """Open the platform for the current environment's settings."""
    return Platform(settings or Settings.from_env())


__all__ = [
    "CLIQUE_CHAIN_ID",
    "CliqueNetwork",
    "ConflictError",
    "DocumentValidation",
    "NotInitialisedError",
    "Platform",
    "Settings",
    "clique_network",
    "open_platform",
    "parse_json",
    "simulated_history",
    "simulation_output",
    "validate_document",
]
