"""The fault-event lifecycle as data: three small state machines, their tables, one function.

A fault event (one fault on one feeder, :mod:`openoms.service.faults`) has three fields that
only move forward, each with its own table of allowed transitions:

``state``
    ``collecting → located → final``: the first alarm or trip opens it *collecting*; the
    first location makes it *located* (provisional, refined by late reports); after
    ``fault_final_s`` it is *final*. An event that never located anything (no alarm in its
    window) goes from collecting straight to final. Only final is closed.
``alert_state``
    ``none`` until the reports have gone quiet, then once: ``sent`` (the crew SMS is in the
    outbox), ``no_contact`` (no one on duty for the grid cell), ``no_outage`` (no outage
    record to point the SMS at) or ``skipped`` (a transient fault: a patrol advisory, no SMS).
    A correction SMS after the final location does not change it. What people are shown is
    :class:`ShownAlertState` (:func:`shown_alert_state`): ``sent`` replaced by what became of
    the SMS (queued / sent / delivered / failed / unconfirmed), derived from the outbox.
``trigger``
    what opened the event: an indicator ``alarm`` or a breaker / recloser ``trip``. An event
    opened by an alarm becomes ``trip`` when the trip arrives (the window is around the trip);
    never back.

The values are the strings stored in the ``fault_events`` table. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, TypeVar

from openoms.errors import InputError

__all__ = [
    "ALERT_TRANSITIONS",
    "INITIAL_ALERT_STATE",
    "INITIAL_STATE",
    "INITIAL_TRIGGERS",
    "OPEN_STATES",
    "SHOWN_PRECEDENCE",
    "STATE_TRANSITIONS",
    "TRIGGER_TRANSITIONS",
    "AlertState",
    "FaultEventState",
    "FaultTransitionError",
    "FaultTrigger",
    "ShownAlertState",
    "shown_alert_state",
    "transition",
]


class FaultEventState(StrEnum):
    COLLECTING = "collecting"
    LOCATED = "located"
    FINAL = "final"


class AlertState(StrEnum):
    NONE = "none"  # not decided yet
    SENT = "sent"  # the crew SMS is in the outbox (its own lifecycle: contacts.messages)
    NO_CONTACT = "no_contact"  # no one on duty for the located section's grid cell
    NO_OUTAGE = "no_outage"  # no outage record to send the crew to
    SKIPPED = "skipped"  # transient fault (reclosed): a patrol advisory instead


class ShownAlertState(StrEnum):
    """The alert state people see (API, fault list): never stored, derived by
    :func:`shown_alert_state` from the stored :class:`AlertState` and the crew SMS."""

    NONE = "none"
    QUEUED = "queued"  # in the outbox, not yet accepted by the SMSC (retrying, or no session)
    SENT = "sent"  # accepted by the SMSC, no delivery receipt yet (within the timeout)
    DELIVERED = "delivered"  # a delivery receipt DELIVRD (every segment of a long SMS)
    FAILED = "failed"  # refused, undeliverable, or the attempts used up
    UNCONFIRMED = "unconfirmed"  # no receipt in time, or the submit's answer was lost
    NO_CONTACT = "no_contact"
    NO_OUTAGE = "no_outage"
    SKIPPED = "skipped"


class FaultTrigger(StrEnum):
    ALARM = "alarm"  # the first indicator alarm on the feeder
    TRIP = "trip"  # a breaker / recloser trip


_E, _A, _T = FaultEventState, AlertState, FaultTrigger

STATE_TRANSITIONS: Final[Mapping[FaultEventState, frozenset[FaultEventState]]] = {
    _E.COLLECTING: frozenset({_E.LOCATED, _E.FINAL}),
    _E.LOCATED: frozenset({_E.FINAL}),
    _E.FINAL: frozenset(),
}
"""Allowed next states of a fault event; ``collecting`` is where every event starts."""

ALERT_TRANSITIONS: Final[Mapping[AlertState, frozenset[AlertState]]] = {
    _A.NONE: frozenset({_A.SENT, _A.NO_CONTACT, _A.NO_OUTAGE, _A.SKIPPED}),
    _A.SENT: frozenset(),
    _A.NO_CONTACT: frozenset(),
    _A.NO_OUTAGE: frozenset(),
    # a lockout after the transient (the fault came back within the lockout window): the
    # crew is alerted after all
    _A.SKIPPED: frozenset({_A.SENT, _A.NO_CONTACT, _A.NO_OUTAGE}),
}
"""Allowed next alert states; ``none`` is where every event starts; ``skipped`` (a
transient) may still become an alert when a lockout follows; the others are final."""

TRIGGER_TRANSITIONS: Final[Mapping[FaultTrigger, frozenset[FaultTrigger]]] = {
    _T.ALARM: frozenset({_T.TRIP}),
    _T.TRIP: frozenset(),
}
"""Allowed changes of the trigger: an alarm-opened event taken over by the trip."""

INITIAL_STATE: Final = _E.COLLECTING
INITIAL_ALERT_STATE: Final = _A.NONE
INITIAL_TRIGGERS: Final = frozenset(FaultTrigger)
"""An event may be opened by either."""

OPEN_STATES: Final = frozenset({_E.COLLECTING, _E.LOCATED})
"""States in which reports still join the event and its location may still change."""

SHOWN_PRECEDENCE: Final = (
    ShownAlertState.DELIVERED,
    ShownAlertState.SENT,
    ShownAlertState.QUEUED,
    ShownAlertState.UNCONFIRMED,
    ShownAlertState.FAILED,
)
"""With several crew SMS (several people on duty), the alert shows the first of these any of
them is in: delivered as soon as one person has it, failed only when every one failed."""

_MESSAGE_SHOWN: Final = {
    "queued": ShownAlertState.QUEUED,
    "sending": ShownAlertState.QUEUED,
    "sent": ShownAlertState.SENT,
    "delivered": ShownAlertState.DELIVERED,
    "failed": ShownAlertState.FAILED,
    "unconfirmed": ShownAlertState.UNCONFIRMED,
}


def shown_alert_state(stored: AlertState, messages: Iterable[tuple[str, bool]]) -> ShownAlertState:
    """What the alert state of a fault event is shown as.

    ``messages``: the state of each crew SMS of the event's outage (a
    ``contacts.messages.MessageState`` value) and whether it is overdue (sent, and no
    receipt within ``sms_receipt_timeout_s`` of the hand-over: shown as unconfirmed). A
    stored state other than ``sent`` is shown as it is; ``sent`` becomes the first of
    :data:`SHOWN_PRECEDENCE` any message is in (``queued`` while there is none yet).

    >>> shown_alert_state(AlertState.SENT, [("sent", True), ("failed", False)])
    <ShownAlertState.UNCONFIRMED: 'unconfirmed'>
    >>> shown_alert_state(AlertState.NO_CONTACT, [])
    <ShownAlertState.NO_CONTACT: 'no_contact'>
    """
    if stored is not AlertState.SENT:
        return ShownAlertState(stored.value)
    shown = set()
    for state, overdue in messages:
        value = _MESSAGE_SHOWN.get(state, ShownAlertState.UNCONFIRMED)
        if value is ShownAlertState.SENT and overdue:
            value = ShownAlertState.UNCONFIRMED
        shown.add(value)
    return next((s for s in SHOWN_PRECEDENCE if s in shown), ShownAlertState.QUEUED)


_TABLES: Final[Mapping[type[StrEnum], tuple[str, Mapping[Any, frozenset[Any]]]]] = {
    FaultEventState: ("state", STATE_TRANSITIONS),
    AlertState: ("alert state", ALERT_TRANSITIONS),
    FaultTrigger: ("trigger", TRIGGER_TRANSITIONS),
}

Lifecycle = TypeVar("Lifecycle", FaultEventState, AlertState, FaultTrigger)


class FaultTransitionError(InputError):
    """A change of a fault event's state, alert state or trigger that its table forbids."""

    def __init__(self, current: StrEnum, target: StrEnum) -> None:
        what, table = _TABLES[type(current)]
        allowed = ", ".join(sorted(table[current])) or "none (final)"
        super().__init__(
            f"a fault event's {what} cannot go from {current} to {target}; "
            f"allowed from {current}: {allowed}"
        )
        self.field = what
        self.current = current
        self.target = target


def transition(current: Lifecycle, target: Lifecycle) -> Lifecycle:
    """``target`` if its table allows ``current → target``, else raise
    :class:`FaultTransitionError` (staying put is not a transition)."""
    _, table = _TABLES[type(current)]
    if target not in table[current]:
        raise FaultTransitionError(current, target)
    return target
