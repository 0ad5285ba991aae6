"""Clearing reference data: legal entities, FX rates, revenue split rules (issue 6)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_id", sa.String(length=32), nullable=True),
        sa.Column("registration_id", sa.String(length=32), nullable=True),
        sa.Column("street", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=128), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("peppol_id", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_own", sa.Boolean(), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "party_entities",
        sa.Column("party_pk", sa.Integer(), nullable=False),
        sa.Column("entity_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["party_pk"], ["parties.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entity_pk"], ["legal_entities.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("party_pk"),
    )
    op.create_index("ix_party_entities_entity_pk", "party_entities", ["entity_pk"])
    # REF (issue 6 items 2-4): owner assignments, ECB/manual FX rates, revenue split rules.
    op.create_table(
        "owner_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("entity_pk", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["entity_pk"], ["legal_entities.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "target_id", "valid_from"),
    )
    op.create_index("ix_owner_assignments_entity_pk", "owner_assignments", ["entity_pk"])
    op.create_table(
        "fx_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("rate_date", sa.Date(), nullable=False),
        sa.Column("rate", hub.db.types.ExactDecimal(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("imported_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("quote", "rate_date"),
    )
    op.create_index("ix_fx_rates_rate_date", "fx_rates", ["rate_date"])
    op.create_table(
        "split_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("entity_pk", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("amount", hub.db.types.ExactDecimal(), nullable=True),
        sa.Column("percent", hub.db.types.ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("tax_rule", sa.String(length=16), nullable=False),
        sa.Column("vat_rate", hub.db.types.ExactDecimal(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entity_pk"], ["legal_entities.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_split_rules_entity_pk", "split_rules", ["entity_pk"])


def downgrade() -> None:
    op.drop_index("ix_split_rules_entity_pk", table_name="split_rules")
    op.drop_table("split_rules")
    op.drop_index("ix_fx_rates_rate_date", table_name="fx_rates")
    op.drop_table("fx_rates")
    op.drop_index("ix_owner_assignments_entity_pk", table_name="owner_assignments")
    op.drop_table("owner_assignments")
    op.drop_index("ix_party_entities_entity_pk", table_name="party_entities")
    op.drop_table("party_entities")
    op.drop_table("legal_entities")
