"""The outbox worker against a real SMPP session and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from openoms.notify.smpp import SmppOutcomeUnknownError, SmppSender
from openoms.notify.smsc_sim import SmscSimulator
from openoms.notify.worker import OutboxWorker, WorkerOptions
from openoms.store import outbox
from openoms.store.outbox import OutboxState, RetryPolicy
from tests.notify.conftest import PHONE, enqueue_alert, make_sender

FAST = WorkerOptions(poll_s=0.2, retry=RetryPolicy(base_delay_s=0.05, max_delay_s=0.2))


def _enqueue(sessions: sessionmaker[Session], key: str = "crew_alert:1:a") -> int:
    now = datetime.now(UTC)
    body = "【故障抢修】10kV城关线K03至K05之间，相间短路。"
    with sessions.begin() as session:
        return enqueue_alert(session, key, body=body, now=now, trigger_at=now).id


def _state(sessions: sessionmaker[Session], message_id: int) -> outbox.OutboxItem:
    with sessions() as session:
        return outbox.get_message(session, message_id)


def _until(check: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


@pytest.fixture
def running(
    sessions: sessionmaker[Session], sender: SmppSender
) -> Iterator[tuple[OutboxWorker, CollectorRegistry]]:
    registry = CollectorRegistry()
    worker = OutboxWorker(sessions, sender, options=FAST, registry=registry)
    worker.start()
    yield worker, registry
    worker.stop()


def test_enqueue_to_smsc_within_two_seconds_then_delivered(
    sessions: sessionmaker[Session],
    smsc: SmscSimulator,
    running: tuple[OutboxWorker, CollectorRegistry],
) -> None:
    worker, registry = running
    time.sleep(0.3)  # the worker is idle, in its poll wait
    message_id = _enqueue(sessions)
    worker.wake()
    (message,) = smsc.wait_for(1, timeout=2.0)
    item = _state(sessions, message_id)
    assert message.text == item.body
    assert item.trigger_at is not None
    assert message.received_at - item.trigger_at < timedelta(seconds=2)
    assert _until(lambda: _state(sessions, message_id).state is OutboxState.DELIVERED)
    item = _state(sessions, message_id)
    assert item.smsc_message_id == message.message_id
    assert item.handed_at is not None
    assert item.trigger_at is not None
    assert item.handed_at - item.trigger_at < timedelta(seconds=2)
    assert registry.get_sample_value("openoms_sms_handover_seconds_count") == 1
    assert registry.get_sample_value("openoms_sms_receipts_total", {"stat": "DELIVRD"}) == 1
    assert len(smsc.messages) == 1


def test_smsc_errors_are_retried_with_back_off_and_sent_once(
    sessions: sessionmaker[Session],
    smsc: SmscSimulator,
    running: tuple[OutboxWorker, CollectorRegistry],
) -> None:
    worker, registry = running
    smsc.fail_next(2, "ESME_RSYSERR")
    started = time.monotonic()
    message_id = _enqueue(sessions)
    worker.wake()
    assert _until(lambda: _state(sessions, message_id).state is OutboxState.DELIVERED)
    # back-off 0.05 s then 0.1 s before the third attempt
    assert time.monotonic() - started >= 0.15
    item = _state(sessions, message_id)
    assert item.attempts == 3
    assert len(smsc.messages) == 1
    assert registry.get_sample_value("openoms_sms_submits_total", {"outcome": "retry"}) == 2


def test_a_permanent_error_fails_at_once(
    sessions: sessionmaker[Session],
    smsc: SmscSimulator,
    running: tuple[OutboxWorker, CollectorRegistry],
) -> None:
    worker, _ = running
    smsc.fail_next(1, "ESME_RINVDSTADR")
    message_id = _enqueue(sessions)
    worker.wake()
    assert _until(lambda: _state(sessions, message_id).state is OutboxState.FAILED)
    item = _state(sessions, message_id)
    assert (item.attempts, item.last_error) == (1, "SMSC rejected submit_sm: ESME_RINVDSTADR")
    assert smsc.messages == []


def test_a_drop_after_the_submit_is_unconfirmed_never_resent_until_its_receipt(
    sessions: sessionmaker[Session],
    smsc: SmscSimulator,
    running: tuple[OutboxWorker, CollectorRegistry],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    worker, _ = running
    smsc.drop_next(1)
    message_id = _enqueue(sessions)
    worker.wake()
    settled = {OutboxState.UNCONFIRMED, OutboxState.DELIVERED}
    assert _until(lambda: _state(sessions, message_id).state in settled)
    states = {_state(sessions, message_id).state}
    # The sender re-binds in the background; the SMSC then sends the receipt it kept, which
    # matches the unconfirmed row by recipient.
    assert _until(lambda: _state(sessions, message_id).state is OutboxState.DELIVERED)
    states.add(_state(sessions, message_id).state)
    assert states == {OutboxState.UNCONFIRMED, OutboxState.DELIVERED}
    time.sleep(0.3)
    assert [m.answered for m in smsc.messages] == [False]  # exactly one, never resent
    assert PHONE not in caplog.text


def test_a_restart_between_submit_and_answer_leaves_it_unconfirmed(
    sessions: sessionmaker[Session], smsc: SmscSimulator
) -> None:
    message_id = _enqueue(sessions)
    smsc.receipt_stat = "UNDELIV"
    # The first process: claims (commits `sending`), submits, and dies before the answer.
    with sessions.begin() as session:
        (item,) = outbox.claim_due(session, now=datetime.now(UTC))
    smsc.drop_next(1)
    with make_sender(smsc) as first, pytest.raises(SmppOutcomeUnknownError):
        first.submit(item.recipient_phone, item.body)
    smsc.disconnect_all()
    assert _state(sessions, message_id).state is OutboxState.SENDING
    # The restarted process.
    with make_sender(smsc) as second:
        worker = OutboxWorker(sessions, second, options=FAST)
        worker.start()
        try:
            assert worker.recovered == [message_id]
            assert _until(lambda: _state(sessions, message_id).state is OutboxState.FAILED)
            time.sleep(0.3)
        finally:
            worker.stop()
    item = _state(sessions, message_id)
    assert item.last_error == "delivery receipt: UNDELIV"
    assert item.attempts == 1
    assert len(smsc.messages) == 1  # not resent
