"""price model links: a contract-level price model attached to a location, a station, a
token group or a token contract

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_model_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_pk"], ["price_models.id"], ondelete="CASCADE",
                                name=op.f("fk_price_model_links_model_pk_price_models")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_model_links")),
        sa.UniqueConstraint("scope", "target", name=op.f("uq_price_model_links_scope")),
    )
    with op.batch_alter_table("price_model_links") as batch_op:
        batch_op.create_index(batch_op.f("ix_price_model_links_model_pk"), ["model_pk"])


def downgrade() -> None:
    op.drop_table("price_model_links")
