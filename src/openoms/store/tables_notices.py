"""Tables of customer notices (docs/notices.md): the customers with their contact data (an
import: CSV now, a CIS later), their subscriptions, the subjects notices are about, the
notices and one delivery row per (recipient, channel).

A customer's phone, e-mail and address are personal data: they are read by the notice
service and the admin routes only, never by a public endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openoms.store.tables_base import Base

__all__ = [
    "CustomerRow",
    "CustomerSubscription",
    "NoticeDelivery",
    "NoticeRow",
    "NoticeSubjectRow",
]


class CustomerRow(Base):
    """One customer account with its contact data, from the last import (replaced whole)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))  # normalised; never logged whole
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(300), index=True)
    street: Mapped[str] = mapped_column(String(200))
    village: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(100), index=True)  # transformer area / HV
    meter_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    lang: Mapped[str] = mapped_column(String(5))
    channels: Mapped[str] = mapped_column(String(100))  # "sms;email"
    sensitive: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(300))  # the imported file
    imported_at: Mapped[datetime]


class CustomerSubscription(Base):
    """A customer's choice for one channel, by account or by address (the latest wins; an
    account's choice wins over its address's). Kept across customer imports."""

    __tablename__ = "customer_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # account | address
    key: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(20))
    subscribed: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("scope", "key", "channel", name="uq_customer_subscriptions_choice"),
    )


class NoticeSubjectRow(Base):
    """The latest revision of what notices are about (a planned outage, an outage record)."""

    __tablename__ = "notice_subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    element_ids: Mapped[list[Any]]
    villages: Mapped[list[Any]]
    streets: Mapped[list[Any]]
    line: Mapped[str | None] = mapped_column(String(200))
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class NoticeRow(Base):
    """One published notice: a revision of a subject, with the subjects it was merged with."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    subject: Mapped[dict[str, Any]]  # the subject as published (JSON)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("ref", "revision", "action", name="uq_notices_ref_revision_action"),
    )


class NoticeDelivery(Base):
    """One message of a notice on one channel to one recipient (a customer, a group robot,
    the media feed), with its result. ``dedupe_key`` makes every send happen once."""

    __tablename__ = "notice_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    account: Mapped[str | None] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(300))  # phone, e-mail, robot or feed name
    lang: Mapped[str] = mapped_column(String(5))
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    refs: Mapped[list[Any]]  # the (ref, revision) pairs this message covers
    state: Mapped[str] = mapped_column(String(20))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]

    # The worker's query: due rows of a state, oldest first.
    __table_args__ = (Index("ix_notice_deliveries_due", "state", "not_before"),)
