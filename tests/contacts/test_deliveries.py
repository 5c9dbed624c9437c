"""The notice delivery lifecycle over every (from, to) pair."""

from __future__ import annotations

import itertools

import pytest

from openoms.contacts.deliveries import (
    DELIVERY_TRANSITIONS,
    FINAL_DELIVERY_STATES,
    DeliveryState,
    DeliveryTransitionError,
    delivery_transition,
)

S = DeliveryState
ALLOWED = {
    (S.PENDING, S.SENDING),
    (S.PENDING, S.SUPERSEDED),
    (S.SENDING, S.SENT),
    (S.SENDING, S.PENDING),
    (S.SENDING, S.FAILED),
    (S.SENDING, S.UNCONFIRMED),
    (S.UNCONFIRMED, S.PENDING),
    (S.UNCONFIRMED, S.SENT),
    (S.UNCONFIRMED, S.FAILED),
}
"""Written out by hand from the lifecycle in docs/notices.md."""


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair(current: DeliveryState, target: DeliveryState) -> None:
    if (current, target) in ALLOWED:
        assert delivery_transition(current, target) is target
    else:
        with pytest.raises(DeliveryTransitionError, match=f"cannot go from {current} to {target}"):
            delivery_transition(current, target, what="notice delivery 7")


def test_final_states_have_no_way_out() -> None:
    assert {s for s in S if not DELIVERY_TRANSITIONS[s]} == FINAL_DELIVERY_STATES
    assert {S.SENT, S.FAILED, S.SUPERSEDED} == FINAL_DELIVERY_STATES
