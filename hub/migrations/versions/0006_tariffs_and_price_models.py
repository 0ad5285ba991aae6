"""tariffs and price models: full OCPI tariffs (min/max price, validity, type, source),
roaming agreements, CDR re-pricings, price models

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dt(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg,unused-ignore]
    return sa.Column(name, hub.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _dec(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg,unused-ignore]
    return sa.Column(name, hub.db.types.ExactDecimal(), nullable=nullable)


_TARIFF_PRICES = ("min_price_excl_vat", "min_price_incl_vat", "max_price_excl_vat",
                  "max_price_incl_vat")


def upgrade() -> None:
    with op.batch_alter_table("tariffs") as batch_op:
        batch_op.add_column(sa.Column("ocpi", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("type", sa.String(length=16), nullable=True))
        for name in _TARIFF_PRICES:
            batch_op.add_column(_dec(name))
        batch_op.add_column(_dt("start_date_time", True))
        batch_op.add_column(_dt("end_date_time", True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=False,
                                      server_default="own"))
    op.create_table(
        "roaming_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        _dec("tolerance", False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        _dt("updated_at"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE",
                                name=op.f("fk_roaming_agreements_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roaming_agreements")),
        sa.UniqueConstraint("partner_id", name=op.f("uq_roaming_agreements_partner_id")),
    )
    op.create_table(
        "cdr_repricings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cdr_pk", sa.Integer(), nullable=False),
        sa.Column("tariff_pk", sa.Integer(), nullable=True),
        sa.Column("tariff_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        _dec("tolerance", False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        _dec("claimed_excl_vat"),
        _dec("computed_excl_vat"),
        _dec("claimed_incl_vat"),
        _dec("computed_incl_vat"),
        _dec("difference_excl_vat"),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        _dt("repriced_at"),
        sa.ForeignKeyConstraint(["cdr_pk"], ["cdrs.id"], ondelete="CASCADE",
                                name=op.f("fk_cdr_repricings_cdr_pk_cdrs")),
        sa.ForeignKeyConstraint(["tariff_pk"], ["tariffs.id"],
                                name=op.f("fk_cdr_repricings_tariff_pk_tariffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cdr_repricings")),
        sa.UniqueConstraint("cdr_pk", name=op.f("uq_cdr_repricings_cdr_pk")),
    )
    with op.batch_alter_table("cdr_repricings") as batch_op:
        batch_op.create_index(batch_op.f("ix_cdr_repricings_status"), ["status"])
    op.create_table(
        "price_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _dt("created_at"),
        _dt("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_models")),
        sa.UniqueConstraint("model_id", name=op.f("uq_price_models_model_id")),
    )


def downgrade() -> None:
    op.drop_table("price_models")
    op.drop_table("cdr_repricings")
    op.drop_table("roaming_agreements")
    with op.batch_alter_table("tariffs") as batch_op:
        for name in ("source", "end_date_time", "start_date_time", *reversed(_TARIFF_PRICES),
                     "type", "ocpi"):
            batch_op.drop_column(name)
