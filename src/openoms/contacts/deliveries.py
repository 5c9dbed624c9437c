"""The lifecycle of one notice delivery (one message of a notice on one channel to one
recipient) as data: states, table, one function.

```
pending → sending → sent
```
The notice worker claims a due ``pending`` delivery and commits ``sending`` before it hands
it to the channel. The channel's answer makes it ``sent`` (the SMTP server, the robot's
webhook or the SMS outbox took it), ``pending`` again for a retry after a back-off, or
``failed`` (a permanent error, or the attempts used up). A delivery found in ``sending``
after a restart may have gone out: it becomes ``unconfirmed`` and is never resent blindly
(a person may put it back to ``pending``). A ``pending`` delivery that a newer message to the
same recipient on the same channel covers (a correction, a merged notice) is ``superseded``
and never sent. ``sent``, ``failed`` and ``superseded`` are final. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from openoms.errors import InputError

__all__ = [
    "DELIVERY_TRANSITIONS",
    "FINAL_DELIVERY_STATES",
    "DeliveryState",
    "DeliveryTransitionError",
    "delivery_transition",
]


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    SUPERSEDED = "superseded"


_S = DeliveryState

DELIVERY_TRANSITIONS: Final[Mapping[DeliveryState, frozenset[DeliveryState]]] = {
    _S.PENDING: frozenset({_S.SENDING, _S.SUPERSEDED}),
    _S.SENDING: frozenset({_S.SENT, _S.PENDING, _S.FAILED, _S.UNCONFIRMED}),
    _S.UNCONFIRMED: frozenset({_S.PENDING, _S.SENT, _S.FAILED}),
    _S.SENT: frozenset(),
    _S.FAILED: frozenset(),
    _S.SUPERSEDED: frozenset(),
}
"""Allowed next states of each state: every allowed (from, to) pair."""

FINAL_DELIVERY_STATES: Final = frozenset({_S.SENT, _S.FAILED, _S.SUPERSEDED})


class DeliveryTransitionError(InputError):
    """A state change the delivery lifecycle does not allow."""

    def __init__(self, current: DeliveryState, target: DeliveryState, *, what: str) -> None:
        allowed = ", ".join(sorted(DELIVERY_TRANSITIONS[current])) or "none (final state)"
        super().__init__(
            f"{what}: cannot go from {current} to {target}; allowed from {current}: {allowed}"
        )
        self.current = current
        self.target = target


def delivery_transition(
    current: DeliveryState, target: DeliveryState, *, what: str = "a delivery"
) -> DeliveryState:
    """``target`` if the lifecycle allows ``current → target``, else raise."""
    if target not in DELIVERY_TRANSITIONS[current]:
        raise DeliveryTransitionError(current, target, what=what)
    return target
