"""ocpp 2.0.1: string transaction ids on sessions; remote starts by remoteStartId

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ocpp_transaction_ref", sa.String(length=64),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_charging_sessions_ocpp_transaction_ref"),
                              ["ocpp_transaction_ref"], unique=False)
    op.create_table(
        "ocpp_remote_starts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("remote_start_id", sa.Integer(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("id_token", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transaction_ref", sa.String(length=64), nullable=True),
        sa.Column("session_pk", sa.Integer(), nullable=True),
        sa.Column("requested_at", hub.db.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", hub.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"],
                                name=op.f("fk_ocpp_remote_starts_station_id_stations")),
        sa.ForeignKeyConstraint(
            ["session_pk"], ["charging_sessions.id"],
            name=op.f("fk_ocpp_remote_starts_session_pk_charging_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_remote_starts")),
        sa.UniqueConstraint("station_id", "remote_start_id",
                            name=op.f("uq_ocpp_remote_starts_station_id")),
    )
    with op.batch_alter_table("ocpp_remote_starts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpp_remote_starts_station_id"), ["station_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ocpp_remote_starts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocpp_remote_starts_station_id"))
    op.drop_table("ocpp_remote_starts")
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charging_sessions_ocpp_transaction_ref"))
        batch_op.drop_column("ocpp_transaction_ref")
