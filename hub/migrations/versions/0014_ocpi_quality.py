"""OCPI data-quality findings on partners' objects (issue 5)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpi_quality_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(length=16), nullable=False),
        sa.Column("object_key", sa.String(length=96), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=128), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("detected_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ocpi_quality_findings_object_key", "ocpi_quality_findings",
                    ["object_key"])
    op.create_index("ix_ocpi_quality_findings_partner_id", "ocpi_quality_findings",
                    ["partner_id"])


def downgrade() -> None:
    op.drop_index("ix_ocpi_quality_findings_partner_id", table_name="ocpi_quality_findings")
    op.drop_index("ix_ocpi_quality_findings_object_key", table_name="ocpi_quality_findings")
    op.drop_table("ocpi_quality_findings")
