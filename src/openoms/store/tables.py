"""Database tables (SQLAlchemy 2). The same schema runs on SQLite and PostgreSQL.

One shape of three (docs/architecture.md, "Rules of the house"): these rows are converted
to domain values in the repositories of this package, never passed to the pure core. Every
change to this module comes with an Alembic migration in ``store/migrations/versions``; a
test checks that the migrations produce exactly these tables.

Times are timezone-aware UTC in Python; SQLite stores them as UTC text, PostgreSQL as
``timestamptz``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "DeadLetter",
    "DutyShift",
    "EventRow",
    "FaultEvent",
    "NetworkVersion",
    "Outage",
    "OutageArea",
    "OutageStep",
    "OutageTransition",
    "OutboxMessage",
    "ReliabilityHistoryRow",
    "ReliabilityImport",
    "ReliabilityUnit",
    "UTCDateTime",
]

# Stable constraint names, so that migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python on every database; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: OpenOMS stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012  (SQLAlchemy's class attribute)
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class NetworkVersion(Base):
    """One import of the network; a re-import makes a new version, outages keep theirs."""

    __tablename__ = "network_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))  # path or sample name it came from
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the native JSON document, gzip
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(100))
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[dict[str, Any]]  # counts, for listing versions without loading them

    # At most one current version, held by the database even under concurrent imports.
    __table_args__ = (
        Index(
            "ix_network_versions_one_current",
            "is_current",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )


class Outage(Base):
    __tablename__ = "outages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # fault / planned / customer
    state: Mapped[str] = mapped_column(String(20), index=True)  # lifecycle.OutageState
    network_version_id: Mapped[int] = mapped_column(ForeignKey("network_versions.id"))
    feeder_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # the breaker / fuse that opened; indexed to find the open outage of a device's events
    operated_device: Mapped[str | None] = mapped_column(String(100), index=True)
    located_section: Mapped[str | None] = mapped_column(String(100))
    cause: Mapped[str | None] = mapped_column(String(200))
    crew: Mapped[str | None] = mapped_column(String(200))
    momentary: Mapped[bool] = mapped_column(Boolean, default=False)  # reclosed successfully
    started_at: Mapped[datetime] = mapped_column(index=True)
    restored_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("outages.id"))
    summary: Mapped[dict[str, Any]]  # counts and the dispatcher's sentence in zh and en
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    areas: Mapped[list[OutageArea]] = relationship(
        back_populates="outage", cascade="all, delete-orphan", order_by="OutageArea.id"
    )
    steps: Mapped[list[OutageStep]] = relationship(
        back_populates="outage", cascade="all, delete-orphan", order_by="OutageStep.number"
    )
    transitions: Mapped[list[OutageTransition]] = relationship(
        back_populates="outage", cascade="all, delete-orphan", order_by="OutageTransition.id"
    )


class OutageArea(Base):
    """A transformer area or HV customer off in an outage, and when it came back."""

    __tablename__ = "outage_areas"
    __table_args__ = (UniqueConstraint("outage_id", "element_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outages.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str] = mapped_column(String(100), index=True)  # TA or HV customer id
    element_kind: Mapped[str] = mapped_column(String(20))  # transformer_area / hv_customer
    customers: Mapped[int] = mapped_column(Integer)  # LV customers (TA) or 1 (HV customer)
    village: Mapped[str | None] = mapped_column(String(100))
    off_at: Mapped[datetime]
    restored_at: Mapped[datetime | None]
    restored_in_step: Mapped[int | None] = mapped_column(Integer)

    outage: Mapped[Outage] = relationship(back_populates="areas")


class OutageStep(Base):
    """One restoration step: which areas came back, when, and how."""

    __tablename__ = "outage_steps"
    __table_args__ = (UniqueConstraint("outage_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outages.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    how: Mapped[str] = mapped_column(String(40))  # switching / repair / flisr / live_line
    operations: Mapped[list[Any]]  # the switch operations of the step
    areas_restored: Mapped[int] = mapped_column(Integer)
    customers_restored: Mapped[int] = mapped_column(Integer)

    outage: Mapped[Outage] = relationship(back_populates="steps")


class OutageTransition(Base):
    """Every state change: the lifecycle's timestamps, and who made it."""

    __tablename__ = "outage_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outages.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))  # user name, or "system"
    note: Mapped[str | None] = mapped_column(Text)

    outage: Mapped[Outage] = relationship(back_populates="transitions")


class AuditEntry(Base):
    """Who did what, for everything a person does through the API or CLI."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    object_kind: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]]

    __table_args__ = (Index("ix_audit_log_object", "object_kind", "object_id", "at"),)


class EventRow(Base):
    """The append-only event log: every accepted event, written before it is acted on."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(20))  # http / mqtt / iec104 / replay
    kind: Mapped[str] = mapped_column(String(30), index=True)
    device_id: Mapped[str | None] = mapped_column(String(100))
    device_time: Mapped[datetime]
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(200))
    # Who posted it through the API (a token's name and role); none for device messages.
    sender: Mapped[str | None] = mapped_column(String(100))
    sender_role: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        Index("ix_events_unprocessed", "processed_at", "id"),
        # A device's latest report of a kind (out-of-order detection) is one index probe.
        Index("ix_events_device_kind_time", "device_id", "kind", "device_time"),
    )


