"""The item view's change rows written once a statement on PostgreSQL (issue 16, decisions p99).

Migration 0023's triggers add an ``item_changes`` row for every changed row of ``debt_items``,
``holdings``, ``financings``, ``repayments``, ``routed_parts``, ``dispute_events`` and
``cancel_approvals``, and of every new ``outbox`` row (the item its subject names): a batch of
25 financing decisions ran the trigger 150 times (25 financings, 25 holdings, 100 chain ops),
each a PL/pgSQL call and an insert, while it held the bank's limits lock (the outbox's three
lookups a row cost most: 100 rows inserted in 1.7-5.7 ms with it, 0.15 ms of trigger as a
statement trigger). On PostgreSQL they become statement triggers with a transition table
(one insert of one row an item, weighing the item's changed rows): the sum of an item's
weights, its view's version, grows exactly as before. An outbox row's change of ``status``
keeps its row trigger (a transition table cannot name the columns an update sets; the relay
writes those, not a decision). SQLite has row triggers only: unchanged.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

#: Tables whose rows name their item in a column: (table, column) (as in 0023).
BY_COLUMN = (
    ("debt_items", "id"),
    ("holdings", "item_id"),
    ("financings", "item_id"),
    ("repayments", "item_id"),
    ("routed_parts", "item_id"),
    ("dispute_events", "item_id"),
    ("cancel_approvals", "item_id"),
)
#: The transition table's rows, as each event gives them.
EVENTS = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))

#: The items the new outbox rows' subjects name (the item, one of its holdings or
#: financings), each weighing the number of rows naming it (a row counts once an item, as
#: 0023's ``UNION`` of one row's lookups did).
_OUTBOX_ITEMS = """
    SELECT item_id, count(*) FROM (
        SELECT n.op_id, d.id AS item_id FROM changed_rows n JOIN debt_items d ON d.id = n.subject_id
        UNION SELECT n.op_id, h.item_id FROM changed_rows n JOIN holdings h ON h.id = n.subject_id
        UNION SELECT n.op_id, f.item_id FROM changed_rows n JOIN financings f ON f.id = n.subject_id
    ) AS named GROUP BY item_id
"""


def _function(column: str) -> str:
    return f"items_changed_by_{column}"


def upgrade() -> None:
    """PostgreSQL: 0023's row triggers replaced by statement triggers (SQLite: nothing)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in sorted({c for _, c in BY_COLUMN}):
        op.execute(
            f"""
            CREATE FUNCTION {_function(column)}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO item_changes (item_id, weight)
                SELECT {column}, count(*) FROM changed_rows GROUP BY {column};
                RETURN NULL;
            END $$
            """  # noqa: S608 (constants)
        )
    op.execute(
        f"""
        CREATE FUNCTION items_changed_by_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO item_changes (item_id, weight) {_OUTBOX_ITEMS};
            RETURN NULL;
        END $$
        """
    )
    for table, column in BY_COLUMN:
        op.execute(f"DROP TRIGGER item_changes_{table} ON {table}")
        for event, rows in EVENTS:
            op.execute(
                f"CREATE TRIGGER item_changes_{table}_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {rows} TABLE AS changed_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_function(column)}()"
            )
    op.execute("DROP TRIGGER item_changes_outbox ON outbox")
    op.execute(
        "CREATE TRIGGER item_changes_outbox_insert AFTER INSERT ON outbox "
        "REFERENCING NEW TABLE AS changed_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION items_changed_by_outbox()"
    )
    op.execute(
        "CREATE TRIGGER item_changes_outbox_update AFTER UPDATE OF status ON outbox "
        "FOR EACH ROW EXECUTE FUNCTION item_changed_by_outbox()"
    )


def downgrade() -> None:
    """PostgreSQL: 0023's row triggers again (SQLite: nothing)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _ in BY_COLUMN:
        for event, _ in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS item_changes_{table}_{event.lower()} ON {table}")
        op.execute(
            f"CREATE TRIGGER item_changes_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION item_changed('{_column(table)}')"
        )
    op.execute("DROP TRIGGER IF EXISTS item_changes_outbox_insert ON outbox")
    op.execute("DROP TRIGGER IF EXISTS item_changes_outbox_update ON outbox")
    op.execute(
        "CREATE TRIGGER item_changes_outbox AFTER INSERT OR UPDATE OF status ON outbox "
        "FOR EACH ROW EXECUTE FUNCTION item_changed_by_outbox()"
    )
    op.execute("DROP FUNCTION IF EXISTS items_changed_by_outbox()")
    for column in sorted({c for _, c in BY_COLUMN}):
        op.execute(f"DROP FUNCTION IF EXISTS {_function(column)}()")


def _column(table: str) -> str:
    return dict(BY_COLUMN)[table]
