"""What located faults and FLISR saved, from the outage history: customer-minutes against a
patrol-only counterfactual.

Without fault location a crew that finds a tripped feeder patrols it from the device that
opened until it finds the fault, and nobody below that device gets supply back before the
fault is found (the healthy parts are switched back only once it is known which part to
isolate). With the fault located, the crew patrols the located region only, and FLISR
switches the healthy parts back before anyone finds the fault.

For each sustained fault outage of the history this module compares what happened (each
area's customers × the minutes from its loss of supply to its restoration) with the
patrol-only counterfactual, under these stated assumptions (settings, see
:class:`PatrolSettings`):

- A patrol finds the fault, on average, after ``found_fraction`` of the line it has to walk
  (0.5: the fault is equally likely anywhere along it), at ``patrol_speed_kmh``.
- Patrol-only, the line to walk is everything below the device that opened; with the fault
  located it is the located region. The difference in finding time is therefore
  ``extra = found_fraction × (patrolled_km − region_km) / patrol_speed_kmh``.
- The fault was found at the crew's confirmation when the history has one; else at the
  location message plus ``found_fraction × region_km / patrol_speed_kmh`` (from the start of
  the outage when the message's time is not known or not plausible).
- Patrol-only, every area comes back ``extra`` later than it did (its repair or switching
  waited for the fault to be found); an area that was switched back (FLISR, or switching by
  the dispatcher) comes back no earlier than the patrol-only finding time plus
  ``manual_switching_min`` (a crew operates the isolating switch by hand).

So the saving is never negative, and an outage that was never located (no location message
or no region) was patrol-only already: it saves nothing. The estimate is as good as those
assumptions: docs/reliability.md says where they come from and how to set them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from openoms.errors import InputError

__all__ = [
    "AreaInterrupted",
    "FaultHistory",
    "OutageSaving",
    "PatrolSettings",
    "SavingsTotal",
    "outage_saving",
    "savings",
]


@dataclass(frozen=True, slots=True)
class PatrolSettings:
    """The assumptions of the patrol-only counterfactual (every one a setting).

    ``patrol_speed_kmh``: 3 km/h, a crew walking a 10 kV overhead line and looking at every
    pole (an ASSUMPTION for rural lines; faster from a vehicle along a road).
    ``found_fraction``: 0.5, the fault equally likely anywhere along the line walked.
    ``manual_switching_min``: 60 min, travel to and operation of a manual switch (the
    predictive model's ``manual_switching_h``).
    """

    patrol_speed_kmh: float = 3.0
    found_fraction: float = 0.5
    manual_switching_min: float = 60.0

    def __post_init__(self) -> None:
        if not self.patrol_speed_kmh > 0:
            raise InputError(f"patrol_speed_kmh must be > 0, got {self.patrol_speed_kmh!r}")
        if not 0 < self.found_fraction <= 1:
            raise InputError(f"found_fraction must be in (0, 1], got {self.found_fraction!r}")
        if not self.manual_switching_min >= 0:
            raise InputError(f"manual_switching_min must be ≥ 0, got {self.manual_switching_min!r}")

    def patrol_minutes(self, km: float) -> float:
        """The expected minutes to find a fault on ``km`` of line."""
        return self.found_fraction * km / self.patrol_speed_kmh * 60.0


@dataclass(frozen=True, slots=True)
class AreaInterrupted:
    """A transformer area or HV customer off in the outage, and how it came back."""

    area: str
    customers: int
    off_at: datetime
    restored_at: datetime | None  # None: still off (left out of the comparison)
    by_switching: bool  # switched back (FLISR or the dispatcher), not by the repair


@dataclass(frozen=True, slots=True)
class FaultHistory:
    """One sustained fault outage of the history, as the comparison needs it."""

    outage_id: int
    feeder: str  # the feeder's name (its id when it has none)
    started_at: datetime
    located: bool  # a location message (crew SMS) named a region
    located_at: datetime | None  # when it went; None: not known or not plausible
    found_at: datetime | None  # the crew confirmed where the fault was; None: not recorded
    patrolled_km: float  # line below the device that opened: what a patrol-only crew walks
    region_km: float  # the located region's line: what the crew walked (0 when not located)
    areas: tuple[AreaInterrupted, ...]


@dataclass(frozen=True, slots=True)
class OutageSaving:
    """The comparison for one outage (minutes are customer-minutes)."""

    outage_id: int
    feeder: str
    customers: int  # customers whose restoration is known
    actual_minutes: float
    patrol_only_minutes: float
    extra_patrol_min: float  # how much later patrol-only would have found the fault
    found_estimated: bool  # no confirmation in the history: the finding time was estimated
    still_off: int  # areas without a restoration time (left out)

    @property
    def saved_minutes(self) -> float:
        return self.patrol_only_minutes - self.actual_minutes


@dataclass(frozen=True, slots=True)
class SavingsTotal:
    """The comparison over a history: totals, and per feeder (in feeder order of appearance)."""

    outages: tuple[OutageSaving, ...]
    settings: PatrolSettings
    by_feeder: dict[str, tuple[float, float]] = field(default_factory=dict)  # actual, patrol

    @property
    def actual_minutes(self) -> float:
        return sum(o.actual_minutes for o in self.outages)

    @property
    def patrol_only_minutes(self) -> float:
        return sum(o.patrol_only_minutes for o in self.outages)

    @property
    def saved_minutes(self) -> float:
        return self.patrol_only_minutes - self.actual_minutes

    @property
    def saved_share(self) -> float | None:
        """The share of the patrol-only customer-minutes saved; ``None`` with no history."""
        total = self.patrol_only_minutes
        return None if total <= 0 else self.saved_minutes / total


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


def outage_saving(history: FaultHistory, settings: PatrolSettings) -> OutageSaving:
    """The patrol-only counterfactual of one outage (the module's assumptions)."""
    if history.patrolled_km < 0 or history.region_km < 0:
        raise InputError(
            f"outage {history.outage_id}: line lengths must be ≥ 0 "
            f"(patrolled {history.patrolled_km}, region {history.region_km})"
        )
    located = history.located and history.region_km > 0
    extra = settings.patrol_minutes(max(0.0, history.patrolled_km - history.region_km))
    if history.found_at is not None:
        found, estimated = history.found_at, False
    else:
        start = history.located_at or history.started_at
        found = start + timedelta(minutes=settings.patrol_minutes(history.region_km))
        estimated = True
    found_patrol_only = found + timedelta(minutes=extra)
    switched_back_from = found_patrol_only + timedelta(minutes=settings.manual_switching_min)
    actual = patrol = 0.0
    customers = still_off = 0
    for area in history.areas:
        if area.restored_at is None:
            still_off += 1
            continue
        back = area.restored_at  # not located: it was patrol-only, nothing to compare
        if located:
            back += timedelta(minutes=extra)
            if area.by_switching:
                back = max(back, switched_back_from)
        actual += area.customers * _minutes(area.restored_at - area.off_at)
        patrol += area.customers * _minutes(back - area.off_at)
        customers += area.customers
    return OutageSaving(
        outage_id=history.outage_id,
        feeder=history.feeder,
        customers=customers,
        actual_minutes=actual,
        patrol_only_minutes=patrol,
        extra_patrol_min=extra if located else 0.0,
        found_estimated=estimated,
        still_off=still_off,
    )


def savings(histories: Iterable[FaultHistory], settings: PatrolSettings) -> SavingsTotal:
    """The comparison over every outage of ``histories``."""
    outages: Sequence[OutageSaving] = [outage_saving(h, settings) for h in histories]
    by_feeder: dict[str, tuple[float, float]] = {}
    for o in outages:
        actual, patrol = by_feeder.get(o.feeder, (0.0, 0.0))
        by_feeder[o.feeder] = (actual + o.actual_minutes, patrol + o.patrol_only_minutes)
    return SavingsTotal(outages=tuple(outages), settings=settings, by_feeder=by_feeder)
