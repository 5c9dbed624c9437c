"""Notify fixtures: a migrated database, an SMSC simulator on loopback, a sender bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openoms.notify.smpp import SmppSender
from openoms.notify.smsc_sim import SmscSimulator
from openoms.store import outbox
from openoms.store.db import make_engine, make_session_factory, upgrade

T0 = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
"""16:00 in Asia/Shanghai."""

PHONE = "13812345678"


def enqueue_alert(
    session: Session,
    key: str = "crew_alert:1:13812345678",
    *,
    body: str = "【故障抢修】测试",
    now: datetime = T0,
    trigger_at: datetime | None = None,
) -> outbox.EnqueueResult:
    """A crew alert to 王建国 (:data:`PHONE`) queued in the outbox at ``now``."""
    return outbox.enqueue(
        session,
        dedupe_key=key,
        kind="crew_alert",
        phone=PHONE,
        name="王建国",
        body=body,
        lang="zh",
        now=now,
        trigger_at=trigger_at,
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def smsc() -> Iterator[SmscSimulator]:
    with SmscSimulator(receipt_delay_s=0.05) as simulator:
        yield simulator


def make_sender(smsc: SmscSimulator, **kwargs: Any) -> SmppSender:
    return SmppSender(
        "127.0.0.1",
        smsc.port,
        "openoms",
        "secret",
        "95598",
        response_timeout_s=kwargs.pop("response_timeout_s", 2.0),
        reconnect_delay_s=kwargs.pop("reconnect_delay_s", 0.1),
        **kwargs,
    )


@pytest.fixture
def sender(smsc: SmscSimulator) -> Iterator[SmppSender]:
    with make_sender(smsc) as s:
        yield s
