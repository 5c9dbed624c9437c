"""Tables of planned outages: the booking with its window, switching and impact, and its
state changes (``outages/planned.py`` is the lifecycle). The outage record the switching
makes when the work starts is an ordinary outage (kind ``planned``), linked here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openoms.store.tables_base import Base

__all__ = ["PlannedTransition", "PlannedWorkRow"]


class PlannedWorkRow(Base):
    __tablename__ = "planned_work"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(20), index=True)  # planned.PlannedState
    revision: Mapped[int] = mapped_column(Integer)  # up by one with each change customers hear
    network_version_id: Mapped[int] = mapped_column(ForeignKey("network_versions.id"))
    work_type: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    crews: Mapped[list[Any]]
    work_on: Mapped[list[Any]]  # sections / devices worked on
    opened: Mapped[list[Any]]  # isolation switches
    switching: Mapped[list[Any]]  # every operation in order
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    feeder_id: Mapped[str | None] = mapped_column(String(100))
    element_ids: Mapped[list[Any]]  # transformer areas and HV customers off
    customers: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]]
    notice: Mapped[dict[str, Any]]
    outage_id: Mapped[int | None] = mapped_column(ForeignKey("outages.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    transitions: Mapped[list[PlannedTransition]] = relationship(
        back_populates="work", cascade="all, delete-orphan", order_by="PlannedTransition.id"
    )

    # The processor's question on every switch opening: open work whose window is near.
    __table_args__ = (Index("ix_planned_work_window", "state", "starts_at"),)


class PlannedTransition(Base):
    __tablename__ = "planned_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_id: Mapped[int] = mapped_column(
        ForeignKey("planned_work.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)

    work: Mapped[PlannedWorkRow] = relationship(back_populates="transitions")
