"""Customer notices: customers with contact data (imported), their subscriptions, the
subjects notices are about, the notices and their deliveries (docs/notices.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("street", sa.String(200), nullable=False),
        sa.Column("village", sa.String(200), nullable=False),
        sa.Column("element_id", sa.String(100), nullable=False),
        sa.Column("meter_id", sa.String(64), nullable=True),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("channels", sa.String(100), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("imported_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("account", name=op.f("uq_customers_account")),
        sa.UniqueConstraint("meter_id", name=op.f("uq_customers_meter_id")),
    )
    op.create_index(op.f("ix_customers_address"), "customers", ["address"])
    op.create_index(op.f("ix_customers_element_id"), "customers", ["element_id"])
    op.create_table(
        "customer_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_subscriptions")),
        sa.UniqueConstraint(
            "scope", "key", "channel", name=op.f("uq_customer_subscriptions_choice")
        ),
    )
    op.create_table(
        "notice_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("starts_at", _TIME, nullable=False),
        sa.Column("ends_at", _TIME, nullable=True),
        sa.Column("element_ids", sa.JSON(), nullable=False),
        sa.Column("villages", sa.JSON(), nullable=False),
        sa.Column("streets", sa.JSON(), nullable=False),
        sa.Column("line", sa.String(200), nullable=True),
        sa.Column("reason_zh", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_subjects")),
        sa.UniqueConstraint("ref", name=op.f("uq_notice_subjects_ref")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("starts_at", _TIME, nullable=False),
        sa.Column("ends_at", _TIME, nullable=True),
        sa.Column("subject", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint(
            "ref", "revision", "action", name=op.f("uq_notices_ref_revision_action")
        ),
    )
    op.create_index(op.f("ix_notices_ref"), "notices", ["ref"])
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", _TIME, nullable=False),
        sa.Column("last_attempt_at", _TIME, nullable=True),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_deliveries_notice_id_notices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notice_deliveries_dedupe_key")),
    )
    op.create_index(op.f("ix_notice_deliveries_notice_id"), "notice_deliveries", ["notice_id"])
    op.create_index(op.f("ix_notice_deliveries_account"), "notice_deliveries", ["account"])
    op.create_index("ix_notice_deliveries_due", "notice_deliveries", ["state", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_due", table_name="notice_deliveries")
    op.drop_index(op.f("ix_notice_deliveries_account"), table_name="notice_deliveries")
    op.drop_index(op.f("ix_notice_deliveries_notice_id"), table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
    op.drop_index(op.f("ix_notices_ref"), table_name="notices")
    op.drop_table("notices")
    op.drop_table("notice_subjects")
    op.drop_table("customer_subscriptions")
    op.drop_index(op.f("ix_customers_element_id"), table_name="customers")
    op.drop_index(op.f("ix_customers_address"), table_name="customers")
    op.drop_table("customers")
