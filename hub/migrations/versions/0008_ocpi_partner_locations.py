"""OCPI partner objects: partner CPOs' locations pushed to our eMSP (issue 5)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpi_partner_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_pk", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("last_updated", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["party_pk"], ["parties.id"],
                                name=op.f("fk_ocpi_partner_locations_party_pk_parties")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="SET NULL",
                                name=op.f("fk_ocpi_partner_locations_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_partner_locations")),
        sa.UniqueConstraint("party_pk", "location_id",
                            name=op.f("uq_ocpi_partner_locations_party_pk")),
    )
    with op.batch_alter_table("ocpi_partner_locations") as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpi_partner_locations_party_pk"), ["party_pk"])
        batch_op.create_index(batch_op.f("ix_ocpi_partner_locations_partner_id"),
                              ["partner_id"])
        batch_op.create_index(batch_op.f("ix_ocpi_partner_locations_last_updated"),
                              ["last_updated"])


def downgrade() -> None:
    op.drop_table("ocpi_partner_locations")
