"""The lifecycle of an outbox message (contacts/messages.py), tested over every pair of states;
the outbox repository moves rows only through it."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.orm import Session, sessionmaker

from openoms import contacts
from openoms.contacts import messages as contacts_messages
from openoms.contacts.messages import (
    FINAL_MESSAGE_STATES,
    INITIAL_MESSAGE_STATE,
    MESSAGE_TRANSITIONS,
    MessageState,
    MessageTransitionError,
    message_transition,
)
from openoms.errors import InputError
from openoms.store import outbox
from tests.notify.conftest import PHONE, T0

S = MessageState

# The expected table, written out by hand (rows: from; columns: allowed to).
EXPECTED: dict[MessageState, set[MessageState]] = {
    S.QUEUED: {S.SENDING},
    S.SENDING: {S.SENT, S.QUEUED, S.FAILED, S.UNCONFIRMED},
    S.SENT: {S.DELIVERED, S.FAILED},
    S.UNCONFIRMED: {S.DELIVERED, S.FAILED, S.QUEUED},
    S.DELIVERED: set(),
    S.FAILED: set(),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair(current: MessageState, target: MessageState) -> None:
    if target in EXPECTED[current]:
        assert message_transition(current, target) is target
    else:
        with pytest.raises(MessageTransitionError) as caught:
            message_transition(current, target, what="outbox message 7")
        assert isinstance(caught.value, InputError)
        assert (caught.value.current, caught.value.target) == (current, target)
        assert f"outbox message 7: cannot go from {current} to {target}" in str(caught.value)


def test_the_table_is_the_expected_one() -> None:
    assert {k: set(v) for k, v in MESSAGE_TRANSITIONS.items()} == EXPECTED
    assert outbox.ALLOWED is MESSAGE_TRANSITIONS  # the store has no table of its own


def test_the_values_are_the_stored_strings() -> None:
    assert [str(s) for s in S] == [
        "queued",
        "sending",
        "sent",
        "delivered",
        "failed",
        "unconfirmed",
    ]


def test_every_state_is_reachable_from_queued() -> None:
    seen, frontier = {INITIAL_MESSAGE_STATE}, [INITIAL_MESSAGE_STATE]
    while frontier:
        for nxt in MESSAGE_TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(S)


def test_final_states_have_no_way_out_and_every_state_reaches_one() -> None:
    assert {s for s, out in MESSAGE_TRANSITIONS.items() if not out} == FINAL_MESSAGE_STATES
    assert {S.DELIVERED, S.FAILED} == FINAL_MESSAGE_STATES
    for state in S:
        assert state not in MESSAGE_TRANSITIONS[state]  # staying put is not a transition
        seen, frontier = {state}, [state]
        while frontier:
            for nxt in MESSAGE_TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen & FINAL_MESSAGE_STATES


def test_the_contacts_package_exports_the_lifecycle() -> None:
    for name in contacts_messages.__all__:
        assert name in contacts.__all__
        assert getattr(contacts, name) is getattr(contacts_messages, name)


def test_the_outbox_refuses_a_forbidden_move(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        queued = outbox.enqueue(
            session,
            dedupe_key="crew_alert:lifecycle",
            kind="crew_alert",
            phone=PHONE,
            name="王建国",
            body="【故障抢修】测试",
            lang="zh",
            now=T0,
        )
        assert outbox.get_message(session, queued.id).state is INITIAL_MESSAGE_STATE
        # Only an unconfirmed message may be requeued by a dispatcher.
        with pytest.raises(MessageTransitionError, match="from queued to queued"):
            outbox.requeue_unconfirmed(session, queued.id, now=T0)
        with pytest.raises(outbox.OutboxTransitionError, match="from queued to sent"):
            outbox.mark_sent(session, queued.id, smsc_message_id="1", handed_at=T0)
        assert outbox.get_message(session, queued.id).state is S.QUEUED
