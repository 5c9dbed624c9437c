"""Tables of the network versions and of the outage records computed on them: the outage, the
areas off in it, its restoration steps and its state changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openoms.store.tables_base import Base

__all__ = ["NetworkVersion", "Outage", "OutageArea", "OutageStep", "OutageTransition"]


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
    # the FLISR restoration plan proposed for it, with its approval (service.restoration)
    restoration_plan: Mapped[dict[str, Any] | None]
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