class DeadLetter(Base):
    """A message that could not be accepted, with the reason and the raw payload."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(300))  # MQTT topic, HTTP path
    # malformed / unknown_device / out_of_order / unknown_topic
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class ApiToken(Base):
    """An API token: only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # the person or system it belongs to
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """One message to send (notify/): queued until handed to the carrier, then tracked.

    States: queued → sending → sent → delivered, with retry back to queued, failed, and
    unconfirmed (found in ``sending`` after a restart: maybe handed over, never resent).
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outage_id: Mapped[int | None] = mapped_column(ForeignKey("outages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # crew_alert, ...
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)  # enqueue is idempotent
    recipient_phone: Mapped[str] = mapped_column(String(20))  # full number: never logged
    recipient_name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(5))
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    smsc_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    trigger_at: Mapped[datetime | None]  # the last report the message needed
    handed_at: Mapped[datetime | None]  # submit_sm_resp received
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    # The worker's query: due rows of a state, oldest first.
    __table_args__ = (Index("ix_outbox_messages_due", "state", "next_attempt_at"),)


class DutyShift(Base):
    """A person of a crew on duty for a grid cell from ``starts_at`` to ``ends_at``; or,
    with ``is_fallback``, the contact to alert when no one is on duty (no times)."""

    __tablename__ = "duty_roster"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_cell: Mapped[str] = mapped_column(String(100), index=True)
    crew: Mapped[str] = mapped_column(String(200))
    person: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)


class FaultEvent(Base):
    """One fault on one feeder: the reports grouped around the trip, and where it is.

    The feeder tree is the one at the fault (``open_edges``: edges open just before the trip),
    so that the location does not change when the breaker opens afterwards. States:
    collecting → located (provisional, refined by late reports) → final; the state, alert
    state and trigger are the values of :mod:`openoms.faults.lifecycle`.
    """

    __tablename__ = "fault_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feeder_id: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # trip / alarm
    t0: Mapped[datetime]  # device time of the trigger (the window is around it)
    open_edges: Mapped[list[Any]]  # edge ids open just before the fault
    breaker: Mapped[str | None] = mapped_column(String(100))  # the device that tripped
    lockout: Mapped[bool | None]
    reclosed: Mapped[bool | None]
    outage_id: Mapped[int | None] = mapped_column(ForeignKey("outages.id"), index=True)
    reports: Mapped[int] = mapped_column(Integer)  # reports grouped into it
    last_report_at: Mapped[datetime]  # received time of the newest report grouped
    location: Mapped[dict[str, Any] | None]  # FaultLocation.as_dict()
    located_zone: Mapped[str | None] = mapped_column(String(100))
    fault_type: Mapped[str | None] = mapped_column(String(30))
    advisory: Mapped[dict[str, Any] | None]  # patrol advisory (transient faults), zh / en
    alert_state: Mapped[str] = mapped_column(String(20))  # faults.lifecycle.AlertState
    alerted_zone: Mapped[str | None] = mapped_column(String(100))
    alerted_at: Mapped[datetime | None]
    # Where the crew found the fault: the ground truth device rates are calibrated from.
    confirmed_zone: Mapped[str | None] = mapped_column(String(100))
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReliabilityImport(Base):
    """One imported file of historical interruptions (store/history.py); a file is imported
    once: its SHA-256 is unique."""

    __tablename__ = "reliability_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))  # the file name it came from
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    base_source: Mapped[str | None] = mapped_column(String(500))  # customer-base CSV, if any
    timezone: Mapped[str] = mapped_column(String(64))  # zone of times written without offset
    rows: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    first_start: Mapped[datetime | None]
    last_end: Mapped[datetime | None]
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(100))


class ReliabilityUnit(Base):
    """A unit (transformer area / HV customer) of a customer-base CSV imported with a history,
    for units that are not in the network."""

    __tablename__ = "reliability_units"
    __table_args__ = (UniqueConstraint("unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("reliability_imports.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[str] = mapped_column(String(100))
    is_hv: Mapped[bool] = mapped_column(Boolean)
    customers: Mapped[int] = mapped_column(Integer)
    kva: Mapped[float] = mapped_column(Float)
    feeder: Mapped[str] = mapped_column(String(100))
    substation: Mapped[str] = mapped_column(String(100))
    grid_cell: Mapped[str | None] = mapped_column(String(100))
    village: Mapped[str | None] = mapped_column(String(100))


class ReliabilityHistoryRow(Base):
    """One imported (event, unit, restoration step) row; times are UTC epoch seconds (a fact
    table read as arrays, millions of rows)."""

    __tablename__ = "reliability_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("reliability_imports.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(100), index=True)
    unit_id: Mapped[str] = mapped_column(String(100))
    customers: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[int] = mapped_column(BigInteger, index=True)
    end_s: Mapped[int] = mapped_column(BigInteger)
    outage_class: Mapped[int] = mapped_column(SmallInteger)  # reliability.data.OutageClass
    cause: Mapped[str] = mapped_column(String(200))
    restored_by: Mapped[int] = mapped_column(SmallInteger)  # reliability.data.RestoredBy
    avoided_hours: Mapped[float] = mapped_column(Float)


# Kept for the migration test: every table of the schema, by name.
TABLE_NAMES = tuple(sorted(Base.metadata.tables))
