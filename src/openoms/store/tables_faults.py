"""The table of fault events: the reports grouped around a trip, and where they put the fault."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = ["FaultEvent"]


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
