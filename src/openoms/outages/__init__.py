"""Outages: who is off if devices open, what a switching sequence does, the outage record and
its lifecycle.

Pure: arrays and dataclasses over the grid model and its topology; no I/O.

- :class:`ImpactAnalyser` answers "who is off if these devices open" (villages, transformer
  areas, HV and sensitive customers) from the topology index;
- :func:`switching_effect` previews a switching sequence (lost, regained, loops, parallels);
- :class:`OutageRecord` and :class:`AreaOff` are the record every workflow writes;
  :func:`areas_of` and :func:`outage_summary` make its areas and summary from an impact;
- :data:`TRANSITIONS` is the outage lifecycle as a table; :func:`transition` checks a move.
"""

from __future__ import annotations

from openoms.outages.impact import Impact, ImpactAnalyser, SensitiveOff
from openoms.outages.lifecycle import (
    OPEN_STATES,
    TRANSITIONS,
    IllegalTransitionError,
    OutageState,
    transition,
)
from openoms.outages.records import AreaOff, ElementKindOff, OutageKind, OutageRecord
from openoms.outages.summary import areas_of, outage_summary
from openoms.outages.switching import Operation, SwitchingEffect, switching_effect

__all__ = [
    "OPEN_STATES",
    "TRANSITIONS",
    "AreaOff",
    "ElementKindOff",
    "IllegalTransitionError",
    "Impact",
    "ImpactAnalyser",
    "Operation",
    "OutageKind",
    "OutageRecord",
    "OutageState",
    "SensitiveOff",
    "SwitchingEffect",
    "areas_of",
    "outage_summary",
    "switching_effect",
    "transition",
]
