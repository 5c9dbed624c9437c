"""The lifecycle of a message to a person (an SMS in the outbox) as data: states, table, one
function.

```
queued → sending → sent → delivered
```
The outbox worker claims a ``queued`` message and commits ``sending`` before it submits it.
The submit's answer makes it ``sent`` (the SMSC has it), or ``queued`` again for a retry after
a back-off, or ``failed`` (a permanent error, or the attempts used up). A delivery receipt
makes a sent message ``delivered`` or ``failed``. When nobody knows whether the SMSC got it (a
crash or a lost connection between the submit and its answer) it becomes ``unconfirmed``:
never resent blindly, a late receipt may still make it ``delivered`` or ``failed``, or a
dispatcher may put it back to ``queued`` (a duplicate is possible). ``delivered`` and
``failed`` are final.

The values are the strings stored in the ``outbox`` table (:mod:`openoms.store.outbox`).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from openoms.errors import InputError

__all__ = [
    "FINAL_MESSAGE_STATES",
    "INITIAL_MESSAGE_STATE",
    "MESSAGE_TRANSITIONS",
    "MessageState",
    "MessageTransitionError",
    "message_transition",
]


class MessageState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # handed to the SMSC (submit_sm_resp OK)
    DELIVERED = "delivered"  # delivery receipt DELIVRD
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"  # maybe handed over; not resent without a person's decision


_S = MessageState

MESSAGE_TRANSITIONS: Final[Mapping[MessageState, frozenset[MessageState]]] = {
    _S.QUEUED: frozenset({_S.SENDING}),
    _S.SENDING: frozenset({_S.SENT, _S.QUEUED, _S.FAILED, _S.UNCONFIRMED}),
    _S.SENT: frozenset({_S.DELIVERED, _S.FAILED}),
    _S.UNCONFIRMED: frozenset({_S.DELIVERED, _S.FAILED, _S.QUEUED}),
    _S.DELIVERED: frozenset(),
    _S.FAILED: frozenset(),
}
"""Allowed next states of each state: every allowed (from, to) pair."""

INITIAL_MESSAGE_STATE: Final = _S.QUEUED
FINAL_MESSAGE_STATES: Final = frozenset({_S.DELIVERED, _S.FAILED})


class MessageTransitionError(InputError):
    """A state change the message lifecycle does not allow."""

    def __init__(self, current: MessageState, target: MessageState, *, what: str) -> None:
        allowed = ", ".join(sorted(MESSAGE_TRANSITIONS[current])) or "none (final state)"
        super().__init__(
            f"{what}: cannot go from {current} to {target}; allowed from {current}: {allowed}"
        )
        self.current = current
        self.target = target


def message_transition(
    current: MessageState, target: MessageState, *, what: str = "a message"
) -> MessageState:
    """``target`` if the lifecycle allows ``current → target``, else raise; ``what`` names
    the message in the error (``outbox message 12``)."""
    if target not in MESSAGE_TRANSITIONS[current]:
        raise MessageTransitionError(current, target, what=what)
    return target
