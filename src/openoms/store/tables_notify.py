"""Tables of notification: the outbox of messages to send and the duty roster of who to alert."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = ["DutyShift", "OutboxMessage", "OutboxPart"]


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


class OutboxPart(Base):
    """One PDU of a sent outbox message: the whole text, or one segment of a concatenated
    one, with the SMSC's message id and its delivery receipt (migration 0007)."""

    __tablename__ = "outbox_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1-based
    smsc_message_id: Mapped[str] = mapped_column(String(64))  # as the SMSC wrote it
    id_key: Mapped[str] = mapped_column(String(64), index=True)  # smpp_pdus.normalize_id
    stat: Mapped[str | None] = mapped_column(String(16))  # the receipt's stat, when one came
    done_at: Mapped[datetime | None]


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
