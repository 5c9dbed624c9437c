"""From scores to the answer a dispatcher reads: posteriors, the region the crew is sent to,
the fault time, type and phases."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.faults.kernels import Float64Array, Int64Array
from openoms.faults.likelihood import Signal
from openoms.faults.observations import NO_TIME, PHASE_NAMES, DetailColumns, Observation
from openoms.faults.result import FaultType
from openoms.faults.zones import ZoneTree

__all__ = [
    "MAX_REGION_ZONES",
    "fault_time",
    "fault_time_of",
    "fault_type",
    "fault_type_of",
    "grow_region",
    "permanence",
    "permanence_of",
]

# A region is where a crew is sent: growth stops at this many zones, and region_mass then
# says how much of the posterior it holds (an event with almost no information).
MAX_REGION_ZONES: Final = 2_000


def grow_region(
    tree: ZoneTree, scores: Float64Array, shift: float, start: int, target: float
) -> tuple[list[int], float]:
    """Greedy growth from ``start``: repeatedly add the neighbouring zone (parent or child of
    the region) with the largest posterior (ties: smaller zone id) until the mass reaches
    ``target``. Returns the zones in the order added and their mass. O(r log r) for a region
    of r zones and their neighbours.

    Why greedy: under the single-fault model the posterior falls off along the tree away from
    the end of the alarmed path (each device between costs a factor of about
    ``(1 − m) / a`` or ``(1 − a) / m``), so the mass is unimodal around the best zone and each
    step takes the largest available mass. It is exact for such unimodal posteriors; when a
    second peak hides behind a low zone (e.g. a false alarm on another branch) it can add a
    few small zones before reaching the peak: the region stays connected and holds the
    mass, but may be larger than the smallest one. A pruning pass then drops region leaves of
    smallest posterior while the mass stays at or above ``target``, which removes such
    detours (exact on the hand cases; not a guarantee of the smallest region in general).
    Growth stops at :data:`MAX_REGION_ZONES` zones (the mass returned is then below target).
    """
    ids = tree.ids
    posterior = _Posterior(scores, shift)
    region = [start]
    inside = {start}
    mass = posterior[start]
    frontier: list[tuple[float, str, int]] = []

    def push(zone: int) -> None:
        for n in (int(tree.parent[zone]), *tree.children(zone)):
            if n >= 0 and n not in inside:
                inside.add(n)
                heapq.heappush(frontier, (-posterior[n], ids[n], n))

    push(start)
    while mass < target - 1e-12 and frontier and len(region) < MAX_REGION_ZONES:
        _, _, zone = heapq.heappop(frontier)
        region.append(zone)
        mass += posterior[zone]
        push(zone)
    return _prune(tree, posterior, region, start=start, mass=mass, target=target)


class _Posterior:
    """``posterior[z] = exp(scores[z] − shift)``, computed for the zones asked about only."""

    __slots__ = ("_scores", "_shift")

    def __init__(self, scores: Float64Array, shift: float) -> None:
        self._scores = scores
        self._shift = shift

    def __getitem__(self, zone: int) -> float:
        return math.exp(float(self._scores[zone]) - self._shift)


def _prune(
    tree: ZoneTree,
    posterior: _Posterior,
    region: list[int],
    *,
    start: int,
    mass: float,
    target: float,
) -> tuple[list[int], float]:
    """Drop leaves of the region (smallest posterior first, never ``start``) while the mass
    stays at or above ``target``: undoes the detours greedy growth took to reach a peak.
    Stops at the first leaf that cannot go (no larger one could). O(r log r)."""
    kept = set(region)
    neighbours: dict[int, list[int]] = {z: [] for z in region}
    for z in region:
        parent = int(tree.parent[z])
        if parent in kept:
            neighbours[z].append(parent)
            neighbours[parent].append(z)
    leaves = [(posterior[z], tree.ids[z], z) for z in region if len(neighbours[z]) <= 1]
    heapq.heapify(leaves)
    while leaves:
        p, _, zone = heapq.heappop(leaves)
        if zone == start or zone not in kept:
            continue
        if mass - p < target - 1e-12:
            break
        kept.discard(zone)
        mass -= p
        for n in neighbours[zone]:
            if n in kept:
                neighbours[n].remove(zone)
                if len(neighbours[n]) <= 1:
                    heapq.heappush(leaves, (posterior[n], tree.ids[n], n))
    return [z for z in region if z in kept], min(mass, 1.0)


def fault_time(alarms: Sequence[Observation]) -> datetime | None:
    """The median device time tag of the consistent alarms (the lower median for an even
    count, so that it is a time some device reported); ``None`` without time tags."""
    times = sorted(o.device_time for o in alarms if o.device_time is not None)
    return times[(len(times) - 1) // 2] if times else None


def _vote(phase_sets: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    """Phases flagged by more than half of the alarms that flag any phase."""
    reporting = [set(p) for p in phase_sets if p]
    return tuple(p for p in PHASE_NAMES if 2 * sum(p in s for s in reporting) > len(reporting))


def fault_type(
    signal: Signal, alarms: Sequence[Observation], *, plain: int = 0
) -> tuple[FaultType, tuple[str, ...]]:
    """Type and phases from the consistent alarms (docs/faults.md, "Fault type"); ``plain``:
    how many more consistent alarms carry nothing but their status (they flag no phase and no
    earth fault, and count in the earth-fault majority)."""
    if signal is Signal.LOSS_OF_VOLTAGE:
        return FaultType.BROKEN_CONDUCTOR, _vote([o.loss_of_voltage_phases for o in alarms])
    if signal is Signal.EARTH_FAULT:
        phases = _vote([o.earth_fault_phases for o in alarms])
        kinds = {0: FaultType.SINGLE_PHASE_EARTH, 1: FaultType.SINGLE_PHASE_EARTH}
        kinds[2] = FaultType.TWO_PHASE_EARTH
        return kinds.get(len(phases), FaultType.UNKNOWN), phases
    phases = _vote([o.fault_phases for o in alarms])
    earth = 2 * sum(o.earth_fault for o in alarms) > len(alarms) + plain
    if len(phases) == 3:
        return FaultType.THREE_PHASE, phases
    if len(phases) == 2:
        return (FaultType.TWO_PHASE_EARTH if earth else FaultType.PHASE_TO_PHASE), phases
    if len(phases) == 1 and earth:
        return FaultType.SINGLE_PHASE_EARTH, phases
    return FaultType.UNKNOWN, phases


def permanence(reclosed: bool | None, alarms: Sequence[Observation]) -> bool | None:
    """Permanent from the reclose outcome (lockout → permanent); without one, from the
    consistent alarms' own flags (any permanent → permanent, all transient → transient)."""
    if reclosed is not None:
        return not reclosed
    flags = [o.permanent for o in alarms if o.permanent is not None]
    if not flags:
        return None
    return any(flags)


