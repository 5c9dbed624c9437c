"""Who posted an event: the API token's name and role, kept with the event in the log, so that
the event processor authorizes what the event does as its sender (a crew's status event may
not do what the crew may not do itself).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: added in place on both databases (no table copy on SQLite).
    op.add_column("events", sa.Column("sender", sa.String(100), nullable=True))
    op.add_column("events", sa.Column("sender_role", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("sender_role")
        batch.drop_column("sender")
