"""The outbox repository: idempotent enqueue, claim, back-off, receipts, restart recovery."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from openoms.contacts.phone import BadPhoneError
from openoms.store import outbox
from openoms.store.outbox import ALLOWED, OutboxState, OutboxTransitionError, RetryPolicy
from tests.lifecycle_checks import check_pair, every_pair
from tests.notify.conftest import PHONE, T0, enqueue_alert


def _enqueue(session: Session) -> outbox.EnqueueResult:
    return enqueue_alert(session, trigger_at=T0 - timedelta(seconds=1))


@pytest.mark.parametrize(("current", "new"), every_pair(OutboxState))
def test_every_transition_pair(current: OutboxState, new: OutboxState) -> None:
    move = functools.partial(outbox.transition, 1)
    check_pair(move, current, new, ALLOWED, refused=OutboxTransitionError, says="outbox message 1")


def test_back_off_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=5, max_delay_s=60, max_attempts=9)
    # 5·2^(n−1): 5, 10, 20, 40, then the 60 s cap
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_enqueue_is_idempotent(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = _enqueue(session)
    with sessions.begin() as session:
        second = _enqueue(session)
    assert first.created
    assert not second.created
    assert second.id == first.id
    with sessions() as session:
        assert len(outbox.list_messages(session)) == 1
    with pytest.raises(BadPhoneError), sessions.begin() as session:
        outbox.enqueue(
            session,
            dedupe_key="x",
            kind="crew_alert",
            phone="12345",
            name="x",
            body="x",
            lang="zh",
            now=T0,
        )


def test_claim_retry_and_give_up(sessions: sessionmaker[Session]) -> None:
    policy = RetryPolicy(base_delay_s=5, max_delay_s=300, max_attempts=2)
    with sessions.begin() as session:
        message_id = _enqueue(session).id
    with sessions.begin() as session:
        assert outbox.claim_due(session, now=T0 - timedelta(seconds=1)) == []  # not due yet
        (item,) = outbox.claim_due(session, now=T0)
        assert (item.state, item.attempts) == (OutboxState.SENDING, 1)
        assert outbox.claim_due(session, now=T0) == []  # claimed rows are not claimed again
        state = outbox.mark_attempt_failed(
            session, message_id, error="ESME_RTHROTTLED", now=T0, policy=policy
        )
    assert state is OutboxState.QUEUED
    with sessions.begin() as session:
        assert outbox.next_due_at(session) == T0 + timedelta(seconds=5)  # 5·2^0
        assert outbox.claim_due(session, now=T0 + timedelta(seconds=4)) == []
        (item,) = outbox.claim_due(session, now=T0 + timedelta(seconds=5))
        state = outbox.mark_attempt_failed(
            session, message_id, error="ESME_RTHROTTLED", now=T0, policy=policy
        )
    assert state is OutboxState.FAILED  # second of max 2 attempts
    with sessions() as session:
        row = outbox.get_message(session, message_id)
        assert (row.state, row.attempts, row.last_error) == ("failed", 2, "ESME_RTHROTTLED")
        assert outbox.next_due_at(session) is None


def test_sent_then_delivered_and_the_latency(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_free = _enqueue(session).id
        outbox.claim_due(session, now=T0)
        outbox.mark_sent(
            session, outage_free, smsc_message_id="M1", handed_at=T0 + timedelta(seconds=0.25)
        )
    with sessions.begin() as session:
        assert (
            outbox.record_receipt(
                session, smsc_message_id="M1", stat="DELIVRD", recipient=PHONE, done_at=T0
            )
            == outage_free
        )
        assert (
            outbox.record_receipt(  # a repeat changes nothing
                session, smsc_message_id="M1", stat="UNDELIV", recipient=PHONE, done_at=T0
            )
            == outage_free
        )
        assert (
            outbox.record_receipt(
                session, smsc_message_id="M9", stat="DELIVRD", recipient=PHONE, done_at=T0
            )
            is None
        )
    with sessions() as session:
        item = outbox.get_message(session, outage_free)
        assert (item.state, item.delivered_at) == (OutboxState.DELIVERED, T0)
        assert "13812345678" not in repr(item)
        assert "138****5678" in repr(item)
        # trigger T0 − 1 s, handed T0 + 0.25 s → 1.25 s; no outage id → not in any outage
        assert item.handed_at - item.trigger_at == timedelta(seconds=1.25)  # type: ignore[operator]


def test_restart_marks_sending_unconfirmed_and_a_late_receipt_matches(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        message_id = _enqueue(session).id
        outbox.claim_due(session, now=T0)
    # ... the process stops here, between the submit and its answer ...
    with sessions.begin() as session:
        assert outbox.recover_interrupted(session) == [message_id]
        assert outbox.claim_due(session, now=T0 + timedelta(hours=1)) == []  # never resent
    with sessions.begin() as session:
        # A receipt for an id the outbox never learnt, from the same recipient
        assert (
            outbox.record_receipt(
                session, smsc_message_id="LATE1", stat="DELIVRD", recipient="86" + PHONE, done_at=T0
            )
            == message_id
        )
    with sessions() as session:
        item = outbox.get_message(session, message_id)
        assert (item.state, item.smsc_message_id) == (OutboxState.DELIVERED, "LATE1")


def test_a_dispatcher_can_requeue_an_unconfirmed_message(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        message_id = _enqueue(session).id
        outbox.claim_due(session, now=T0)
        outbox.mark_unconfirmed(session, message_id, reason="connection lost")
    with sessions.begin() as session:
        outbox.requeue_unconfirmed(session, message_id, now=T0)
        (item,) = outbox.claim_due(session, now=T0)
    assert item.attempts == 2
    with pytest.raises(outbox.OutboxMessageNotFoundError), sessions() as session:
        outbox.get_message(session, 999)
