"""Shared parts of the notice tests: a service context on the small network, its customers
(imported through the real parser and repository), subjects, and a clock moved by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.contacts.customers import parse_customers
from openoms.grid import network_from_raw
from openoms.ingest.intake import Intake
from openoms.outages.impact import ImpactAnalyser
from openoms.outages.notices import NoticeSubject
from openoms.service.context import ServiceContext
from openoms.settings import Settings
from openoms.store import customers as customer_store
from openoms.store.notices import DeliveryItem, deliveries_of
from openoms.store.tables import NoticeDelivery
from tests.grid.small import small_raw

T0 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
"""10:00 in Asia/Shanghai: outside the quiet hours."""

WORK_DAY = datetime(2026, 12, 11, tzinfo=UTC)
"""08:00 on 11 December in Asia/Shanghai: the planned work starts at this hour."""

CUSTOMERS_CSV = (
    (
        "account,name,phone,email,address,street,village,element_id,meter_id,lang,channels,sensitive\n"
    )
    + """1001,王建国,13800001001,wang@example.cn,王庄村1号,幸福路,王庄村,TA1,M1001,,sms;email,no
1002,赵六,13800001002,,王庄村2号,幸福路,王庄村,TA1,M1002,,sms,no
1003,Anna Smith,,anna@example.com,王庄村3号,幸福路,王庄村,TA1,,en,email,no
2001,李四,13800002001,,李村5号,李村路,李村,TA2,M2001,,sms,no
2002,李村敬老院,13800002002,,李村8号,李村路,李村,TA2,M2002,,sms,yes
5001,张三,13800005001,,张营1号,,张营,TA5,M5001,,sms,no
9001,水泥厂,,plant@example.cn,城关路9号,城关路,城关,HV1,M9001,,email,no
"""
)
"""TA1: three customers (SMS + e-mail, SMS, e-mail in English); TA2: two (one sensitive);
TA5: one never affected in these tests; HV1: one by e-mail."""


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_context(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, **settings: Any
) -> ServiceContext:
    network = network_from_raw(small_raw())
    return ServiceContext(
        settings=Settings(**settings),
        engine=engine,
        sessions=sessions,
        network=network,
        network_version_id=0,
        analyser=ImpactAnalyser(network),
        intake=Intake(sessions, network, utility="test"),
        clock=clock,
    )


def import_customers(sessions: sessionmaker[Session], now: datetime = T0) -> None:
    found = parse_customers(CUSTOMERS_CSV, source="customers.csv")
    with sessions.begin() as session:
        customer_store.replace_customers(session, found, source="customers.csv", now=now)


def planned(
    ref: str,
    start_h: float,
    end_h: float | None,
    elements: tuple[str, ...],
    *,
    revision: int = 1,
    action: str = "new",
    kind: str = "planned",
    villages: tuple[str, ...] = ("王庄村",),
) -> NoticeSubject:
    """A subject from ``start_h`` to ``end_h`` hours after :data:`WORK_DAY`."""
    return NoticeSubject(
        ref=ref,
        kind=kind,
        action=action,
        revision=revision,
        starts_at=WORK_DAY + timedelta(hours=start_h),
        ends_at=None if end_h is None else WORK_DAY + timedelta(hours=end_h),
        element_ids=elements,
        villages=villages,
        streets=(),
        line="10kV甲Ⅰ线",
        reason_zh="线路检修",
        reason_en="line maintenance",
    )


def all_deliveries(session: Session) -> list[DeliveryItem]:
    ids = session.scalars(select(NoticeDelivery.notice_id).distinct()).all()
    return sorted((d for i in ids for d in deliveries_of(session, i)), key=lambda d: d.id)


def live(session: Session) -> list[DeliveryItem]:
    """Deliveries that are or will be sent (not superseded)."""
    return [d for d in all_deliveries(session) if d.state != "superseded"]
