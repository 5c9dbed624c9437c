"""Earth-fault feeder selection (选线): which feeder of one bus the earth fault is on.

In isolated and arc-suppression-coil (Petersen) earthed 10 kV systems a single-phase earth
fault does not trip: every feeder of the bus sees the zero-sequence voltage, and the device
at each feeder head sees the transient zero-sequence current. A healthy feeder's head carries
its own capacitive current, flowing from the line to the bus; the faulted feeder's head
carries the sum of all the others' plus the bus side's, flowing the other way. With the
polarity oriented as OpenOMS reads it (``earth_fault_direction``: +1 when the fault lies
beyond the device, docs/events.md), the faulted feeder's head reads +1 and every healthy
head −1; its transient amplitude is also the largest. The transient is used, not the steady
state: with an over-compensating Petersen coil the steady-state zero-sequence current of the
faulted feeder flows the same way as the healthy ones'.

:func:`select_feeder` decides from the heads' readings alone (pure, no I/O); the rules and
what each outcome means are in docs/faults.md, "Earth faults: selecting the feeder".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "SELECTING_EARTHING",
    "FeederSelection",
    "HeadReading",
    "SelectionOutcome",
    "earth_fault_only",
    "merge_reading",
    "select_feeder",
]

SELECTING_EARTHING: Final = frozenset({"isolated", "petersen_coil"})
"""Neutral earthings where an earth fault does not trip and the feeder must be selected."""


def earth_fault_only(payload: Mapping[str, Any]) -> bool:
    """A report (normalised payload) of an earth fault and no short circuit."""
    short = payload.get("short_circuit") or payload.get("fault_phases")
    return bool(payload.get("earth_fault")) and not short


@dataclass(frozen=True, slots=True)
class HeadReading:
    """What the device at one feeder's head reported about the earth fault: the transient
    zero-sequence ``polarity`` (+1 the fault is beyond the head, −1 it is not, ``None`` not
    reported) and its ``amplitude`` (A, ``None`` not measured)."""

    feeder: str
    polarity: int | None = None
    amplitude: float | None = None


class SelectionOutcome(StrEnum):
    FEEDER = "feeder"  # one feeder is selected
    BUS = "bus"  # every head reads the same polarity: the fault is on the bus (or station)
    UNDECIDABLE = "undecidable"  # the readings do not single out a feeder or the bus


@dataclass(frozen=True, slots=True)
class FeederSelection:
    """The outcome, the selected feeder (``FEEDER`` only), the feeders found healthy, the
    feeders whose head gave nothing usable, and why, in Chinese and English."""

    outcome: SelectionOutcome
    feeder: str | None
    healthy: tuple[str, ...]
    missing: tuple[str, ...]
    reason_zh: str
    reason_en: str
    by: str = ""  # "polarity", "amplitude", "elimination" or "only_feeder" (FEEDER only)

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "feeder": self.feeder,
            "healthy": list(self.healthy),
            "missing": list(self.missing),
            "by": self.by,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
        }


def merge_reading(
    feeder: str, payload: Mapping[str, Any], seen: HeadReading | None = None
) -> HeadReading:
    """The reading of a feeder head from one earth-fault report: ``earth_fault_direction``
    (+1 / −1) and ``earth_fault_current`` (A; the largest of its phases), over what the
    head's earlier reports gave (``seen``: their polarity and amplitude come first)."""
    direction = payload.get("earth_fault_direction")
    polarity = direction if direction in (1, -1) and not isinstance(direction, bool) else None
    measurements = payload.get("measurements") or {}
    found = [
        float(v)
        for k, v in measurements.items()
        if str(k).startswith("earth_fault_current") and isinstance(v, int | float)
    ]
    amplitude = max(found) if found else None
    if seen is not None:
        polarity = seen.polarity if seen.polarity is not None else polarity
        amplitude = seen.amplitude if seen.amplitude is not None else amplitude
    return HeadReading(feeder, polarity, amplitude)


def _usable_amplitude(value: float | None) -> bool:
    return value is not None and not math.isnan(value) and value >= 0.0


def _largest(readings: Sequence[HeadReading]) -> HeadReading | None:
    """The reading with the strictly largest amplitude, when every one has an amplitude."""
    if len(readings) < 2 or not all(_usable_amplitude(r.amplitude) for r in readings):
        return None
    ranked = sorted(readings, key=lambda r: -(r.amplitude or 0.0))
    if (ranked[0].amplitude or 0.0) <= (ranked[1].amplitude or 0.0):
        return None  # a tie: amplitude does not decide
    return ranked[0]


