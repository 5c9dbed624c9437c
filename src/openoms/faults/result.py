"""What the fault locator answers: ranked zones, the region the crew is sent to, suspected
faulty indicators, the fault time, type and phases."""

from __future__ import annotations

from collections.abc import Mapping
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
    ties: tuple[str, ...]  # zones whose score equals the best within 1e-9 (the best among them)
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
    region_target: float = 0.95  # the mass the region was grown to hold (the setting)
    # reports that tell zones apart (data on a zone below the root, with a weight): 0 means
    # the answer is the prior alone; None when not known (then ``reports_used`` stands in)
    evidence: int | None = None

    @property
    def has_evidence(self) -> bool:
        """Whether any report tells the zones apart (else the answer is the prior alone: the
        fault is on the feeder, nothing says where)."""
        return (self.reports_used if self.evidence is None else self.evidence) > 0

    @property
    def region_holds_target(self) -> bool:
        """Whether the region reached its target mass (growth may stop at its zone cap)."""
        return self.region_mass >= self.region_target - 1e-9

    @property
    def tied(self) -> bool:
        """Whether several zones share the best score (a tie the reports cannot break)."""
        return len(self.ties) > 1

    @property
    def single_section(self) -> bool:
        """Whether the best zone alone holds the target mass (the crew goes to one section)."""
        return (
            len(self.best) == 1
            and not self.tied
            and self.region == self.best
            and self.region_holds_target
        )

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
            "region_target": self.region_target,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, feeder: str = "") -> FaultLocation:
        """The inverse of :meth:`as_dict` (a stored answer; keys it lacks, such as those
        added later, take their defaults; ``feeder`` when it names none)."""
        fault_time = data.get("fault_time")
        return cls(
            feeder=str(data.get("feeder", feeder)),
            candidates=tuple(
                Candidate(
                    str(c["zone"]), float(c.get("posterior", 0.0)), float(c.get("log_score", 0.0))
                )
                for c in data.get("candidates", ())
            ),
            best=tuple(data.get("best", ())),
            ties=tuple(data.get("ties", ())),
            region=tuple(data.get("region", ())),
            region_mass=float(data.get("region_mass", 0.0)),
            contradictions=tuple(
                Contradiction(str(c["detector"]), str(c["expected"]), str(c["observed"]))
                for c in data.get("contradictions", ())
            ),
            fault_time=datetime.fromisoformat(fault_time) if fault_time else None,
            fault_type=FaultType(data.get("fault_type", FaultType.UNKNOWN.value)),
            phases=tuple(data.get("phases", ())),
            permanent=data.get("permanent"),
            reports_used=int(data.get("reports_used", 0)),
            devices_no_data=int(data.get("devices_no_data", 0)),
            ignored=tuple(data.get("ignored", ())),
            signal=str(data.get("signal", "short_circuit")),
            region_target=float(data.get("region_target", 0.95)),
            evidence=data.get("evidence"),
        )
