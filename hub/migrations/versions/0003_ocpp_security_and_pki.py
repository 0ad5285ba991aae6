"""ocpp security and pki: security events, issued certificates, revoked serials, signed firmware

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpp_security_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("timestamp", hub.db.types.UTCDateTime(), nullable=False),
        sa.Column("tech_info", sa.String(255), nullable=True),
        sa.Column("received_at", hub.db.types.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_ocpp_security_events_station_id", "ocpp_security_events", ["station_id"])
    op.create_index("ix_ocpp_security_events_type", "ocpp_security_events", ["type"])
    op.create_index("ix_ocpp_security_events_received_at", "ocpp_security_events",
                    ["received_at"])
    op.create_table(
        "pki_certificates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("not_before", hub.db.types.UTCDateTime(), nullable=False),
        sa.Column("not_after", hub.db.types.UTCDateTime(), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", hub.db.types.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_pki_certificates_station_id", "pki_certificates", ["station_id"])
    op.create_table(
        "pki_revoked_serials",
        sa.Column("serial", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(255), nullable=True),
        sa.Column("revoked_at", hub.db.types.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "ocpp_signed_firmware_updates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(512), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("requested_at", hub.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", hub.db.types.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("station_id", "request_id"),
    )
    op.create_index("ix_ocpp_signed_firmware_updates_station_id",
                    "ocpp_signed_firmware_updates", ["station_id"])


def downgrade() -> None:
    op.drop_table("ocpp_signed_firmware_updates")
    op.drop_table("pki_revoked_serials")
    op.drop_table("pki_certificates")
    op.drop_table("ocpp_security_events")