def select_feeder(feeders: Sequence[str], readings: Sequence[HeadReading]) -> FeederSelection:
    """Select the faulted feeder among ``feeders`` (every feeder of one bus) from the heads'
    ``readings`` (at most one per feeder; readings of other feeders are ignored).

    1. One feeder on the bus: that feeder.
    2. Exactly one head reads +1: that feeder (by polarity); the others reading −1 are healthy.
    3. Several heads read +1: the one with the largest amplitude when every one of them has
       an amplitude (by amplitude), else undecidable.
    4. No head reads +1 (or no head gives a polarity):
       - every head read, all −1: a bus fault (the fault is not on any feeder);
       - exactly one head silent, every other −1: that feeder, by elimination;
       - no polarity at all but every head gave an amplitude: the strictly largest;
       - otherwise undecidable.
    O(feeders).
    """
    wanted = list(dict.fromkeys(feeders))
    by_feeder = {r.feeder: r for r in readings if r.feeder in wanted}
    plus = [by_feeder[f] for f in wanted if f in by_feeder and by_feeder[f].polarity == 1]
    minus = [f for f in wanted if f in by_feeder and by_feeder[f].polarity == -1]
    no_polarity = [f for f in wanted if f not in by_feeder or by_feeder[f].polarity not in (1, -1)]
    if len(wanted) == 1:
        return FeederSelection(
            SelectionOutcome.FEEDER,
            wanted[0],
            (),
            (),
            "母线上只有这一条线路",
            "the only feeder on the bus",
            "only_feeder",
        )
    if len(plus) == 1:
        chosen = plus[0].feeder
        healthy = tuple(f for f in minus if f != chosen)
        missing = tuple(f for f in no_polarity if f != chosen)
        return FeederSelection(
            SelectionOutcome.FEEDER,
            chosen,
            healthy,
            missing,
            f"{chosen} 首端暂态零序极性为正，与其余线路相反",
            f"the head of {chosen} reads +1, opposite to the other feeders' heads",
            "polarity",
        )
    if len(plus) > 1:
        return _several_plus(wanted, plus, minus, no_polarity)
    return _no_plus(wanted, by_feeder, minus, no_polarity)


def _several_plus(
    wanted: list[str], plus: list[HeadReading], minus: list[str], no_polarity: list[str]
) -> FeederSelection:
    """Several heads read +1: the strictly largest amplitude among them, else undecidable."""
    largest = _largest(plus)
    names = ", ".join(r.feeder for r in plus)
    if largest is not None:
        chosen = largest.feeder
        return FeederSelection(
            SelectionOutcome.FEEDER,
            chosen,
            tuple(f for f in wanted if f != chosen and f not in no_polarity),
            tuple(no_polarity),
            f"多条线路首端极性为正（{names}），按暂态零序电流幅值选 {chosen}",
            f"several heads read +1 ({names}); {chosen} has the largest transient "
            "zero-sequence amplitude",
            "amplitude",
        )
    return FeederSelection(
        SelectionOutcome.UNDECIDABLE,
        None,
        tuple(minus),
        tuple(no_polarity),
        f"多条线路首端极性为正（{names}），无法选线",
        f"several heads read +1 ({names}) and amplitude does not single one out",
    )


def _no_plus(
    wanted: list[str],
    by_feeder: dict[str, HeadReading],
    minus: list[str],
    no_polarity: list[str],
) -> FeederSelection:
    """No head reads +1: a bus fault, a feeder by elimination or by amplitude, or nothing."""
    if minus and not no_polarity:
        return FeederSelection(
            SelectionOutcome.BUS,
            None,
            (),
            (),
            "所有线路首端极性相同（均为负）：母线接地",
            "every feeder head reads the same polarity (−1): an earth fault on the bus",
        )
    if minus and len(no_polarity) == 1:
        chosen = no_polarity[0]
        return FeederSelection(
            SelectionOutcome.FEEDER,
            chosen,
            tuple(minus),
            (chosen,),
            f"其余线路首端极性均为负，{chosen} 首端无数据：排除法选 {chosen}（也可能是母线接地）",
            f"every other head reads −1 and the head of {chosen} did not report: {chosen} by "
            "elimination (a bus fault would look the same)",
            "elimination",
        )
    if not minus:
        largest = _largest([by_feeder[f] for f in wanted if f in by_feeder])
        if largest is not None and len(by_feeder) == len(wanted):
            chosen = largest.feeder
            return FeederSelection(
                SelectionOutcome.FEEDER,
                chosen,
                tuple(f for f in wanted if f != chosen),
                (),
                f"无极性数据，{chosen} 暂态零序电流幅值最大",
                f"no polarity reported; {chosen} has the largest transient zero-sequence amplitude",
                "amplitude",
            )
    silent = ", ".join(no_polarity)
    return FeederSelection(
        SelectionOutcome.UNDECIDABLE,
        None,
        tuple(minus),
        tuple(no_polarity),
        f"没有线路首端极性为正，且 {len(no_polarity)} 条线路首端无数据（{silent}）：无法选线",
        f"no head reads +1 and {len(no_polarity)} heads gave no polarity ({silent}): "
        "the feeder cannot be selected",
    )
