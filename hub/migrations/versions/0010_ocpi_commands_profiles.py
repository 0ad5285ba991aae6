"""OCPI commands (reservations) and charging profiles (issue 5)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = False) -> "sa.Column[Any]":
    return sa.Column(name, hub.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _partner(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="SET NULL",
                                   name=op.f(f"fk_{table}_partner_id_partners"))


def _session(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["session_pk"], ["charging_sessions.id"],
                                   name=op.f(f"fk_{table}_session_pk_charging_sessions"))


def upgrade() -> None:
    op.create_table(
        "ocpi_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("module", sa.String(length=16), nullable=False),
        sa.Column("command", sa.String(length=24), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response_url", sa.Text(), nullable=False),
        sa.Column("response", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=True),
        _time("created_at"), _time("updated_at"), _time("completed_at", True),
        _partner("ocpi_commands"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_commands")),
    )
    with op.batch_alter_table("ocpi_commands") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpi_commands_partner_id"), ["partner_id"])
        batch_op.create_index(batch_op.f("ix_ocpi_commands_created_at"), ["created_at"])
    op.create_table(
        "ocpi_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("evse_uid", sa.String(length=36), nullable=True),
        sa.Column("authorization_reference", sa.String(length=36), nullable=True),
        sa.Column("token_uid", sa.String(length=36), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("ocpp_reservation_pk", sa.Integer(), nullable=True),
        _time("expiry_date"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=True),
        _time("created_at"), _time("updated_at"),
        _partner("ocpi_reservations"), _session("ocpi_reservations"),
        sa.ForeignKeyConstraint(
            ["ocpp_reservation_pk"], ["ocpp_reservations.id"],
            name=op.f("fk_ocpi_reservations_ocpp_reservation_pk_ocpp_reservations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_reservations")),
        sa.UniqueConstraint("country_code", "party_id", "location_id", "reservation_id",
                            name=op.f("uq_ocpi_reservations_country_code")),
    )
    with op.batch_alter_table("ocpi_reservations") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpi_reservations_station_id"), ["station_id"])
    op.create_table(
        "ocpi_charging_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _time("updated_at"),
        _partner("ocpi_charging_profiles"), _session("ocpi_charging_profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_charging_profiles")),
        sa.UniqueConstraint("session_pk", name=op.f("uq_ocpi_charging_profiles_session_pk")),
    )
    op.create_table(
        "ocpi_charging_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("profile_type", sa.String(length=16), nullable=False),
        _time("departure_time", True),
        sa.Column("energy_need", hub.db.types.ExactDecimal(), nullable=True),
        sa.Column("discharge_allowed", sa.Boolean(), nullable=False),
        sa.Column("response", sa.String(length=32), nullable=False),
        _time("updated_at"),
        _session("ocpi_charging_preferences"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_charging_preferences")),
        sa.UniqueConstraint("session_pk",
                            name=op.f("uq_ocpi_charging_preferences_session_pk")),
    )


def downgrade() -> None:
    op.drop_table("ocpi_charging_preferences")
    op.drop_table("ocpi_charging_profiles")
    op.drop_table("ocpi_reservations")
    op.drop_table("ocpi_commands")
