"""Fault location from indicator and FTU reports: zones, the exact locator, calibration; and
the fault-event lifecycle (state, alert state, trigger) as tables (:mod:`.lifecycle`).

Pure: numpy and numba over the grid model and topology; no I/O (docs/architecture.md,
"Layers").
"""

from __future__ import annotations

from openoms.faults.calibrate import calibrate
from openoms.faults.lifecycle import (
    AlertState,
    FaultEventState,
    FaultTransitionError,
    FaultTrigger,
)
from openoms.faults.locator import FaultLocator
from openoms.faults.observations import (
    DEFAULT_FAILURE_RATE_PER_KM,
    DEFAULT_RATES,
    DeviceRates,
    InvalidObservationError,
    Observation,
    ObservationColumns,
    Status,
)
from openoms.faults.result import Candidate, Contradiction, FaultLocation, FaultType
from openoms.faults.zones import Zone

__all__ = [
    "DEFAULT_FAILURE_RATE_PER_KM",
    "DEFAULT_RATES",
    "AlertState",
    "Candidate",
    "Contradiction",
    "DeviceRates",
    "FaultEventState",
    "FaultLocation",
    "FaultLocator",
    "FaultTransitionError",
    "FaultTrigger",
    "FaultType",
    "InvalidObservationError",
    "Observation",
    "ObservationColumns",
    "Status",
    "Zone",
    "calibrate",
]
