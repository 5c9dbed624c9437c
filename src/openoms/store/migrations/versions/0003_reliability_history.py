"""Reliability history: imported files of historical interruptions, their rows, and the
customer-base units that came with them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY


def upgrade() -> None:
    op.create_table(
        "reliability_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("base_source", sa.String(500), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_start", _TIME, nullable=True),
        sa.Column("last_end", _TIME, nullable=True),
        sa.Column("imported_at", _TIME, nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reliability_imports")),
        sa.UniqueConstraint("content_sha256", name=op.f("uq_reliability_imports_content_sha256")),
    )
    op.create_table(
        "reliability_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(100), nullable=False),
        sa.Column("is_hv", sa.Boolean(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("kva", sa.Float(), nullable=False),
        sa.Column("feeder", sa.String(100), nullable=False),
        sa.Column("substation", sa.String(100), nullable=False),
        sa.Column("grid_cell", sa.String(100), nullable=True),
        sa.Column("village", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["reliability_imports.id"],
            name=op.f("fk_reliability_units_import_id_reliability_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reliability_units")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_reliability_units_unit_id")),
    )
    op.create_index(op.f("ix_reliability_units_import_id"), "reliability_units", ["import_id"])
    op.create_table(
        "reliability_history",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("unit_id", sa.String(100), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.BigInteger(), nullable=False),
        sa.Column("end_s", sa.BigInteger(), nullable=False),
        sa.Column("outage_class", sa.SmallInteger(), nullable=False),
        sa.Column("cause", sa.String(200), nullable=False),
        sa.Column("restored_by", sa.SmallInteger(), nullable=False),
        sa.Column("avoided_hours", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["reliability_imports.id"],
            name=op.f("fk_reliability_history_import_id_reliability_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reliability_history")),
    )
    for column in ("event_id", "import_id", "start_s"):
        op.create_index(op.f(f"ix_reliability_history_{column}"), "reliability_history", [column])


def downgrade() -> None:
    for column in ("event_id", "import_id", "start_s"):
        op.drop_index(op.f(f"ix_reliability_history_{column}"), table_name="reliability_history")
    op.drop_table("reliability_history")
    op.drop_index(op.f("ix_reliability_units_import_id"), table_name="reliability_units")
    op.drop_table("reliability_units")
    op.drop_table("reliability_imports")
