"""OCPI: tombstones of our deleted tariffs, the Session id and response_url of a reservation
(issue 5)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpi_tariff_tombstones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("tariff_id", sa.String(length=36), nullable=False),
        sa.Column("deleted_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("country_code", "party_id", "tariff_id"),
    )
    op.create_index(op.f("ix_ocpi_tariff_tombstones_deleted_at"), "ocpi_tariff_tombstones",
                    ["deleted_at"], unique=False)
    with op.batch_alter_table("ocpi_reservations") as batch:
        batch.add_column(sa.Column("session_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("response_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ocpi_reservations") as batch:
        batch.drop_column("response_url")
        batch.drop_column("session_id")
    op.drop_index(op.f("ix_ocpi_tariff_tombstones_deleted_at"),
                  table_name="ocpi_tariff_tombstones")
    op.drop_table("ocpi_tariff_tombstones")
