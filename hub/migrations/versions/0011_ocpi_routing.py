"""OCPI hub routing: proxy table for response_url/Link/Location (issue 5)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpi_proxy_urls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proxy_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("target_partner_id", sa.Integer(), nullable=True),
        sa.Column("user_partner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["target_partner_id"], ["partners.id"], ondelete="CASCADE",
                                name=op.f("fk_ocpi_proxy_urls_target_partner_id_partners")),
        sa.ForeignKeyConstraint(["user_partner_id"], ["partners.id"], ondelete="CASCADE",
                                name=op.f("fk_ocpi_proxy_urls_user_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_proxy_urls")),
        sa.UniqueConstraint("proxy_id", name=op.f("uq_ocpi_proxy_urls_proxy_id")),
    )
    with op.batch_alter_table("ocpi_proxy_urls") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpi_proxy_urls_target_partner_id"),
                              ["target_partner_id"])
        batch_op.create_index(batch_op.f("ix_ocpi_proxy_urls_user_partner_id"),
                              ["user_partner_id"])
        batch_op.create_index(batch_op.f("ix_ocpi_proxy_urls_expires_at"), ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("ocpi_proxy_urls") as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocpi_proxy_urls_expires_at"))
        batch_op.drop_index(batch_op.f("ix_ocpi_proxy_urls_user_partner_id"))
        batch_op.drop_index(batch_op.f("ix_ocpi_proxy_urls_target_partner_id"))
    op.drop_table("ocpi_proxy_urls")
