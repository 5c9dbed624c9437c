"""The observation model: what each device's report weighs for "the fault is below it".

Three signals are located the same way (DOMAIN.md §1, docs/faults.md):

- ``short_circuit``: fault current flags; devices above the fault alarm.
- ``earth_fault``: earth-fault flags and transient zero-sequence polarity; devices above the
  fault read +1, every other polarity-reporting device reads −1 (its own capacitive current).
- ``loss_of_voltage`` (broken conductor): devices *below* the break lose voltage.

Per device the expected report is ``e_on`` when the fault is below it and ``e_off`` otherwise;
the score of a hypothesis is a constant plus the sum, over devices expecting ``e_on``, of
``w = ln P(observed | e_on) − ln P(observed | e_off)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from openoms.faults.observations import DeviceRates, Observation, Status

__all__ = ["Expectation", "Signal", "device_weight", "event_signal", "observed_value"]


class Signal(StrEnum):
    SHORT_CIRCUIT = "short_circuit"
    EARTH_FAULT = "earth_fault"
    LOSS_OF_VOLTAGE = "loss_of_voltage"


def event_signal(observations: Sequence[Observation]) -> Signal:
    """What the event is located by: short circuit if any alarm carries short-circuit phases
    or no detail at all; else earth fault if any alarm carries the earth flag; else loss of
    voltage if any alarm carries lost phases; else (no alarm at all) short circuit."""
    alarms = [o for o in observations if o.status is Status.ALARM]
    if any(o.fault_phases or not (o.earth_fault or o.loss_of_voltage_phases) for o in alarms):
        return Signal.SHORT_CIRCUIT
    if any(o.earth_fault for o in alarms):
        return Signal.EARTH_FAULT
    if alarms:
        return Signal.LOSS_OF_VOLTAGE
    return Signal.SHORT_CIRCUIT


def observed_value(obs: Observation, signal: Signal, *, directional: bool) -> str | None:
    """``None`` (no data), ``"0"`` (reported, nothing for this signal), ``"alarm"``, or for a
    directional device that gave a direction ``"+1"`` / ``"-1"``."""
    if obs.status is Status.NO_DATA:
        return None
    if obs.status is Status.NO_ALARM:
        return "0"
    if signal is Signal.SHORT_CIRCUIT:
        hit = bool(obs.fault_phases) or not (obs.earth_fault or obs.loss_of_voltage_phases)
    elif signal is Signal.EARTH_FAULT:
        hit = obs.earth_fault
    else:
        hit = bool(obs.loss_of_voltage_phases)
    if not hit:
        return "0"
    if directional and signal is not Signal.LOSS_OF_VOLTAGE and obs.direction is not None:
        return "+1" if obs.direction > 0 else "-1"
    return "alarm"


@dataclass(frozen=True, slots=True)
class Expectation:
    """Expected reports of one device: ``on`` when the fault is below it, ``off`` otherwise;
    each ``"+1"``, ``"-1"`` or ``"0"`` (``"+1"``/``"-1"`` read "alarm" for plain devices)."""

    on: str
    off: str

    @staticmethod
    def of(signal: Signal, *, directional: bool, source_below: bool) -> Expectation:
        if signal is Signal.SHORT_CIRCUIT:
            return Expectation("+1", "-1" if source_below else "0")
        if signal is Signal.EARTH_FAULT:
            return Expectation("+1", "-1" if directional else "0")
        return Expectation("+1", "0")


def _probability(observed: str, expected: str, rates: DeviceRates) -> float:
    a, m, d = rates.false_alarm, rates.miss, rates.direction_error
    if expected == "0":
        return {"0": 1.0 - a, "alarm": a}.get(observed, a / 2.0)
    if observed == "0":
        return m
    if observed == "alarm":
        return 1.0 - m
    return (1.0 - m) * ((1.0 - d) if observed == expected else d)


def device_weight(observed: str, expectation: Expectation, rates: DeviceRates) -> float:
    """``ln P(observed | on) − ln P(observed | off)`` (0 when the two expectations agree)."""
    if expectation.on == expectation.off:
        return 0.0
    return math.log(_probability(observed, expectation.on, rates)) - math.log(
        _probability(observed, expectation.off, rates)
    )


def displayed(value: str, *, directional: bool) -> str:
    """A report or expectation as a :class:`~openoms.faults.result.Contradiction` shows it."""
    if directional or value == "alarm":
        return value
    return "no_alarm" if value == "0" else "alarm"


def contradicts(observed: str, expected: str) -> bool:
    if observed == "0" or expected == "0":
        return observed != expected
    return observed not in ("alarm", expected)
