"""The observation model: what each device's report weighs for "the fault is below it".

Three signals are located the same way (docs/faults.md, "The observation model"):

- ``short_circuit``: fault current flags; devices above the fault alarm.
- ``earth_fault``: earth-fault flags and transient zero-sequence polarity; devices above the
  fault read +1, every other polarity-reporting device reads −1 (its own capacitive current).
- ``loss_of_voltage`` (broken conductor): devices *below* the break lose voltage.

Per device the expected report is +1 ("alarm") when the fault is below it and ``off``
otherwise (0, or −1 when a detectable source lies below it, or the mixture "−1 with
probability q, else 0" when the sources below it feed detectable current with probability
q: distributed generation, docs/faults.md "Distributed generation"); the score of a hypothesis is a
constant plus the sum, over the devices expecting +1, of
``w = ln P(observed | +1) − ln P(observed | off)``. Everything here is vectorised over reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.faults.observations import Observation, Status

__all__ = [
    "ALARM",
    "MINUS",
    "MIXED",
    "NONE",
    "PLUS",
    "QUIET",
    "Signal",
    "contradiction_mask",
    "displayed",
    "event_signal",
    "hit",
    "weights",
]

# observed / expected report codes
NONE: Final = -1  # no data
QUIET: Final = 0  # "0": reported, nothing for this signal
ALARM: Final = 1  # alarm without a direction (plain devices, or no direction given)
PLUS: Final = 2  # "+1"
MINUS: Final = 3  # "-1"
MIXED: Final = 4  # expected only: "-1" with probability q (a source below may feed), else "0"

_SHOWN_DIRECTIONAL: Final = {QUIET: "0", ALARM: "alarm", PLUS: "+1", MINUS: "-1", MIXED: "0/-1"}
_SHOWN_PLAIN: Final = {
    QUIET: "no_alarm",
    ALARM: "alarm",
    PLUS: "alarm",
    MINUS: "alarm",
    MIXED: "any",
}

Codes = NDArray[np.int8]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


class Signal(StrEnum):
    SHORT_CIRCUIT = "short_circuit"
    EARTH_FAULT = "earth_fault"
    LOSS_OF_VOLTAGE = "loss_of_voltage"


def event_signal(alarms: Sequence[Observation]) -> Signal:
    """What the event is located by: short circuit if any alarm carries short-circuit phases
    or no detail at all; else earth fault if any alarm carries the earth flag; else loss of
    voltage if any alarm carries lost phases; else (no alarm at all) short circuit."""
    alarms = [o for o in alarms if o.status is Status.ALARM]
    if any(o.fault_phases or not (o.earth_fault or o.loss_of_voltage_phases) for o in alarms):
        return Signal.SHORT_CIRCUIT
    if any(o.earth_fault for o in alarms):
        return Signal.EARTH_FAULT
    if alarms:
        return Signal.LOSS_OF_VOLTAGE
    return Signal.SHORT_CIRCUIT


def hit(obs: Observation, signal: Signal, *, directional: bool) -> int:
    """The code of an ALARM observation for ``signal``: QUIET when it flags something else,
    else PLUS / MINUS for a directional device that gave a direction, else ALARM."""
    if signal is Signal.SHORT_CIRCUIT:
        flagged = bool(obs.fault_phases) or not (obs.earth_fault or obs.loss_of_voltage_phases)
    elif signal is Signal.EARTH_FAULT:
        flagged = obs.earth_fault
    else:
        flagged = bool(obs.loss_of_voltage_phases)
    if not flagged:
        return QUIET
    if directional and signal is not Signal.LOSS_OF_VOLTAGE and obs.direction is not None:
        return PLUS if obs.direction > 0 else MINUS
    return ALARM


def _probability(
    observed: Codes, expected: Codes, a: Floats, m: Floats, d: Floats, *, q: Floats | None = None
) -> Floats:
    """P(observed | expected) per report (expected: QUIET, PLUS, MINUS, or MIXED: MINUS with
    probability ``q``, else QUIET)."""
    mixed = expected == MIXED
    if q is not None and bool(mixed.any()):
        q_m = np.where(mixed, q, 0.0)
        to_minus = _probability(observed, np.where(mixed, np.int8(MINUS), expected), a, m, d)
        to_quiet = _probability(observed, np.where(mixed, np.int8(QUIET), expected), a, m, d)
        mix: Floats = np.where(mixed, q_m * to_minus + (1.0 - q_m) * to_quiet, to_minus)
        return mix
    silent = expected == QUIET
    same = observed == expected
    p_quiet = np.where(silent, 1.0 - a, m)
    p_alarm = np.where(silent, a, 1.0 - m)
    p_directed = np.where(silent, a / 2.0, (1.0 - m) * np.where(same, 1.0 - d, d))
    out: Floats = np.where(
        observed == QUIET, p_quiet, np.where(observed == ALARM, p_alarm, p_directed)
    )
    return out


def weights(
    observed: Codes, off: Codes, a: Floats, m: Floats, d: Floats, *, q: Floats | None = None
) -> Floats:
    """``w = ln P(observed | PLUS) − ln P(observed | off)`` per report (docs/faults.md, "The
    observation model"); ``q``: per report, the probability of −1 where ``off`` is MIXED."""
    on = np.full(observed.shape, PLUS, dtype=np.int8)
    out: Floats = np.log(_probability(observed, on, a, m, d)) - np.log(
        _probability(observed, off, a, m, d, q=q)
    )
    return out


def contradiction_mask(observed: Codes, expected: Codes) -> Bools:
    """Reports that disagree with the expectation: silence against an expected alarm, an
    alarm against expected silence, or the wrong direction (an undirected alarm agrees with
    either direction). Against MIXED ("0 or −1") only +1 disagrees."""
    mixed = expected == MIXED
    quiet_mismatch = (observed == QUIET) != (expected == QUIET)
    wrong_way = (observed >= PLUS) & (expected >= PLUS) & (observed != expected)
    out: Bools = np.where(mixed, observed == PLUS, quiet_mismatch | wrong_way)
    return out


def displayed(code: int, *, directional: bool) -> str:
    """A report or expectation as a :class:`~openoms.faults.result.Contradiction` shows it."""
    return (_SHOWN_DIRECTIONAL if directional else _SHOWN_PLAIN)[code]
