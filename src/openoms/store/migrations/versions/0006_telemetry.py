"""Telemetry: the latest value of each measured point, and a sampled history (at most one row
per point and sampling interval), kept apart from the event log.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "telemetry_latest",
        sa.Column("element_id", sa.String(100), nullable=False),
        sa.Column("point", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("quality_ok", sa.Boolean(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("device_time", _TIME, nullable=True),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("element_id", "point", name=op.f("pk_telemetry_latest")),
    )
    op.create_table(
        "telemetry_history",
        sa.Column("id", _ID, nullable=False),
        sa.Column("element_id", sa.String(100), nullable=False),
        sa.Column("point", sa.String(64), nullable=False),
        sa.Column("slot", _TIME, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("quality_ok", sa.Boolean(), nullable=False),
        sa.Column("device_time", _TIME, nullable=True),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_history")),
        sa.UniqueConstraint(
            "element_id", "point", "slot", name=op.f("uq_telemetry_history_element_id")
        ),
    )
    op.create_index(
        "ix_telemetry_history_point_at", "telemetry_history", ["element_id", "point", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_telemetry_history_point_at", table_name="telemetry_history")
    op.drop_table("telemetry_history")
    op.drop_table("telemetry_latest")
