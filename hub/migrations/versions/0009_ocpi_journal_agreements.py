"""OCPI message journal, roaming agreements, partner state (issue 5)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpi_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("module", sa.String(length=32), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("deviations", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_journal")),
    )
    with op.batch_alter_table("ocpi_journal") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpi_journal_created_at"), ["created_at"])
        batch_op.create_index(batch_op.f("ix_ocpi_journal_partner_id"), ["partner_id"])
        batch_op.create_index(batch_op.f("ix_ocpi_journal_correlation_id"), ["correlation_id"])
    op.create_table(
        "ocpi_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(length=32), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE",
                                name=op.f("fk_ocpi_agreements_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_agreements")),
        sa.UniqueConstraint("partner_id", "module", name=op.f("uq_ocpi_agreements_partner_id")),
    )
    op.create_table(
        "ocpi_partner_state",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("announced_status", sa.String(length=16), nullable=True),
        sa.Column("checked_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE",
                                name=op.f("fk_ocpi_partner_state_partner_id_partners")),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_ocpi_partner_state")),
    )


def downgrade() -> None:
    op.drop_table("ocpi_partner_state")
    op.drop_table("ocpi_agreements")
    op.drop_table("ocpi_journal")
