"""The unit of work over the SQL store: one session, one transaction, every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from fourflow.adapters.db.consents import SqlDataConsents
from fourflow.adapters.db.repositories import (
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
    SqlTrades,
    SqlTransferPayments,
    SqlWarehouseReceipts,
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

    def __enter__(self) -> Self:
        """Open a session and the repositories over it."""
        if self._session is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        session = self._session_factory()
        self._session = session
        self.organisations = SqlOrganisations(session)
        self.documents = SqlDocuments(session)
        self.trades = SqlTrades(session)
        journal = UndoJournal()
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

    def rollback(self) -> None:
        """Roll back the transaction."""
        self._require_session().rollback()

    def _require_session(self) -> Session:
        """The open session, or an error saying the unit of work is not entered."""
        if self._session is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._session


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
        """A mark of the store's state: the same mark means the same committed data.

        PostgreSQL: the server, database and schema with the current snapshot
        (``pg_current_snapshot()``: the next transaction id and those in progress). Every write
        has a transaction id; one that commits after the mark was read either started after it
        (a higher next id) or was in progress then (no longer listed), so every later mark
        differs. Data read after the mark is at least as new, so a cache keyed by it never
        answers older than the store. Other databases' writes also change it (a new mark, no
        harm). SQLite, or a server that cannot tell: None, nothing to cache under."""
        if self.engine.dialect.name != "postgresql":
            return None
        query = text(
            "SELECT concat_ws('/', inet_server_addr(), inet_server_port(), current_database(), "
            "current_schema(), pg_current_snapshot())"
        )
        try:
            with self.engine.connect() as connection:
                found = connection.execute(query).scalar_one()
        except DBAPIError:
            return None
        return str(found)
