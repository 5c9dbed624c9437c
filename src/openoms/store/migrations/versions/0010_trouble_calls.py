"""Trouble calls: each call event, the area it was resolved to, its call group and the outage
record that explains it (docs/calls.md).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "trouble_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", _BIG_ID, nullable=False),
        sa.Column("element_id", sa.String(100), nullable=True),
        sa.Column("account", sa.String(100), nullable=True),
        sa.Column("meter_id", sa.String(100), nullable=True),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("feeder_id", sa.String(100), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("link", sa.String(20), nullable=False),
        sa.Column("screened", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_trouble_calls_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["trouble_calls.id"], name=op.f("fk_trouble_calls_group_id_trouble_calls")
        ),
        sa.ForeignKeyConstraint(
            ["outage_id"], ["outages.id"], name=op.f("fk_trouble_calls_outage_id_outages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trouble_calls")),
        sa.UniqueConstraint("event_id", name=op.f("uq_trouble_calls_event_id")),
    )
    for column in ("element_id", "at", "feeder_id", "group_id", "outage_id"):
        op.create_index(op.f(f"ix_trouble_calls_{column}"), "trouble_calls", [column])


def downgrade() -> None:
    op.drop_table("trouble_calls")
