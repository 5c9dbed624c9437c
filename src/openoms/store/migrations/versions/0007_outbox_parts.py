"""The PDUs of each sent outbox message: one row per SMSC message id (the whole text, or each
segment of a concatenated one) with its delivery receipt, so that a long SMS counts as
delivered when every segment is, and receipts match ids written in hex or decimal.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("smsc_message_id", sa.String(64), nullable=False),
        sa.Column("id_key", sa.String(64), nullable=False),
        sa.Column("stat", sa.String(16), nullable=True),
        sa.Column("done_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_messages.id"],
            name=op.f("fk_outbox_parts_outbox_id_outbox_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_parts")),
    )
    op.create_index(op.f("ix_outbox_parts_outbox_id"), "outbox_parts", ["outbox_id"])
    op.create_index(op.f("ix_outbox_parts_id_key"), "outbox_parts", ["id_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_parts_id_key"), table_name="outbox_parts")
    op.drop_index(op.f("ix_outbox_parts_outbox_id"), table_name="outbox_parts")
    op.drop_table("outbox_parts")
