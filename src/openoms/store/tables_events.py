"""Tables of what arrives from the field: the event log and the dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = ["DeadLetter", "EventRow"]


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
