"""Fault events: the reports of one fault grouped per feeder, and where it was located.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fault_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feeder_id", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("t0", _TIME, nullable=False),
        sa.Column("open_edges", sa.JSON(), nullable=False),
        sa.Column("breaker", sa.String(100), nullable=True),
        sa.Column("lockout", sa.Boolean(), nullable=True),
        sa.Column("reclosed", sa.Boolean(), nullable=True),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("last_report_at", _TIME, nullable=False),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column("located_zone", sa.String(100), nullable=True),
        sa.Column("fault_type", sa.String(30), nullable=True),
        sa.Column("advisory", sa.JSON(), nullable=True),
        sa.Column("alert_state", sa.String(20), nullable=False),
        sa.Column("alerted_zone", sa.String(100), nullable=True),
        sa.Column("alerted_at", _TIME, nullable=True),
        sa.Column("confirmed_zone", sa.String(100), nullable=True),
        sa.Column("confirmed_by", sa.String(100), nullable=True),
        sa.Column("confirmed_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["outage_id"], ["outages.id"], name=op.f("fk_fault_events_outage_id_outages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fault_events")),
    )
    op.create_index(op.f("ix_fault_events_feeder_id"), "fault_events", ["feeder_id"])
    op.create_index(op.f("ix_fault_events_state"), "fault_events", ["state"])
    op.create_index(op.f("ix_fault_events_outage_id"), "fault_events", ["outage_id"])
    op.create_index(op.f("ix_fault_events_confirmed_at"), "fault_events", ["confirmed_at"])


def downgrade() -> None:
    op.drop_table("fault_events")
