"""Fault location from indicator and FTU reports: zones, the exact locator, calibration.

Pure: numpy and numba over the grid model and topology; no I/O (DESIGN.md §4).
"""

from __future__ import annotations

from openoms.faults.calibrate import calibrate
from openoms.faults.locator import FaultLocator
from openoms.faults.observations import (
    DEFAULT_FAILURE_RATE_PER_KM,
    DEFAULT_RATES,
    DeviceRates,
    InvalidObservationError,
    Observation,
    Status,
)
from openoms.faults.result import Candidate, Contradiction, FaultLocation, FaultType
from openoms.faults.zones import Zone

__all__ = [
    "DEFAULT_FAILURE_RATE_PER_KM",
    "DEFAULT_RATES",
    "Candidate",
    "Contradiction",
    "DeviceRates",
    "FaultLocation",
    "FaultLocator",
    "FaultType",
    "InvalidObservationError",
    "Observation",
    "Status",
    "Zone",
    "calibrate",
]
