"""Tables of FLISR execution (docs/restoration.md, "Execution over IEC 104"): one row per
execution of an outage's restoration plan, the switches and feeders it holds while it runs,
and every command with its outcome (the intent is written before the command is sent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = ["SwitchingCommandRow", "SwitchingExecution", "SwitchingReservation"]


class SwitchingExecution(Base):
    """One execution of a plan: queued, waiting for the crew's isolation (restore_only),
    running, then done / stopped (a manual step or a failed closing) / interrupted (a restart
    with a command in flight)."""

    __tablename__ = "switching_executions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outages.id", ondelete="CASCADE"), index=True)
    # the outage id while the execution is active, NULL after: one active execution per outage
    active_outage: Mapped[int | None] = mapped_column(Integer, unique=True)
    revision: Mapped[int] = mapped_column(Integer)  # the plan revision being executed
    mode: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), index=True)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    note: Mapped[dict[str, Any] | None]  # {"zh", "en"}: why it stopped, what is left


class SwitchingReservation(Base):
    """A switch (its id) or receiving feeder (``feeder:<id>``) held by an active execution:
    the primary key refuses a second execution using it."""

    __tablename__ = "switching_reservations"

    resource: Mapped[str] = mapped_column(String(120), primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("switching_executions.id", ondelete="CASCADE"), index=True
    )


class SwitchingCommandRow(Base):
    """One step of an execution: a command sent (intent first, then its outcome), a step
    skipped (the switch already in position) or left to the crew (manual)."""

    __tablename__ = "switching_commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("switching_executions.id", ondelete="CASCADE"), index=True
    )
    outage_id: Mapped[int] = mapped_column(Integer, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)  # the step number in that plan revision
    device: Mapped[str] = mapped_column(String(100))
    close: Mapped[bool] = mapped_column(Boolean)
    unit: Mapped[str | None] = mapped_column(String(100))
    ioa: Mapped[int | None] = mapped_column(Integer)
    asdu_type: Mapped[str | None] = mapped_column(String(20))
    # intent → confirmed / failed; unconfirmed (a restart found it in flight); skipped; manual
    state: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    reason_zh: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[dict[str, Any] | None]
