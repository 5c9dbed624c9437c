"""Reliability statistics: IEEE 1366 and DL/T 836 indices, major event days, breakdowns.

Pure core: arrays in, frozen results out; no I/O. :func:`compute` takes the interruptions
(:class:`Interruptions`) and the customer base (:class:`CustomerBase`) of a period and returns
a :class:`ReliabilityResult` (SAIFI, SAIDI, CAIDI, ASAI, MAIFI, AIHC-1, RS-1/3, ... with and
without major event days by the 2.5β method, :func:`med_threshold`), optionally broken down
(by feeder, month, cause, ...). :func:`parse_history` reads the history CSV format of
docs/reliability.md into rows for the engine.
"""

from __future__ import annotations

from openoms.reliability.data import CustomerBase, Interruptions, ReliabilityDataError
from openoms.reliability.history_csv import parse_history
from openoms.reliability.indices import ReliabilityResult, Settings, compute
from openoms.reliability.med import MedThreshold, major_event_days, med_threshold

__all__ = [
    "CustomerBase",
    "Interruptions",
    "MedThreshold",
    "ReliabilityDataError",
    "ReliabilityResult",
    "Settings",
    "compute",
    "major_event_days",
    "med_threshold",
    "parse_history",
]
