"""ocpp operations: station ops state, remote starts, reservations, firmware campaigns, uploads

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dt(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, hub.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "ocpp_station_ops",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("local_list_version", sa.Integer(), nullable=True),
        _dt("local_list_synced_at", True),
        sa.Column("firmware_status", sa.String(length=32), nullable=True),
        _dt("firmware_status_at", True),
        sa.Column("diagnostics_status", sa.String(length=32), nullable=True),
        _dt("diagnostics_status_at", True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], ondelete="CASCADE",
                                name=op.f("fk_ocpp_station_ops_station_id_stations")),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_ocpp_station_ops")),
    )
    op.create_table(
        "ocpp16_remote_starts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        sa.Column("id_tag", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _dt("requested_at"),
        sa.Column("session_pk", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        _dt("linked_at", True),
        sa.ForeignKeyConstraint(["session_pk"], ["charging_sessions.id"],
                                name=op.f("fk_ocpp16_remote_starts_session_pk_charging_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp16_remote_starts")),
    )
    with op.batch_alter_table("ocpp16_remote_starts") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpp16_remote_starts_station_id"), ["station_id"])
        batch_op.create_index(batch_op.f("ix_ocpp16_remote_starts_requested_at"),
                              ["requested_at"])
    op.create_table(
        "ocpp_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("id_tag", sa.String(length=36), nullable=False),
        sa.Column("parent_id_tag", sa.String(length=36), nullable=True),
        _dt("expiry_date"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=True),
        _dt("created_at"),
        _dt("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_reservations")),
    )
    with op.batch_alter_table("ocpp_reservations") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpp_reservations_station_id"), ["station_id"])
        batch_op.create_index(batch_op.f("ix_ocpp_reservations_expiry_date"), ["expiry_date"])
    op.create_table(
        "ocpp_firmware_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("location", sa.Text(), nullable=False),
        _dt("retrieve_date"),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("retry_interval", sa.Integer(), nullable=True),
        _dt("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_firmware_campaigns")),
    )
    op.create_table(
        "ocpp_firmware_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        _dt("updated_at"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["ocpp_firmware_campaigns.id"], ondelete="CASCADE",
            name=op.f("fk_ocpp_firmware_targets_campaign_id_ocpp_firmware_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_firmware_targets")),
        sa.UniqueConstraint("campaign_id", "station_id",
                            name=op.f("uq_ocpp_firmware_targets_campaign_id")),
    )
    with op.batch_alter_table("ocpp_firmware_targets") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpp_firmware_targets_campaign_id"),
                              ["campaign_id"])
        batch_op.create_index(batch_op.f("ix_ocpp_firmware_targets_station_id"), ["station_id"])
    op.create_table(
        "ocpp_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("station_file_name", sa.String(length=255), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        _dt("created_at"),
        _dt("expires_at"),
        _dt("uploaded_at", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_uploads")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ocpp_uploads_token_hash")),
    )
    with op.batch_alter_table("ocpp_uploads") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpp_uploads_station_id"), ["station_id"])


def downgrade() -> None:
    for table in ("ocpp_uploads", "ocpp_firmware_targets", "ocpp_firmware_campaigns",
                  "ocpp_reservations", "ocpp16_remote_starts", "ocpp_station_ops"):
        op.drop_table(table)
