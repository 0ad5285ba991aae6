"""monitoring alarms access vendors: station access/vend/health/vendor columns, alarms table

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dt(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg,unused-ignore]
    return sa.Column(name, hub.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch_op:
        batch_op.add_column(sa.Column("access_mode", sa.String(length=16), nullable=False,
                                      server_default="PUBLIC"))
        batch_op.add_column(sa.Column("allowed_groups", sa.JSON(), nullable=False,
                                      server_default="[]"))
        batch_op.add_column(sa.Column("access_code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("free_vend_id_tag", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("idle_stop_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("vendor_profile", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("health_state", sa.String(length=24), nullable=False,
                                      server_default="HEALTHY"))
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=True),
        sa.Column("active_key", sa.String(length=170), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _dt("raised_at"),
        _dt("last_raised_at"),
        _dt("cleared_at", True),
        _dt("acknowledged_at", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("active_key", name=op.f("uq_alarms_active_key")),
    )
    with op.batch_alter_table("alarms") as batch_op:
        batch_op.create_index(batch_op.f("ix_alarms_kind"), ["kind"])
        batch_op.create_index(batch_op.f("ix_alarms_station_id"), ["station_id"])
        batch_op.create_index(batch_op.f("ix_alarms_status"), ["status"])


def downgrade() -> None:
    op.drop_table("alarms")
    with op.batch_alter_table("stations") as batch_op:
        for column in ("health_state", "vendor_profile", "idle_stop_minutes",
                       "free_vend_id_tag", "access_code_hash", "allowed_groups",
                       "access_mode"):
            batch_op.drop_column(column)
