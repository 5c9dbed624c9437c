"""FLISR execution over IEC 104: executions of restoration plans, the switches and feeders
an active execution holds (its primary key refuses a second execution using them), and every
command with its outcome, the intent written before the command is sent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "switching_executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("active_outage", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.Column("note", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outages.id"],
            name=op.f("fk_switching_executions_outage_id_outages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_switching_executions")),
        sa.UniqueConstraint("active_outage", name=op.f("uq_switching_executions_active_outage")),
    )
    op.create_index("ix_switching_executions_outage_id", "switching_executions", ["outage_id"])
    op.create_index("ix_switching_executions_state", "switching_executions", ["state"])
    op.create_table(
        "switching_reservations",
        sa.Column("resource", sa.String(120), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["switching_executions.id"],
            name=op.f("fk_switching_reservations_execution_id_switching_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource", name=op.f("pk_switching_reservations")),
    )
    op.create_index(
        "ix_switching_reservations_execution_id", "switching_reservations", ["execution_id"]
    )
    op.create_table(
        "switching_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(100), nullable=False),
        sa.Column("close", sa.Boolean(), nullable=False),
        sa.Column("unit", sa.String(100), nullable=True),
        sa.Column("ioa", sa.Integer(), nullable=True),
        sa.Column("asdu_type", sa.String(20), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_zh", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["switching_executions.id"],
            name=op.f("fk_switching_commands_execution_id_switching_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_switching_commands")),
    )
    op.create_index("ix_switching_commands_execution_id", "switching_commands", ["execution_id"])
    op.create_index("ix_switching_commands_outage_id", "switching_commands", ["outage_id"])


def downgrade() -> None:
    op.drop_index("ix_switching_commands_outage_id", table_name="switching_commands")
    op.drop_index("ix_switching_commands_execution_id", table_name="switching_commands")
    op.drop_table("switching_commands")
    op.drop_index("ix_switching_reservations_execution_id", table_name="switching_reservations")
    op.drop_table("switching_reservations")
    op.drop_index("ix_switching_executions_state", table_name="switching_executions")
    op.drop_index("ix_switching_executions_outage_id", table_name="switching_executions")
    op.drop_table("switching_executions")
