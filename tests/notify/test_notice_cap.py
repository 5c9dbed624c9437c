"""The daily cap of notice messages per customer (``notice_daily_cap``), through the real
SMS adapter (the outbox) on SQLite and PostgreSQL.

TA2 has 2001 (SMS) and 2002 (SMS, sensitive: never capped). Three planned outages on TA2 with
windows apart (0-2 h, 4-6 h, 8-10 h after 08:00 on 11 December: three separate notices). With
a cap of 2, on 3 December (T0 = 10:00 local) 2001 gets two and 2002 three; 2001's third waits
for the next local day, 00:00 on 4 December = 16:00 UTC on 3 December, then for the end of
the quiet hours (07:00 local = 23:00 UTC), and goes then.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.service.notice_cap import local_day
from openoms.service.notices import build_adapters, deliver_due, publish_notice
from openoms.store.tables import OutboxMessage
from tests.notify.notice_helpers import Clock, import_customers, live, make_context, planned


def _texts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(OutboxMessage.recipient_phone, func.count()).group_by(
                OutboxMessage.recipient_phone
            )
        ).all()
    return {str(phone): int(n) for phone, n in rows}


def test_local_day_is_the_utilitys() -> None:
    at = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # 01:00 on 4 December in Asia/Shanghai
    assert local_day(at, "Asia/Shanghai") == (
        datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 16, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize("cap", [2, None])
def test_a_customer_gets_at_most_the_cap_a_day_the_rest_the_next_day(
    engine: Engine, sessions: sessionmaker[Session], cap: int | None
) -> None:
    clock = Clock()
    import_customers(sessions)
    context = make_context(engine, sessions, clock, notice_hold_s=0.0, notice_daily_cap=cap)
    adapters = build_adapters(context)
    with sessions.begin() as session:
        for n, (start, end) in enumerate([(0, 2), (4, 6), (8, 10)], start=1):
            publish_notice(
                context, session, planned(f"planned:{n}", start, end, ("TA2",)), now=clock.now
            )
    deliver_due(context, adapters)
    if cap is None:
        assert _texts(sessions) == {"13800002001": 3, "13800002002": 3}
        return
    assert _texts(sessions) == {"13800002001": 2, "13800002002": 3}
    with sessions() as session:
        [waiting] = [d for d in live(session) if d.state == "pending"]
    assert (waiting.account, waiting.result) == ("2001", "daily cap of 2 reached")
    assert waiting.not_before == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    clock.now = datetime(2026, 12, 3, 16, 1, tzinfo=UTC)  # 00:01 local: quiet hours
    deliver_due(context, adapters)
    assert _texts(sessions)["13800002001"] == 2
    clock.now = datetime(2026, 12, 3, 23, 1, tzinfo=UTC)  # 07:01 local, a new day
    deliver_due(context, adapters)
    assert _texts(sessions) == {"13800002001": 3, "13800002002": 3}
