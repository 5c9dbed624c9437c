"""What the fault locator answers: ranked zones, the region the crew is sent to, suspected
faulty indicators, the fault time, type and phases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Candidate", "Contradiction", "FaultLocation", "FaultType"]


@dataclass(frozen=True, slots=True)
class Candidate:
    zone: str
    posterior: float
    log_score: float  # log-likelihood up to a constant shared by the zones, plus log prior


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A device whose report disagrees with the best hypothesis (a suspected faulty device).
    Values: ``alarm`` / ``no_alarm`` for plain devices, ``+1`` / ``-1`` / ``0`` for
    directional ones (``alarm`` when a directional device alarmed without a direction)."""

    detector: str
    expected: str
    observed: str


class FaultType(StrEnum):
    PHASE_TO_PHASE = "phase_to_phase"
    THREE_PHASE = "three_phase"
    SINGLE_PHASE_EARTH = "single_phase_earth"
    TWO_PHASE_EARTH = "two_phase_earth"
    BROKEN_CONDUCTOR = "broken_conductor"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FaultLocation:
    """The answer for one fault event on one feeder (see docs/faults.md for every field)."""

    feeder: str
    candidates: tuple[Candidate, ...]  # ranked, best first (posterior > 1e-6, at most 50)
    best: tuple[str, ...]  # zones of the best hypothesis (several when max_faults > 1)
    ties: tuple[str, ...]  # zones whose score equals the best within 1e-9
    region: tuple[str, ...]  # smallest connected set of zones with mass >= region_mass
    region_mass: float  # the posterior mass the region holds
    contradictions: tuple[Contradiction, ...]
    fault_time: datetime | None
    fault_type: FaultType
    phases: tuple[str, ...]
    permanent: bool | None
    reports_used: int
    devices_no_data: int
    ignored: tuple[str, ...] = ()  # detectors reported but not on this feeder's zone tree
    signal: str = "short_circuit"  # what was located: short_circuit, earth_fault, loss_of_voltage

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (datetimes as ISO 8601 UTC strings)."""
        return {
            "feeder": self.feeder,
            "candidates": [
                {"zone": c.zone, "posterior": c.posterior, "log_score": c.log_score}
                for c in self.candidates
            ],
            "best": list(self.best),
            "ties": list(self.ties),
            "region": list(self.region),
            "region_mass": self.region_mass,
            "contradictions": [
                {"detector": c.detector, "expected": c.expected, "observed": c.observed}
                for c in self.contradictions
            ],
            "fault_time": self.fault_time.isoformat() if self.fault_time else None,
            "fault_type": self.fault_type.value,
            "phases": list(self.phases),
            "permanent": self.permanent,
            "reports_used": self.reports_used,
            "devices_no_data": self.devices_no_data,
            "ignored": list(self.ignored),
            "signal": self.signal,
        }
