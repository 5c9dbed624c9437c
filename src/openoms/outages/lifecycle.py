"""The outage lifecycle as data: states, the table of allowed transitions, one function.

```
detected → located → crew_dispatched → crew_on_site → isolated → partly_restored → restored → closed
```
Steps may be skipped forward where the work allows it (a fault restored by reclosing or by
automatic switching before any crew is sent; a planned outage that goes from isolated
straight to restored). Any open outage may be ``cancelled`` (a false alarm, a planned outage
called off) or ``merged`` into another outage (two records of one fault). A ``restored`` or
``closed`` outage may be ``reopened`` (the fault came back, or the record was closed too
soon), which puts it back to ``located``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from openoms.errors import InputError

__all__ = ["OPEN_STATES", "TRANSITIONS", "IllegalTransitionError", "OutageState", "transition"]


class OutageState(StrEnum):
    DETECTED = "detected"
    LOCATED = "located"
    CREW_DISPATCHED = "crew_dispatched"
    CREW_ON_SITE = "crew_on_site"
    ISOLATED = "isolated"
    PARTLY_RESTORED = "partly_restored"
    RESTORED = "restored"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"


S = OutageState

_MAIN: Final = (
    S.DETECTED,
    S.LOCATED,
    S.CREW_DISPATCHED,
    S.CREW_ON_SITE,
    S.ISOLATED,
    S.PARTLY_RESTORED,
    S.RESTORED,
    S.CLOSED,
)

OPEN_STATES: Final = frozenset(_MAIN[:6])
"""States in which customers may still be off and work goes on."""


def _table() -> dict[OutageState, frozenset[OutageState]]:
    allowed: dict[OutageState, set[OutageState]] = {s: set() for s in OutageState}
    # Forward along the main line, skipping steps where the work allows it.
    for i, state in enumerate(_MAIN[:-1]):
        allowed[state] |= set(_MAIN[i + 1 : -1])  # never straight to closed
    allowed[S.RESTORED].add(S.CLOSED)
    # A partial restoration can step back when restored customers are cut off again.
    allowed[S.PARTLY_RESTORED].add(S.ISOLATED)
    # Crews may be sent again (another crew, or after isolation).
    allowed[S.ISOLATED].add(S.CREW_DISPATCHED)
    allowed[S.PARTLY_RESTORED] |= {S.CREW_DISPATCHED, S.CREW_ON_SITE}
    for state in OPEN_STATES:
        allowed[state] |= {S.CANCELLED, S.MERGED}
    allowed[S.RESTORED].add(S.LOCATED)
    allowed[S.CLOSED].add(S.LOCATED)
    return {state: frozenset(targets) for state, targets in allowed.items()}


TRANSITIONS: Final[dict[OutageState, frozenset[OutageState]]] = _table()
"""Allowed next states of each state. Reopening is the move from restored or closed back to
located; cancelled and merged are final."""


class IllegalTransitionError(InputError):
    """A state change the lifecycle does not allow."""

    def __init__(self, current: OutageState, target: OutageState) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        super().__init__(
            f"an outage cannot go from {current} to {target}; allowed from {current}: {allowed}"
        )
        self.current = current
        self.target = target


def transition(current: OutageState, target: OutageState) -> OutageState:
    """``target`` if the lifecycle allows ``current → target``, else raise."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransitionError(current, target)
    return target
