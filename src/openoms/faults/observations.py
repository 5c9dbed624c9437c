"""What the detectors said in one fault event, and how much to trust each kind of detector.

An :class:`Observation` is one detector's report in one event, already grouped to the event by
the caller (the service turns stored MQTT / IEC 104 reports into observations). "No data"
(offline, no heartbeat in the window, not yet received) is distinct from "no alarm" (known
online, nothing flagged): silence from an event-only GPRS indicator is *not* "no fault".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from openoms.errors import InputError

__all__ = [
    "DEFAULT_FAILURE_RATE_PER_KM",
    "DEFAULT_RATES",
    "PHASE_NAMES",
    "DeviceRates",
    "InvalidObservationError",
    "Observation",
    "Status",
]

PHASE_NAMES: Final = ("A", "B", "C")


class Status(StrEnum):
    ALARM = "alarm"  # the detector flagged this event (see the flags for what it saw)
    NO_ALARM = "no_alarm"  # known online in the event window, nothing flagged
    NO_DATA = "no_data"  # offline or not heard from: carries no evidence either way


class InvalidObservationError(InputError):
    """An observation or a locator setting that cannot be used; names the detector and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Observation:
    """What one detector said in one fault event.

    ``direction`` (directional devices): +1 fault current flowing away from the feeder head
    (downstream), −1 toward it, ``None`` not reported. For earth faults it is the transient
    zero-sequence polarity, oriented so that devices upstream of the fault read +1.
    ``permanent``: the device's own transient / permanent flag when it has one.
    """

    detector: str
    status: Status
    device_time: datetime | None = None  # aware UTC, time tag of the alarm
    fault_phases: tuple[str, ...] = ()  # short-circuit phases "A", "B", "C"
    earth_fault: bool = False
    earth_fault_phases: tuple[str, ...] = ()
    loss_of_voltage_phases: tuple[str, ...] = ()
    direction: int | None = None
    permanent: bool | None = None

    def problems(self) -> list[str]:
        """Every problem of this observation, each naming the detector and the field."""
        out: list[str] = []
        who = f"observation of detector {self.detector!r}"
        try:
            Status(self.status)
        except ValueError:
            out.append(f"{who}: status {self.status!r} is not one of {[s.value for s in Status]}")
        if self.device_time is not None and (
            self.device_time.tzinfo is None or self.device_time.utcoffset() != timedelta(0)
        ):
            out.append(f"{who}: device_time {self.device_time.isoformat()} must be aware UTC")
        for name in ("fault_phases", "earth_fault_phases", "loss_of_voltage_phases"):
            phases = getattr(self, name)
            bad = [p for p in phases if p not in PHASE_NAMES]
            if bad or len(set(phases)) != len(phases):
                out.append(f"{who}: {name} {phases!r} must be distinct phases of A, B, C")
        if self.direction not in (None, 1, -1):
            out.append(f"{who}: direction {self.direction!r} must be +1, -1 or None")
        if self.status is not Status.ALARM and (
            self.fault_phases or self.earth_fault or self.loss_of_voltage_phases
        ):
            out.append(f"{who}: status {self.status.value} but fault flags are set")
        return out


@dataclass(frozen=True, slots=True)
class DeviceRates:
    """How often a detector is wrong: ``false_alarm`` (a_d), ``miss`` (m_d), and for
    directional devices ``direction_error`` (δ, reports the wrong direction)."""

    false_alarm: float
    miss: float
    direction_error: float = 0.005

    def problems(self, where: str) -> list[str]:
        out = []
        for name in ("false_alarm", "miss", "direction_error"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 < value < 1.0):
                out.append(f"{where}: {name} {value!r} must be a probability in (0, 1)")
        return out


# DOMAIN.md §1 defaults until calibrated: settings, not literature (docs/faults.md).
DEFAULT_RATES: Final[Mapping[str, DeviceRates]] = MappingProxyType(
    {
        "relay": DeviceRates(false_alarm=0.001, miss=0.001),
        "ftu": DeviceRates(false_alarm=0.01, miss=0.03),
        "dtu": DeviceRates(false_alarm=0.01, miss=0.03),
        "fault_indicator": DeviceRates(false_alarm=0.03, miss=0.10),
    }
)

# Relative failure rates per km by section kind for the "length" prior (faults per km·year).
# Settings (confirm): typical 10 kV figures, overhead lines fail about twice as often per km as
# cables; a transformer branch has no length and gets the zone floor (docs/faults.md).
DEFAULT_FAILURE_RATE_PER_KM: Final[Mapping[str, float]] = MappingProxyType(
    {"overhead": 0.10, "cable": 0.05, "transformer": 0.0}
)
