"""Tables of imported reliability history: the imports, their customer-base units and the
interruption rows (read back as arrays by :mod:`.history`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = ["ReliabilityHistoryRow", "ReliabilityImport", "ReliabilityUnit"]


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
