"""The unit of work over the SQL store: one session, one transaction, every repository."""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from fourflow.adapters.db.consents import SqlDataConsents
from fourflow.adapters.db.repositories import (
    AheadReads,
    LockedReads,
    SqlBatches,
    SqlCancelApprovals,
    SqlDebtItems,
    SqlDefaultMarks,
    SqlDilutions,
    SqlDisputes,
    SqlDocumentFindings,
    SqlDocuments,
    SqlFinancings,
    SqlGoodsFinancings,
    SqlGoodsPrices,
    SqlMandates,
    SqlOrganisations,
    SqlOutbox,
    SqlPresentations,
    SqlProductPolicies,
    SqlRepayments,
    SqlReportAnchors,
    SqlResubmissions,
    SqlRiskAlerts,
    SqlRiskModels,
    SqlSettings,
    SqlSignalClearances,
    SqlTradeFacts,
    SqlTrades,
    SqlTransferPayments,
    SqlWarehouseReceipts,
    read_ahead,
    read_locked,
)
from fourflow.adapters.db.settlement import SqlSettlementRecords
from fourflow.adapters.db.webhooks import SqlNotifications
from fourflow.services.undo import UndoJournal


class SqlUnitOfWork:
    """One database transaction over every repository (``services.ports.UnitOfWork``).

    Use it as ``with uow: ...; uow.commit()``. Leaving the block rolls back whatever was not
    committed, exception or not, and closes the session. Repositories never commit.
    """

    organisations: SqlOrganisations
    documents: SqlDocuments
    trades: SqlTrades
    trade_facts: SqlTradeFacts
    items: SqlDebtItems
    financings: SqlFinancings
    repayments: SqlRepayments
    batches: SqlBatches
    outbox: SqlOutbox
    settings: SqlSettings
    risk_models: SqlRiskModels
    risk_alerts: SqlRiskAlerts
    disputes: SqlDisputes
    dilutions: SqlDilutions
    cancel_approvals: SqlCancelApprovals
    default_marks: SqlDefaultMarks
    settlement: SqlSettlementRecords
    notifications: SqlNotifications
    receipts: SqlWarehouseReceipts
    prices: SqlGoodsPrices
    policies: SqlProductPolicies
    report_anchors: SqlReportAnchors
    resubmissions: SqlResubmissions
    presentations: SqlPresentations
    document_findings: SqlDocumentFindings
    mandates: SqlMandates
    signal_clearances: SqlSignalClearances
    transfer_payments: SqlTransferPayments
    goods_financings: SqlGoodsFinancings
    consents: SqlDataConsents

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self._together = False
        self._first_marks: dict[str, tuple[int, int]] | None = None  # ``decision_marks``

    def __enter__(self) -> Self:
        """Open a session and the repositories over it."""
        if self._session is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        session = self._session_factory()
        self._session = session
        self.organisations = SqlOrganisations(session)
        self.documents = SqlDocuments(session)
        self.trades = SqlTrades(session)
        self.trade_facts = SqlTradeFacts(session)
        journal = UndoJournal()
        self._journal = journal
        self.items = SqlDebtItems(session, journal)
        self.financings = SqlFinancings(session, journal)
        self.repayments = SqlRepayments(session, journal)
        self.batches = SqlBatches(session)
        self.outbox = SqlOutbox(session, journal)
        self.settings = SqlSettings(session)
        self.risk_models = SqlRiskModels(session)
        self.risk_alerts = SqlRiskAlerts(session)
        self.disputes = SqlDisputes(session)
        self.dilutions = SqlDilutions(session)
        self.cancel_approvals = SqlCancelApprovals(session)
        self.default_marks = SqlDefaultMarks(session)
        self.settlement = SqlSettlementRecords(session)
        self.notifications = SqlNotifications(session)
        self.receipts = SqlWarehouseReceipts(session)
        self.prices = SqlGoodsPrices(session)
        self.policies = SqlProductPolicies(session)
        self.report_anchors = SqlReportAnchors(session)
        self.resubmissions = SqlResubmissions(session)
        self.presentations = SqlPresentations(session)
        self.document_findings = SqlDocumentFindings(session)
        self.mandates = SqlMandates(session)
        self.signal_clearances = SqlSignalClearances(session)
        self.transfer_payments = SqlTransferPayments(session)
        self.goods_financings = SqlGoodsFinancings(session)
        self.consents = SqlDataConsents(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back anything not committed and close the session."""
        session = self._require_session()
        self._session = None
        try:
            session.rollback()
        finally:
            session.close()

    def commit(self) -> None:
        """Commit the transaction; later work in the same block starts a new one."""
        self._require_session().commit()
        self._first_marks = None

    def rollback(self) -> None:
        """Roll back the transaction."""
        self._require_session().rollback()
        self._first_marks = None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A SQL savepoint (``ports.UnitOfWork.savepoint``): an exception in the block rolls
        back to it, forgets what was journalled for undo since, and is raised again."""
        session = self._require_session()
        self._journal.take()  # what was journalled before belongs to no later op
        nested = session.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            self._journal.take()
            raise
        nested.commit()

    @contextmanager
    def together(self) -> Iterator[None]:
        """Writes held to the block's end, one statement a table (``ports.UnitOfWork.together``):
        the new financings, the holding updates and the presentations, then the chain
        operations (``SqlOutbox.together``; the outbox's trigger finds the financings they
        name). Inside another such block: that one stores them."""
        self._require_session()
        if self._together:
            yield
            return
        self._together = True
        with self.outbox.together():
            for repository in (self.presentations, self.financings, self.items):
                repository.hold()
            try:
                yield
            finally:
                self._together = False
                presentations = self.presentations.take_held()
                financings = self.financings.take_held()
                holdings = self.items.take_held()
            self.financings.store_held(financings)
            self.items.store_held(holdings)
            self.presentations.store_held(presentations)

    def decision_reads(self, named: Sequence[str]) -> AheadReads | None:
        """What a batch of decisions reads first about the holdings ``named`` (their latest
        financings, parents, items, and the items' trades' clearances and transfer payments),
        in one statement (``repositories.read_ahead``); None where the store reads them a table
        at a time (SQLite). Before any write held (``together``)."""
        if self._together:
            return None
        return read_ahead(self._require_session(), named)

    def decision_locked_reads(
        self, holding_ids: Sequence[str], item_ids: Sequence[str], fingerprints: Sequence[str] = ()
    ) -> LockedReads | None:
        """What a batch of decisions reads first under the banks' limits locks, in one
        statement (``repositories.read_locked``): the change marks as ``decision_marks()``
        gives them, the holdings' rows locked in id order as ``items.lock_holdings``, the
        items' dispute events as ``disputes.for_item``, which of ``fingerprints`` are known
        presented as ``presentations.known``. None where the store reads them one by
        one (SQLite, a store without the marks, writes held)."""
        session = self._require_session()
        bind = session.get_bind()
        if self._together or bind.dialect.name != "postgresql":
            return None
        if bind not in _MARKED:  # once per engine: is the store migrated to 0029?
            self.decision_marks()
        if not _MARKED[bind]:
            return None
        return read_locked(session, holding_ids, item_ids, fingerprints)

    def decision_marks(self, *, fold: bool = False) -> dict[str, tuple[int, int]] | None:
        """The financing decisions' change marks as this transaction sees them (migration
        0029): group (``view``, ``policy``, ``model``, ``exposure``) -> (the sum of its
        weights, the part written by this transaction). A group's sum grows with every
        committed change of its tables. On SQLite this transaction holds the write lock from its
        first statement, so nothing others commit appears while it lasts: its own part is
        given as 0 and every change seen appear meanwhile is its own. None if the store cannot
        tell (not migrated to 0029). ``fold``: past ``CHANGES_FOLD`` rows, fold them into one
        row a group first (in this transaction: before it writes anything of its own)."""
        session = self._require_session()
        postgres = session.get_bind().dialect.name == "postgresql"
        own = "sum(weight) FILTER (WHERE tx = txid_current())" if postgres else "0"
        query = text(
            f"SELECT grp, sum(weight), {own}, count(*) FROM decision_changes GROUP BY grp"  # noqa: S608
        )
        bind = session.get_bind()
        if bind not in _MARKED:  # once per engine: is the store migrated to 0029?
            try:
                with session.begin_nested():
                    session.execute(query).all()
            except (DBAPIError, sqlite3.Error):
                _MARKED[bind] = False
            else:
                _MARKED[bind] = True
        if not _MARKED[bind]:
            return None
        rows = session.execute(query).all()
        if fold and sum(int(r[3]) for r in rows) > CHANGES_FOLD:
            if postgres:
                session.execute(
                    text(
                        "WITH gone AS (DELETE FROM decision_changes WHERE tx IS DISTINCT FROM "
                        "txid_current() RETURNING grp, weight) INSERT INTO decision_changes "
                        "(grp, weight) SELECT grp, sum(weight) FROM gone GROUP BY grp"
                    )
                )
            else:
                session.execute(text("DELETE FROM decision_changes"))
                session.execute(
                    text("INSERT INTO decision_changes (grp, weight) VALUES (:g, :w)"),
                    [{"g": r[0], "w": int(r[1])} for r in rows],
                )
        found = {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in rows}
        if not postgres:  # the write lock is held: what grew since the first read is its own
            first = self._first_marks = self._first_marks or found
            found = {g: (t, t - first.get(g, (t, 0))[0]) for g, (t, _) in found.items()}
        return found

    def _require_session(self) -> Session:
        """The open session, or an error saying the unit of work is not entered."""
        if self._session is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._session


#: The change mark's rows are folded into one past this many (``change_mark``).
CHANGES_FOLD = 256

#: Engines whose store has the decisions' change marks (``SqlUnitOfWork.decision_marks``).
_MARKED: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


class SqlUnitOfWorkFactory:
    """Makes a fresh ``SqlUnitOfWork`` per use case (``services.ports.UnitOfWorkFactory``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # close_resets_only=False: a repository kept past its block raises instead of quietly
        # opening a new transaction (on SQLite one that would hold the write lock).
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False, close_resets_only=False)

    def __call__(self) -> SqlUnitOfWork:
        """A new unit of work on this factory's engine."""
        return SqlUnitOfWork(self._sessions)

    def change_mark(self) -> str | None:
        """A mark of the data the supervision views read: the same mark means the same
        committed trades, items, financings, repayments, organisations and scenario platforms.

        The store (the server, database and schema on PostgreSQL; the engine's URL and this
        factory on SQLite) with the sum of ``supervision_changes`` (migration 0026: a row per
        change of those tables, written by triggers in the writer's transaction; rows are only
        added, so the sum grows with every committed change and with nothing else: the API's
        audit rows, the outbox, users leave it). Past ``CHANGES_FOLD`` rows they are folded into
        one row of their total (the sum unchanged). None if the store cannot tell (a store not
        migrated to 0026): nothing to cache under."""
        if self.engine.dialect.name == "postgresql":
            where = (
                "concat_ws('/', inet_server_addr(), inet_server_port(), current_database(), "
                "current_schema())"
            )
        else:
            where = "''"
        query = text(f"SELECT {where}, count(*), sum(weight) FROM supervision_changes")  # noqa: S608
        try:
            with self.engine.connect() as connection:
                if self.engine.dialect.name == "sqlite":  # a plain read: no BEGIN IMMEDIATE
                    raw: Any = connection.connection.dbapi_connection
                    store, rows, total = raw.execute(str(query)).fetchone()
                else:
                    store, rows, total = connection.execute(query).one()
        except (DBAPIError, sqlite3.Error):
            return None
        if rows > CHANGES_FOLD:
            self._fold()
        if self.engine.dialect.name != "postgresql":
            store = f"{self.engine.url}#{id(self)}"
        return f"{store}/{total}"

    def _fold(self) -> None:
        """The mark's rows folded into one of their total, in one transaction. Never waits on a
        writer: SQLite's busy wait is off for it (a writer holding the lock: folded at a later
        read); PostgreSQL's delete does not see a writer's uncommitted rows."""
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as connection:
            waited = 0
            raw: Any = connection.connection.dbapi_connection  # outside a transaction
            if sqlite:
                waited = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
                raw.execute("PRAGMA busy_timeout = 0")
            try:
                with connection.begin():
                    if not sqlite:
                        connection.execute(
                            text(
                                "WITH gone AS (DELETE FROM supervision_changes RETURNING weight) "
                                "INSERT INTO supervision_changes (weight) "
                                "SELECT sum(weight) FROM gone HAVING count(*) > 0"
                            )
                        )
                        return
                    total = connection.execute(
                        text("SELECT sum(weight) FROM supervision_changes")
                    ).scalar_one()
                    connection.execute(text("DELETE FROM supervision_changes"))
                    connection.execute(
                        text("INSERT INTO supervision_changes (weight) VALUES (:w)"), {"w": total}
                    )
            except DBAPIError:
                return
            finally:
                if sqlite:
                    raw.execute(f"PRAGMA busy_timeout = {waited}")
