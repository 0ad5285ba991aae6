"""OCPI push of our own locations/tariffs: per partner and module watermarks (issue 5)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpi_push_watermarks",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(length=16), nullable=False),
        sa.Column("watermark", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resync_pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("partner_id", "module"),
    )


def downgrade() -> None:
    op.drop_table("ocpi_push_watermarks")
