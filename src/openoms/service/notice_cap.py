"""The daily cap of notice messages per customer (setting ``notice_daily_cap``).

A customer gets at most ``notice_daily_cap`` notice messages per channel (SMS, e-mail) per
local day (the utility's ``timezone``): messages handed over since local midnight, or whose
hand-over is unconfirmed, count. Beyond the cap a delivery waits for the next local day (a
newer message about the same subjects still supersedes it while it waits, so the customer
then gets the latest word). Sensitive customers (hospitals, nursing homes …) and the group
robots and media feed are never capped.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.outages.notices import PERSONAL_CHANNELS, NoticeChannel
from openoms.settings import Settings
from openoms.store import notices as notice_store
from openoms.store.notices import DeliveryItem
from openoms.store.tables import NoticeDelivery

__all__ = ["hold_over_cap", "local_day"]

_COUNTED = ("sent", "unconfirmed")


def local_day(at: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The local day around ``at`` as [start, next start) in UTC."""
    zone = ZoneInfo(timezone)
    day = at.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    following = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), following.astimezone(UTC)


def _told_today(session: Session, item: DeliveryItem, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(NoticeDelivery)
            .where(
                NoticeDelivery.account == item.account,
                NoticeDelivery.channel == item.channel,
                NoticeDelivery.state.in_(_COUNTED),
                NoticeDelivery.last_attempt_at >= since,
            )
        )
        or 0
    )


def hold_over_cap(
    sessions: sessionmaker[Session], item: DeliveryItem, *, at: datetime, settings: Settings
) -> bool:
    """Whether ``item`` (claimed) is over its customer's daily cap; if so it is put back to
    wait for the next local day."""
    cap = settings.notice_daily_cap
    if cap is None or item.sensitive or item.account is None:
        return False
    if NoticeChannel(item.channel) not in PERSONAL_CHANNELS:
        return False
    start, following = local_day(at, settings.timezone)
    with sessions.begin() as session:
        if _told_today(session, item, start) < cap:
            return False
        notice_store.postpone(
            session, item.id, until=following, reason=f"daily cap of {cap} reached"
        )
    return True