# -- the same from detail columns (the locator's: no Python step per alarm) -------------------


def fault_time_of(details: DetailColumns, rows: Int64Array) -> datetime | None:
    """:func:`fault_time` of the alarms in ``rows`` of ``details``."""
    times = details.time_us[rows]
    timed, times = rows[times != NO_TIME], times[times != NO_TIME]
    if not timed.size:
        return None
    k = (timed.size - 1) // 2  # the k-th smallest, as sorted() would place it: O(n)
    value = np.partition(times, k)[k]
    ties = timed[times == value]  # in report order, after the int(times < value) smaller
    return details.observations[int(ties[k - int(np.count_nonzero(times < value))])].device_time


def _vote_masks(masks: NDArray[np.uint8]) -> tuple[str, ...]:
    """:func:`_vote` of phase bit masks (bit 0 = A)."""
    reporting = masks[masks != 0]
    return tuple(
        p
        for bit, p in enumerate(PHASE_NAMES)
        if 2 * int(np.count_nonzero(reporting & (1 << bit))) > reporting.size
    )


def fault_type_of(
    signal: Signal, details: DetailColumns, rows: Int64Array, *, plain: int = 0
) -> tuple[FaultType, tuple[str, ...]]:
    """:func:`fault_type` of the alarms in ``rows`` of ``details`` and ``plain`` more."""
    if signal is Signal.LOSS_OF_VOLTAGE:
        return FaultType.BROKEN_CONDUCTOR, _vote_masks(details.lost_phases[rows])
    if signal is Signal.EARTH_FAULT:
        phases = _vote_masks(details.earth_fault_phases[rows])
        kinds = {0: FaultType.SINGLE_PHASE_EARTH, 1: FaultType.SINGLE_PHASE_EARTH}
        kinds[2] = FaultType.TWO_PHASE_EARTH
        return kinds.get(len(phases), FaultType.UNKNOWN), phases
    phases = _vote_masks(details.fault_phases[rows])
    earth = 2 * int(np.count_nonzero(details.earth_fault[rows])) > rows.size + plain
    if len(phases) == 3:
        return FaultType.THREE_PHASE, phases
    if len(phases) == 2:
        return (FaultType.TWO_PHASE_EARTH if earth else FaultType.PHASE_TO_PHASE), phases
    if len(phases) == 1 and earth:
        return FaultType.SINGLE_PHASE_EARTH, phases
    return FaultType.UNKNOWN, phases


def permanence_of(reclosed: bool | None, details: DetailColumns, rows: Int64Array) -> bool | None:
    """:func:`permanence` of the alarms in ``rows`` of ``details``."""
    if reclosed is not None:
        return not reclosed
    flags = details.permanent[rows]
    flags = flags[flags >= 0]
    if not flags.size:
        return None
    return bool(np.any(flags == 1))
