"""The initial schema: network versions, outages, the event log, audit log and API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (never import the live model here).
_TIME = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY


def upgrade() -> None:
    op.create_table(
        "network_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("imported_at", _TIME, nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_versions")),
    )
    op.create_index(
        op.f("ix_network_versions_content_sha256"), "network_versions", ["content_sha256"]
    )
    op.create_index(
        "ix_network_versions_one_current",
        "network_versions",
        ["is_current"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )

    op.create_table(
        "outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("network_version_id", sa.Integer(), nullable=False),
        sa.Column("feeder_id", sa.String(100), nullable=True),
        sa.Column("operated_device", sa.String(100), nullable=True),
        sa.Column("located_section", sa.String(100), nullable=True),
        sa.Column("cause", sa.String(200), nullable=True),
        sa.Column("crew", sa.String(200), nullable=True),
        sa.Column("momentary", sa.Boolean(), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("restored_at", _TIME, nullable=True),
        sa.Column("closed_at", _TIME, nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["outages.id"], name=op.f("fk_outages_merged_into_id_outages")
        ),
        sa.ForeignKeyConstraint(
            ["network_version_id"],
            ["network_versions.id"],
            name=op.f("fk_outages_network_version_id_network_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outages")),
    )
    for column in ("feeder_id", "kind", "operated_device", "started_at", "state"):
        op.create_index(op.f(f"ix_outages_{column}"), "outages", [column])

    op.create_table(
        "outage_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("element_id", sa.String(100), nullable=False),
        sa.Column("element_kind", sa.String(20), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("village", sa.String(100), nullable=True),
        sa.Column("off_at", _TIME, nullable=False),
        sa.Column("restored_at", _TIME, nullable=True),
        sa.Column("restored_in_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outages.id"],
            name=op.f("fk_outage_areas_outage_id_outages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_areas")),
        sa.UniqueConstraint("outage_id", "element_id", name=op.f("uq_outage_areas_outage_id")),
    )
    op.create_index(op.f("ix_outage_areas_element_id"), "outage_areas", ["element_id"])
    op.create_index(op.f("ix_outage_areas_outage_id"), "outage_areas", ["outage_id"])

    op.create_table(
        "outage_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("how", sa.String(40), nullable=False),
        sa.Column("operations", sa.JSON(), nullable=False),
        sa.Column("areas_restored", sa.Integer(), nullable=False),
        sa.Column("customers_restored", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outages.id"],
            name=op.f("fk_outage_steps_outage_id_outages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_steps")),
        sa.UniqueConstraint("outage_id", "number", name=op.f("uq_outage_steps_outage_id")),
    )
    op.create_index(op.f("ix_outage_steps_outage_id"), "outage_steps", ["outage_id"])

    op.create_table(
        "outage_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outages.id"],
            name=op.f("fk_outage_transitions_outage_id_outages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_transitions")),
    )
    op.create_index(op.f("ix_outage_transitions_outage_id"), "outage_transitions", ["outage_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_kind", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_kind", "object_id", "at"])

    op.create_table(
        "events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=True),
        sa.Column("device_time", _TIME, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("processed_at", _TIME, nullable=True),
        sa.Column("outcome", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_events_idempotency_key")),
    )
    op.create_index(op.f("ix_events_kind"), "events", ["kind"])
    op.create_index("ix_events_unprocessed", "events", ["processed_at", "id"])
    op.create_index("ix_events_device_kind_time", "events", ["device_id", "kind", "device_time"])

    op.create_table(
        "dead_letters",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(300), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(op.f("ix_dead_letters_reason"), "dead_letters", ["reason"])
    op.create_index(op.f("ix_dead_letters_received_at"), "dead_letters", ["received_at"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.Column("last_used_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )


def downgrade() -> None:
    # Children before parents; a table's indexes go with it.
    for table in (
        "api_tokens",
        "dead_letters",
        "events",
        "audit_log",
        "outage_transitions",
        "outage_steps",
        "outage_areas",
        "outages",
        "network_versions",
    ):
        op.drop_table(table)
