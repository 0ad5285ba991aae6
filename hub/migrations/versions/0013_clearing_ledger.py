"""Clearing: CDR lifecycle, disputes, periods, ledger, invoices, netting, bank lines (issue 6)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("clearing_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("started_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_runs"))
    )
    op.create_table("clearing_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_a_pk", sa.Integer(), nullable=False),
        sa.Column("entity_b_pk", sa.Integer(), nullable=False),
        sa.Column("b2b_vat_option", sa.String(length=24), nullable=False),
        sa.Column("settlement_currency", sa.String(length=3), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("netting", sa.Boolean(), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entity_a_pk"], ["legal_entities.id"], name=op.f("fk_clearing_agreements_entity_a_pk_legal_entities")),
        sa.ForeignKeyConstraint(["entity_b_pk"], ["legal_entities.id"], name=op.f("fk_clearing_agreements_entity_b_pk_legal_entities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_agreements")),
        sa.UniqueConstraint("entity_a_pk", "entity_b_pk", name=op.f("uq_clearing_agreements_entity_a_pk"))
    )
    op.create_index(op.f("ix_clearing_agreements_entity_a_pk"), "clearing_agreements", ["entity_a_pk"], unique=False)
    op.create_index(op.f("ix_clearing_agreements_entity_b_pk"), "clearing_agreements", ["entity_b_pk"], unique=False)
    op.create_table("invoice_counters",
        sa.Column("issuer_pk", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_pk"], ["legal_entities.id"], name=op.f("fk_invoice_counters_issuer_pk_legal_entities"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("issuer_pk", name=op.f("pk_invoice_counters"))
    )
    op.create_table("settlement_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_pk", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agreement_pk"], ["clearing_agreements.id"], name=op.f("fk_settlement_periods_agreement_pk_clearing_agreements"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_periods")),
        sa.UniqueConstraint("agreement_pk", "start", name=op.f("uq_settlement_periods_agreement_pk"))
    )
    op.create_index(op.f("ix_settlement_periods_agreement_pk"), "settlement_periods", ["agreement_pk"], unique=False)
    op.create_index(op.f("ix_settlement_periods_status"), "settlement_periods", ["status"], unique=False)
    op.create_table("clearing_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issuer_pk", sa.Integer(), nullable=False),
        sa.Column("buyer_pk", sa.Integer(), nullable=False),
        sa.Column("period_pk", sa.Integer(), nullable=False),
        sa.Column("credited_invoice_pk", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("total_net", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("total_vat", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("total_gross", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_amount", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_pk"], ["legal_entities.id"], name=op.f("fk_clearing_invoices_buyer_pk_legal_entities")),
        sa.ForeignKeyConstraint(["credited_invoice_pk"], ["clearing_invoices.id"], name=op.f("fk_clearing_invoices_credited_invoice_pk_clearing_invoices")),
        sa.ForeignKeyConstraint(["issuer_pk"], ["legal_entities.id"], name=op.f("fk_clearing_invoices_issuer_pk_legal_entities")),
        sa.ForeignKeyConstraint(["period_pk"], ["settlement_periods.id"], name=op.f("fk_clearing_invoices_period_pk_settlement_periods")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_invoices")),
        sa.UniqueConstraint("issuer_pk", "number", name=op.f("uq_clearing_invoices_issuer_pk"))
    )
    op.create_index(op.f("ix_clearing_invoices_buyer_pk"), "clearing_invoices", ["buyer_pk"], unique=False)
    op.create_index(op.f("ix_clearing_invoices_number"), "clearing_invoices", ["number"], unique=False)
    op.create_index(op.f("ix_clearing_invoices_period_pk"), "clearing_invoices", ["period_pk"], unique=False)
    op.create_table("clearing_nettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("agreement_pk", sa.Integer(), nullable=False),
        sa.Column("period_pk", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer_pk", sa.Integer(), nullable=False),
        sa.Column("payee_pk", sa.Integer(), nullable=False),
        sa.Column("receivable", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("payable", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("amount", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("invoice_numbers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agreement_pk"], ["clearing_agreements.id"], name=op.f("fk_clearing_nettings_agreement_pk_clearing_agreements")),
        sa.ForeignKeyConstraint(["payee_pk"], ["legal_entities.id"], name=op.f("fk_clearing_nettings_payee_pk_legal_entities")),
        sa.ForeignKeyConstraint(["payer_pk"], ["legal_entities.id"], name=op.f("fk_clearing_nettings_payer_pk_legal_entities")),
        sa.ForeignKeyConstraint(["period_pk"], ["settlement_periods.id"], name=op.f("fk_clearing_nettings_period_pk_settlement_periods")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_nettings")),
        sa.UniqueConstraint("reference", name=op.f("uq_clearing_nettings_reference"))
    )
    op.create_index(op.f("ix_clearing_nettings_period_pk"), "clearing_nettings", ["period_pk"], unique=False)
    op.create_table("clearing_bank_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_reference", sa.String(length=128), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("amount", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit", sa.Boolean(), nullable=False),
        sa.Column("remittance_info", sa.Text(), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=64), nullable=True),
        sa.Column("counterparty_iban", sa.String(length=34), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invoice_pk", sa.Integer(), nullable=True),
        sa.Column("netting_pk", sa.Integer(), nullable=True),
        sa.Column("imported_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_pk"], ["clearing_invoices.id"], name=op.f("fk_clearing_bank_lines_invoice_pk_clearing_invoices")),
        sa.ForeignKeyConstraint(["netting_pk"], ["clearing_nettings.id"], name=op.f("fk_clearing_bank_lines_netting_pk_clearing_nettings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_bank_lines")),
        sa.UniqueConstraint("entry_reference", name=op.f("uq_clearing_bank_lines_entry_reference"))
    )
    op.create_table("clearing_invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_pk", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("cdr_count", sa.Integer(), nullable=False),
        sa.Column("net", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("tax_rule", sa.String(length=16), nullable=False),
        sa.Column("vat_rate", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("vat_amount", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("vat_country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(["invoice_pk"], ["clearing_invoices.id"], name=op.f("fk_clearing_invoice_lines_invoice_pk_clearing_invoices"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_invoice_lines"))
    )
    op.create_index(op.f("ix_clearing_invoice_lines_invoice_pk"), "clearing_invoice_lines", ["invoice_pk"], unique=False)
    op.create_table("cdr_clearing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cdr_pk", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("period_pk", sa.Integer(), nullable=True),
        sa.Column("supplier_pk", sa.Integer(), nullable=True),
        sa.Column("customer_pk", sa.Integer(), nullable=True),
        sa.Column("credit_of_pk", sa.Integer(), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("energy", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("net", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=True),
        sa.Column("vat", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=True),
        sa.Column("tax_rule", sa.String(length=16), nullable=True),
        sa.Column("vat_rate", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=True),
        sa.Column("vat_country", sa.String(length=2), nullable=True),
        sa.Column("invoice_line_pk", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cdr_pk"], ["cdrs.id"], name=op.f("fk_cdr_clearing_cdr_pk_cdrs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["credit_of_pk"], ["cdr_clearing.id"], name=op.f("fk_cdr_clearing_credit_of_pk_cdr_clearing")),
        sa.ForeignKeyConstraint(["customer_pk"], ["legal_entities.id"], name=op.f("fk_cdr_clearing_customer_pk_legal_entities")),
        sa.ForeignKeyConstraint(["invoice_line_pk"], ["clearing_invoice_lines.id"], name=op.f("fk_cdr_clearing_invoice_line_pk_clearing_invoice_lines")),
        sa.ForeignKeyConstraint(["period_pk"], ["settlement_periods.id"], name=op.f("fk_cdr_clearing_period_pk_settlement_periods")),
        sa.ForeignKeyConstraint(["supplier_pk"], ["legal_entities.id"], name=op.f("fk_cdr_clearing_supplier_pk_legal_entities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cdr_clearing")),
        sa.UniqueConstraint("cdr_pk", name=op.f("uq_cdr_clearing_cdr_pk"))
    )
    op.create_index(op.f("ix_cdr_clearing_invoice_line_pk"), "cdr_clearing", ["invoice_line_pk"], unique=False)
    op.create_index(op.f("ix_cdr_clearing_period_pk"), "cdr_clearing", ["period_pk"], unique=False)
    op.create_index(op.f("ix_cdr_clearing_state"), "cdr_clearing", ["state"], unique=False)
    op.create_table("clearing_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cdr_pk", sa.Integer(), nullable=True),
        sa.Column("bank_line_pk", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["bank_line_pk"], ["clearing_bank_lines.id"], name=op.f("fk_clearing_exceptions_bank_line_pk_clearing_bank_lines")),
        sa.ForeignKeyConstraint(["cdr_pk"], ["cdrs.id"], name=op.f("fk_clearing_exceptions_cdr_pk_cdrs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_exceptions")),
        sa.UniqueConstraint("key", name=op.f("uq_clearing_exceptions_key"))
    )
    op.create_index(op.f("ix_clearing_exceptions_kind"), "clearing_exceptions", ["kind"], unique=False)
    op.create_index(op.f("ix_clearing_exceptions_status"), "clearing_exceptions", ["status"], unique=False)
    op.create_table("journal_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("period_pk", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cdr_pk", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cdr_pk"], ["cdrs.id"], name=op.f("fk_journal_entries_cdr_pk_cdrs")),
        sa.ForeignKeyConstraint(["period_pk"], ["settlement_periods.id"], name=op.f("fk_journal_entries_period_pk_settlement_periods")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_journal_entries_key"))
    )
    op.create_index(op.f("ix_journal_entries_cdr_pk"), "journal_entries", ["cdr_pk"], unique=False)
    op.create_index(op.f("ix_journal_entries_period_pk"), "journal_entries", ["period_pk"], unique=False)
    op.create_table("cdr_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clearing_pk", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clearing_pk"], ["cdr_clearing.id"], name=op.f("fk_cdr_transitions_clearing_pk_cdr_clearing"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cdr_transitions"))
    )
    op.create_index(op.f("ix_cdr_transitions_clearing_pk"), "cdr_transitions", ["clearing_pk"], unique=False)
    op.create_table("clearing_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clearing_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("opened_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["clearing_pk"], ["cdr_clearing.id"], name=op.f("fk_clearing_disputes_clearing_pk_cdr_clearing"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_disputes"))
    )
    op.create_index(op.f("ix_clearing_disputes_clearing_pk"), "clearing_disputes", ["clearing_pk"], unique=False)
    op.create_index(op.f("ix_clearing_disputes_status"), "clearing_disputes", ["status"], unique=False)
    op.create_table("journal_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_pk", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("entity_pk", sa.Integer(), nullable=True),
        sa.Column("counterparty_pk", sa.Integer(), nullable=True),
        sa.Column("debit", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("credit", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=True),
        sa.Column("tax_rule", sa.String(length=16), nullable=True),
        sa.Column("vat_rate", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=True),
        sa.Column("vat_country", sa.String(length=2), nullable=True),
        sa.Column("original_currency", sa.String(length=3), nullable=True),
        sa.Column("original_amount", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=True),
        sa.Column("fx_rate", hub.db.types.ExactDecimal(precision=20, scale=6), nullable=True),
        sa.Column("fx_rate_date", sa.Date(), nullable=True),
        sa.Column("fx_rule", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["counterparty_pk"], ["legal_entities.id"], name=op.f("fk_journal_lines_counterparty_pk_legal_entities")),
        sa.ForeignKeyConstraint(["entity_pk"], ["legal_entities.id"], name=op.f("fk_journal_lines_entity_pk_legal_entities")),
        sa.ForeignKeyConstraint(["entry_pk"], ["journal_entries.id"], name=op.f("fk_journal_lines_entry_pk_journal_entries"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_lines"))
    )
    op.create_index(op.f("ix_journal_lines_entity_pk"), "journal_lines", ["entity_pk"], unique=False)
    op.create_index(op.f("ix_journal_lines_entry_pk"), "journal_lines", ["entry_pk"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_journal_lines_entry_pk"), table_name="journal_lines")
    op.drop_index(op.f("ix_journal_lines_entity_pk"), table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index(op.f("ix_clearing_disputes_status"), table_name="clearing_disputes")
    op.drop_index(op.f("ix_clearing_disputes_clearing_pk"), table_name="clearing_disputes")
    op.drop_table("clearing_disputes")
    op.drop_index(op.f("ix_cdr_transitions_clearing_pk"), table_name="cdr_transitions")
    op.drop_table("cdr_transitions")
    op.drop_index(op.f("ix_journal_entries_period_pk"), table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_cdr_pk"), table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_index(op.f("ix_clearing_exceptions_status"), table_name="clearing_exceptions")
    op.drop_index(op.f("ix_clearing_exceptions_kind"), table_name="clearing_exceptions")
    op.drop_table("clearing_exceptions")
    op.drop_index(op.f("ix_cdr_clearing_state"), table_name="cdr_clearing")
    op.drop_index(op.f("ix_cdr_clearing_period_pk"), table_name="cdr_clearing")
    op.drop_index(op.f("ix_cdr_clearing_invoice_line_pk"), table_name="cdr_clearing")
    op.drop_table("cdr_clearing")
    op.drop_index(op.f("ix_clearing_invoice_lines_invoice_pk"), table_name="clearing_invoice_lines")
    op.drop_table("clearing_invoice_lines")
    op.drop_table("clearing_bank_lines")
    op.drop_index(op.f("ix_clearing_nettings_period_pk"), table_name="clearing_nettings")
    op.drop_table("clearing_nettings")
    op.drop_index(op.f("ix_clearing_invoices_period_pk"), table_name="clearing_invoices")
    op.drop_index(op.f("ix_clearing_invoices_number"), table_name="clearing_invoices")
    op.drop_index(op.f("ix_clearing_invoices_buyer_pk"), table_name="clearing_invoices")
    op.drop_table("clearing_invoices")
    op.drop_index(op.f("ix_settlement_periods_status"), table_name="settlement_periods")
    op.drop_index(op.f("ix_settlement_periods_agreement_pk"), table_name="settlement_periods")
    op.drop_table("settlement_periods")
    op.drop_table("invoice_counters")
    op.drop_index(op.f("ix_clearing_agreements_entity_b_pk"), table_name="clearing_agreements")
    op.drop_index(op.f("ix_clearing_agreements_entity_a_pk"), table_name="clearing_agreements")
    op.drop_table("clearing_agreements")
    op.drop_table("clearing_runs")
