"""Tables of telemetry: cyclic measurements (load currents every few seconds), kept apart from
the event log. One row per point holds its latest value; the history keeps at most one row
per point and sampling interval (``telemetry_sample_s``), so that a point reported every two
seconds costs one history row a minute, not thirty.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = ["TelemetryHistoryRow", "TelemetryLatest"]


class TelemetryLatest(Base):
    """The latest value of each point: ``(element_id, point)``, updated by every newer sample."""

    __tablename__ = "telemetry_latest"

    element_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    point: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    quality_ok: Mapped[bool]
    at: Mapped[datetime]  # the sample's time: the device's time tag, else its receipt
    device_time: Mapped[datetime | None]
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))  # mqtt / iec104 / http / replay
    channel: Mapped[str | None] = mapped_column(String(300))  # MQTT topic, iec104:<unit>


class TelemetryHistoryRow(Base):
    """The sampled history: at most one row per point and sampling interval (``slot``, the
    start of the interval the sample's time falls in), the first sample stored for it."""

    __tablename__ = "telemetry_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(100))
    point: Mapped[str] = mapped_column(String(64))
    slot: Mapped[datetime]
    at: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    quality_ok: Mapped[bool]
    device_time: Mapped[datetime | None]
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))

    __table_args__ = (
        UniqueConstraint("element_id", "point", "slot"),
        # A point's history in a period, newest first, is one index range.
        Index("ix_telemetry_history_point_at", "element_id", "point", "at"),
    )
