"""Planned outages: the booking (window, work, switching, impact, notice rule) with its own
lifecycle and state changes; the outage record its switching makes is linked by id.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "planned_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("network_version_id", sa.Integer(), nullable=False),
        sa.Column("work_type", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("crews", sa.JSON(), nullable=False),
        sa.Column("work_on", sa.JSON(), nullable=False),
        sa.Column("opened", sa.JSON(), nullable=False),
        sa.Column("switching", sa.JSON(), nullable=False),
        sa.Column("starts_at", _TIME, nullable=False),
        sa.Column("ends_at", _TIME, nullable=False),
        sa.Column("feeder_id", sa.String(100), nullable=True),
        sa.Column("element_ids", sa.JSON(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["network_version_id"],
            ["network_versions.id"],
            name=op.f("fk_planned_work_network_version_id_network_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["outage_id"], ["outages.id"], name=op.f("fk_planned_work_outage_id_outages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_work")),
    )
    op.create_index("ix_planned_work_outage_id", "planned_work", ["outage_id"])
    op.create_index("ix_planned_work_state", "planned_work", ["state"])
    op.create_index("ix_planned_work_window", "planned_work", ["state", "starts_at"])
    op.create_table(
        "planned_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["planned_work.id"],
            name=op.f("fk_planned_transitions_work_id_planned_work"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_transitions")),
    )
    op.create_index("ix_planned_transitions_work_id", "planned_transitions", ["work_id"])


def downgrade() -> None:
    op.drop_index("ix_planned_transitions_work_id", table_name="planned_transitions")
    op.drop_table("planned_transitions")
    op.drop_index("ix_planned_work_window", table_name="planned_work")
    op.drop_index("ix_planned_work_state", table_name="planned_work")
    op.drop_index("ix_planned_work_outage_id", table_name="planned_work")
    op.drop_table("planned_work")
