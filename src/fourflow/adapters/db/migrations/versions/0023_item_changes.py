"""The item view's version (issue 16, reads): ``item_changes`` gets a row, written by triggers
in the writer's own transaction, for every change of what ``describe_item`` shows.

Triggers (SQLite and PostgreSQL) on ``debt_items``, ``holdings``, ``financings``,
``repayments``, ``routed_parts``, ``dispute_events`` and ``cancel_approvals`` (insert, update,
delete) add the item's id; on ``outbox`` (insert, and an update of ``status``) the item its
``subject_id`` names (the item itself, one of its holdings or financings); on
``organisations`` (an update of ``name``) the row ``*organisations``. The view's version is the
number of rows of the item and of ``*organisations``: it grows with every committed change
(rows are only added), so a view rendered at a version is never served for a later state.

Append-only rows rather than a counter: no row lock is taken on a reader's or another
writer's behalf (a counter's update would serialise, and could deadlock, transactions
touching the same items in another order).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

#: Tables whose rows name their item in a column: (table, column).
BY_COLUMN = (
    ("debt_items", "id"),
    ("holdings", "item_id"),
    ("financings", "item_id"),
    ("repayments", "item_id"),
    ("routed_parts", "item_id"),
    ("dispute_events", "item_id"),
    ("cancel_approvals", "item_id"),
)
ORGANISATIONS = "*organisations"

#: The items an outbox row's subject names (the item, one of its holdings or financings).
_OUTBOX_ITEMS = """
    SELECT id FROM debt_items WHERE id = NEW.subject_id
    UNION SELECT item_id FROM holdings WHERE id = NEW.subject_id
    UNION SELECT item_id FROM financings WHERE id = NEW.subject_id
"""


def upgrade() -> None:
    """Create the table and the triggers."""
    op.create_table("item_changes", sa.Column("item_id", sa.String(), nullable=False))
    op.create_index("ix_item_changes_item_id", "item_changes", ["item_id"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def _sqlite() -> None:
    for table, column in BY_COLUMN:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER item_changes_{table}_{event.lower()} AFTER {event} ON {table} "  # noqa: S608
                f"BEGIN INSERT INTO item_changes (item_id) VALUES ({row}.{column}); END"
            )
    for event in ("INSERT", "UPDATE OF status"):
        name = event.split()[0].lower()
        op.execute(
            f"CREATE TRIGGER item_changes_outbox_{name} AFTER {event} ON outbox "
            f"BEGIN INSERT INTO item_changes (item_id) {_OUTBOX_ITEMS}; END"
        )
    op.execute(
        "CREATE TRIGGER item_changes_organisations_update AFTER UPDATE OF name ON organisations "  # noqa: S608
        f"BEGIN INSERT INTO item_changes (item_id) VALUES ('{ORGANISATIONS}'); END"
    )


def _postgresql() -> None:
    op.execute(
        """
        CREATE FUNCTION item_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                INSERT INTO item_changes (item_id) VALUES (to_jsonb(OLD) ->> TG_ARGV[0]);
            ELSE
                INSERT INTO item_changes (item_id) VALUES (to_jsonb(NEW) ->> TG_ARGV[0]);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION item_changed_by_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO item_changes (item_id) {_OUTBOX_ITEMS};
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION organisation_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO item_changes (item_id) VALUES ('{ORGANISATIONS}');
            RETURN NULL;
        END $$
        """  # noqa: S608 (a constant)
    )
    for table, column in BY_COLUMN:
        op.execute(
            f"CREATE TRIGGER item_changes_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION item_changed('{column}')"
        )
    op.execute(
        "CREATE TRIGGER item_changes_outbox AFTER INSERT OR UPDATE OF status ON outbox "
        "FOR EACH ROW EXECUTE FUNCTION item_changed_by_outbox()"
    )
    op.execute(
        "CREATE TRIGGER item_changes_organisations AFTER UPDATE OF name ON organisations "
        "FOR EACH ROW EXECUTE FUNCTION organisation_renamed()"
    )


def downgrade() -> None:
    """Drop the triggers and the table."""
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in BY_COLUMN:
            op.execute(f"DROP TRIGGER IF EXISTS item_changes_{table} ON {table}")
        op.execute("DROP TRIGGER IF EXISTS item_changes_outbox ON outbox")
        op.execute("DROP TRIGGER IF EXISTS item_changes_organisations ON organisations")
        for function in ("item_changed", "item_changed_by_outbox", "organisation_renamed"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for table, _ in BY_COLUMN:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS item_changes_{table}_{event}")
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS item_changes_outbox_{event}")
        op.execute("DROP TRIGGER IF EXISTS item_changes_organisations_update")
    op.drop_index("ix_item_changes_item_id", table_name="item_changes")
    op.drop_table("item_changes")
