"""Change counter: other processes' writes of cached reference data (docs/ocpp.md
"Performance", hub.db.changes)

One row, bumped in the same transaction by every unit of work that writes a table some
in-process cache keeps (stations, EVSEs, locations, tariffs, parties, price-model links ...).
Each hub process reads it at most once a second and empties its caches when another process
has bumped it; before, every cached value expired after 5 s whatever happened.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("change_counter")
