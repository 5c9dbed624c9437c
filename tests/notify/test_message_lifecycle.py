"""The lifecycle of an outbox message (contacts/messages.py), tested over every pair of states;
the outbox repository moves rows only through it."""

from __future__ import annotations

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
from openoms.store import outbox
from tests.lifecycle_checks import assert_exhaustive, check_pair, every_pair, without_way_out
from tests.notify.conftest import T0, enqueue_alert

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


@pytest.mark.parametrize(("current", "target"), every_pair(S))
def test_every_pair(current: MessageState, target: MessageState) -> None:
    check_pair(
        lambda c, t: message_transition(c, t, what="outbox message 7"),
        current,
        target,
        EXPECTED,
        refused=MessageTransitionError,
        says=f"outbox message 7: cannot go from {current} to {target}",
    )


def test_the_table_is_the_expected_one() -> None:
    """And every state is reached from queued, none stays put, each reaches a final one."""
    assert_exhaustive(
        MESSAGE_TRANSITIONS,
        EXPECTED,
        initial={INITIAL_MESSAGE_STATE},
        terminal=FINAL_MESSAGE_STATES,
    )
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


def test_final_states_have_no_way_out() -> None:
    assert without_way_out(MESSAGE_TRANSITIONS) == FINAL_MESSAGE_STATES
    assert {S.DELIVERED, S.FAILED} == FINAL_MESSAGE_STATES


def test_the_contacts_package_exports_the_lifecycle() -> None:
    for name in contacts_messages.__all__:
        assert name in contacts.__all__
        assert getattr(contacts, name) is getattr(contacts_messages, name)


def test_the_outbox_refuses_a_forbidden_move(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        queued = enqueue_alert(session, "crew_alert:lifecycle")
        assert outbox.get_message(session, queued.id).state is INITIAL_MESSAGE_STATE
        # Only an unconfirmed message may be requeued by a dispatcher.
        with pytest.raises(MessageTransitionError, match="from queued to queued"):
            outbox.requeue_unconfirmed(session, queued.id, now=T0)
        with pytest.raises(outbox.OutboxTransitionError, match="from queued to sent"):
            outbox.mark_sent(session, queued.id, smsc_message_id="1", handed_at=T0)
        assert outbox.get_message(session, queued.id).state is S.QUEUED
