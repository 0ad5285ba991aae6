"""Clearing: no foreign keys on the high-volume, append-only clearing and ledger rows; the
close's history as one row per invoice line (issue 6, performance)

A month of clearing writes about a million CDR clearing rows, journal entries, history rows
and two to three million ledger lines. Their foreign keys cost about 13 index look-ups per CDR
(and one per CDR again when the close sets the invoice line), the largest part of a run's
database time. Integrity comes instead from the one code path that writes these rows (one
transaction per batch) and from ``clearing.house.integrity.verify``, run at every close and by
``hub clearing verify``. Low-volume tables keep their foreign keys.

- cdr_clearing: cdr_pk, period_pk, supplier_pk, customer_pk, invoice_line_pk lose their FKs;
  the indexes on ``state`` and ``invoice_line_pk`` go (an invoice line's CDRs are found by
  its period, ``period_pk`` + ``invoice_line_pk``), so that the close's update of a CDR row
  (state, invoice line) is a HOT update (PostgreSQL, fillfactor 60): no index entries.
- journal_entries: period_pk, cdr_pk; journal_lines: entry_pk, entity_pk, counterparty_pk;
  cdr_transitions: clearing_pk lose their FKs (the columns and their indexes stay).
- cdr_transitions: ``invoice_line_pk`` (a close or payment moves all the CDRs of an invoice
  line with ONE history row) and ``clearing_pk`` nullable (NULL on such a row).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table, ondelete) of the foreign keys dropped here.
DROPPED: tuple[tuple[str, str, str, str | None], ...] = (
    ("cdr_clearing", "cdr_pk", "cdrs", "CASCADE"),
    ("cdr_clearing", "period_pk", "settlement_periods", None),
    ("cdr_clearing", "supplier_pk", "legal_entities", None),
    ("cdr_clearing", "customer_pk", "legal_entities", None),
    ("cdr_clearing", "invoice_line_pk", "clearing_invoice_lines", None),
    ("journal_entries", "period_pk", "settlement_periods", None),
    ("journal_entries", "cdr_pk", "cdrs", None),
    ("journal_lines", "entry_pk", "journal_entries", "CASCADE"),
    ("journal_lines", "entity_pk", "legal_entities", None),
    ("journal_lines", "counterparty_pk", "legal_entities", None),
    ("cdr_transitions", "clearing_pk", "cdr_clearing", "CASCADE"),
)
LINE_ROWS = sa.text("invoice_line_pk IS NOT NULL")


def _fk(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    for table in ("cdr_clearing", "journal_entries", "journal_lines", "cdr_transitions"):
        with op.batch_alter_table(table) as batch:
            for t, column, referred, _ in DROPPED:
                if t == table:
                    batch.drop_constraint(_fk(t, column, referred), type_="foreignkey")
            if table == "cdr_clearing":
                batch.drop_index("ix_cdr_clearing_state")
                batch.drop_index("ix_cdr_clearing_invoice_line_pk")
            if table == "cdr_transitions":
                batch.alter_column("clearing_pk", existing_type=sa.Integer(), nullable=True)
                batch.add_column(sa.Column("invoice_line_pk", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Room on each page for the close's new row versions: with no index on the columns
        # it sets (state, invoice_line_pk, updated_at) they are HOT updates, no index entries.
        op.execute("ALTER TABLE cdr_clearing SET (fillfactor = 60)")
    op.create_index(
        "ix_cdr_transitions_invoice_line_pk",
        "cdr_transitions",
        ["invoice_line_pk"],
        unique=False,
        postgresql_where=LINE_ROWS,
        sqlite_where=LINE_ROWS,
    )


def downgrade() -> None:
    # History rows of whole invoice lines have no single CDR: they cannot go back.
    op.execute("DELETE FROM cdr_transitions WHERE clearing_pk IS NULL")
    op.drop_index("ix_cdr_transitions_invoice_line_pk", table_name="cdr_transitions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cdr_clearing RESET (fillfactor)")
    for table in ("cdr_clearing", "journal_entries", "journal_lines", "cdr_transitions"):
        with op.batch_alter_table(table) as batch:
            if table == "cdr_transitions":
                batch.drop_column("invoice_line_pk")
                batch.alter_column("clearing_pk", existing_type=sa.Integer(), nullable=False)
            if table == "cdr_clearing":
                batch.create_index("ix_cdr_clearing_state", ["state"], unique=False)
                batch.create_index(
                    "ix_cdr_clearing_invoice_line_pk", ["invoice_line_pk"], unique=False
                )
            for t, column, referred, ondelete in DROPPED:
                if t == table:
                    batch.create_foreign_key(
                        _fk(t, column, referred), referred, [column], ["id"], ondelete=ondelete
                    )
