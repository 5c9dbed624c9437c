"""The table of trouble calls: each call event, what it was resolved to, and where it went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = ["TroubleCall"]


class TroubleCall(Base):
    """One trouble call (one ``trouble_call`` event) and its outcome.

    ``group_id`` is the id of the first call of its call group (a feeder's calls within the
    window of the first, docs/calls.md); ``outage_id`` the outage record that explains the
    call; ``link`` how: ``attached`` (an open outage had the area off already),
    ``predicted`` (a predicted device), ``screened`` (a customer-side record counting one
    customer), ``pending`` (in the group, not explained yet), ``unresolved`` (no area:
    ``reason`` says why; kept for the dispatcher).
    """

    __tablename__ = "trouble_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id"), unique=True
    )
    element_id: Mapped[str | None] = mapped_column(String(100), index=True)
    account: Mapped[str | None] = mapped_column(String(100))
    meter_id: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(index=True)  # the call's time (device time)
    feeder_id: Mapped[str | None] = mapped_column(String(100), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("trouble_calls.id"), index=True)
    outage_id: Mapped[int | None] = mapped_column(ForeignKey("outages.id"), index=True)
    link: Mapped[str] = mapped_column(String(20))
    screened: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
