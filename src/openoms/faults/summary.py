"""From scores to the answer a dispatcher reads: posteriors, the region the crew is sent to,
the fault time, type and phases; and that answer in words (:func:`describe`): the region or
section by the names of its poles, switches and detectors, ties, suspected faulty detectors,
local time and Chinese labels (docs/faults.md, "What the dispatcher and the crew read")."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from openoms.faults.kernels import Float64Array, Int64Array
from openoms.faults.likelihood import Signal
from openoms.faults.observations import NO_TIME, PHASE_NAMES, DetailColumns, Observation
from openoms.faults.result import FaultLocation, FaultType
from openoms.faults.zones import Zone, ZoneTree
from openoms.grid.model import ElementKind, Network
from openoms.i18n import FAULT_TYPE_NAMES, Lang, join_list

__all__ = [
    "MAX_REGION_ZONES",
    "LocationView",
    "Place",
    "Stretch",
    "describe",
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


# -- the answer in words --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A point of the line as the crew knows it: a switch, the detector on a section, or the
    last pole of a line (``line_end``). ``name`` is from the network data, the id without."""

    id: str
    name: str
    kind: str  # "switch", "detector" or "node"
    line_end: bool = False
    open: bool = False  # an open switch (a tie) where the line ends

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "line_end": self.line_end,
            "open": self.open,
        }


@dataclass(frozen=True, slots=True)
class Stretch:
    """A connected piece of line: from ``start`` (included: a fault on its branch is in the
    stretch) down every branch to ``ends``, each a boundary device (the stretch stops above
    it) or a line end; ends in network order (depth first)."""

    zones: tuple[str, ...]
    start: Place
    ends: tuple[Place, ...]
    length_km: float
    probability: float  # the posterior mass of its zones

    def as_dict(self) -> dict[str, Any]:
        return {
            "zones": list(self.zones),
            "start": self.start.as_dict(),
            "ends": [e.as_dict() for e in self.ends],
            "length_km": round(self.length_km, 3),
            "probability": self.probability,
        }


_LABELS: Final[dict[str, dict[Lang, str]]] = {
    "feeder": {Lang.ZH: "线路", Lang.EN: "Feeder"},
    "type": {Lang.ZH: "故障类型", Lang.EN: "Fault type"},
    "phases": {Lang.ZH: "相别", Lang.EN: "phases"},
    "time": {Lang.ZH: "故障时间", Lang.EN: "Fault time"},
    "permanent": {Lang.ZH: "性质", Lang.EN: "Permanent"},
    "signal": {Lang.ZH: "定位依据", Lang.EN: "Located from"},
    "reports": {Lang.ZH: "报告", Lang.EN: "Reports"},
    "alarms": {Lang.ZH: "告警设备", Lang.EN: "alarmed devices"},
    "no_data": {Lang.ZH: "无数据", Lang.EN: "no data"},
    "candidates": {Lang.ZH: "候选区段", Lang.EN: "Candidate sections"},
    "suspects": {Lang.ZH: "疑似异常指示器", Lang.EN: "Suspected faulty detectors"},
    "expected": {Lang.ZH: "应为", Lang.EN: "expected"},
    "observed": {Lang.ZH: "实为", Lang.EN: "observed"},
    "ignored": {Lang.ZH: "不在本线路的设备", Lang.EN: "Not on this feeder"},
}
SIGNAL_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "short_circuit": {Lang.ZH: "短路告警", Lang.EN: "short-circuit flags"},
    "earth_fault": {Lang.ZH: "接地告警", Lang.EN: "earth-fault flags"},
    "loss_of_voltage": {Lang.ZH: "失压", Lang.EN: "loss of voltage"},
}
PERMANENCE_NAMES: Final[dict[bool | None, dict[Lang, str]]] = {
    True: {Lang.ZH: "永久性", Lang.EN: "permanent"},
    False: {Lang.ZH: "瞬时性", Lang.EN: "transient"},
    None: {Lang.ZH: "未知", Lang.EN: "unknown"},
}
REPORT_NAMES: Final[dict[str, dict[Lang, str]]] = {  # Contradiction.expected / .observed
    "alarm": {Lang.ZH: "告警", Lang.EN: "alarm"},
    "no_alarm": {Lang.ZH: "未告警", Lang.EN: "no alarm"},
    "+1": {Lang.ZH: "正向告警", Lang.EN: "alarm, forward"},
    "-1": {Lang.ZH: "反向告警", Lang.EN: "alarm, reverse"},
    "0": {Lang.ZH: "未告警", Lang.EN: "no alarm"},
    "0/-1": {Lang.ZH: "未告警或反向", Lang.EN: "no alarm or reverse"},
}


def _percent(p: float) -> str:
    """93.16 % → ``93%``; below 1 % → ``<1%``; never ``100%`` short of certainty."""
    if p < 0.01:
        return "<1%"
    if p < 1.0 and round(p * 100) >= 100:
        return ">99%"
    return f"{p:.0%}"


@dataclass(frozen=True, slots=True)
class LocationView:
    """A :class:`~openoms.faults.result.FaultLocation` with the names of the network: what
    the dispatcher's view and the crew SMS say (:func:`describe` builds it).

    ``answer``: ``no_evidence`` (no report tells the zones apart: the fault is on the feeder,
    nothing says where), ``section`` (the best zone alone holds the target mass) or
    ``region`` (the connected zones that together hold it, ``region``). ``ties``: one
    stretch per tied zone when several zones share the best score. ``names``: detector id →
    name, for the suspected faulty detectors and the candidates.
    """

    location: FaultLocation
    feeder_name: str
    answer: str
    region: tuple[Stretch, ...]
    ties: tuple[Stretch, ...]
    names: Mapping[str, str]
    line: str  # the feeder's line name (``10kV 柏山Ⅴ线`` → ``柏山Ⅴ线``), cut from device names

    @property
    def probability(self) -> float:
        """The posterior mass of the answer: the section's, or the region's as reached."""
        return self.location.region_mass

    def name(self, detector: str) -> str:
        """The detector's (or zone's) name, the id when it has none."""
        return self.names.get(detector) or detector

    def _short(self, name: str) -> str:
        """The name without the feeder's line name it starts with (the text names the line
        once): ``柏山Ⅴ线#116重合器`` → ``#116重合器``; ``柏山Ⅴ线—柏山Ⅵ线…`` stays whole."""
        rest = name[len(self.line) :] if self.line and name.startswith(self.line) else ""
        if rest and rest[0] not in "—–-/、,，(（ ":
            return rest
        return name

    def _stretch(self, stretch: Stretch, lang: Lang) -> str:
        start = self._short(stretch.start.name)
        suffix = {
            (True, False): "（末端）" if lang is Lang.ZH else " (line end)",
            (True, True): "（断开）" if lang is Lang.ZH else " (open)",
        }
        ends = [self._short(e.name) + suffix.get((e.line_end, e.open), "") for e in stretch.ends]
        if lang is Lang.ZH:
            return f"{start}以下至{'、'.join(ends)}" if ends else f"{start}以下"
        return f"from {start} down to {', '.join(ends)}" if ends else f"from {start} down"

    def where(self, lang: Lang) -> str:
        """One line: where the crew goes and how sure, ties included (the SMS, the API)."""
        loc = self.location
        zh = lang is Lang.ZH
        if self.answer == "no_evidence":
            return (
                "无故障指示器信息，无法定位故障区段，请全线巡视"
                if zh
                else "no fault indicator information: no section located, patrol the whole feeder"
            )
        pieces = ("；" if zh else "; ").join(self._stretch(s, lang) for s in self.region)
        if self.answer == "section":
            text = (
                f"故障区段：{pieces}（概率{_percent(self.probability)}）"
                if zh
                else f"faulted section {pieces} ({_percent(self.probability)})"
            )
        else:
            if loc.region_holds_target:
                shown = "≥" + _percent(loc.region_target)
            else:  # growth stopped at its zone cap: the mass it reached
                shown = ("约" if zh else "≈") + _percent(self.probability)
            text = (
                f"故障区域（概率{shown}）：{pieces}" if zh else f"fault region ({shown}): {pieces}"
            )
        if self.ties:
            each = _percent(self.ties[0].probability)
            tied = ("；" if zh else "; ").join(self._stretch(s, lang) for s in self.ties)
            text += (
                f"；{len(self.ties)}个区段并列最可能（各{each}）：{tied}"
                if zh
                else f"; {len(self.ties)} sections tied as most likely ({each} each): {tied}"
            )
        return text

    def text(self, lang: Lang, timezone: str, *, reports: int, alarms: int) -> str:
        """The dispatcher's view: the whole answer in lines, times in ``timezone``."""
        loc = self.location
        zh = lang is Lang.ZH
        sep = "：" if zh else ": "

        def label(key: str) -> str:
            return _LABELS[key][lang]

        kind = FAULT_TYPE_NAMES[loc.fault_type.value][lang]
        if loc.phases:
            kind += f"  {label('phases')}{sep}{''.join(loc.phases)}"
        lines = [
            f"{label('feeder')}{sep}{self.feeder_name} ({loc.feeder})",
            f"{label('type')}{sep}{kind}",
            f"{label('time')}{sep}{local_time(loc.fault_time, timezone)}",
            f"{label('permanent')}{sep}{PERMANENCE_NAMES[loc.permanent][lang]}",
            f"{label('signal')}{sep}{SIGNAL_NAMES.get(loc.signal, {}).get(lang, loc.signal)}",
            f"{label('reports')}{sep}{reports}, {label('alarms')}{sep}{alarms}, "
            f"{label('no_data')}{sep}{loc.devices_no_data}",
            "",
            ("派往" if zh else "Send the crew: ") + self.where(lang),
        ]
        for stretch in self.region if self.answer != "no_evidence" else ():
            zones = join_list([f"{self.name(z)} ({z})" for z in stretch.zones], lang)
            lines.append(f"  {'包含区段' if zh else 'zones'}{sep}{zones}")
        if self.answer != "no_evidence":
            lines += ["", f"{label('candidates')}{sep.strip()}"]
            for rank, c in enumerate(loc.candidates[:10], start=1):
                tied = len(loc.ties) > 1 and c.zone in loc.ties
                mark = (" =" if tied else " *") if c.zone in loc.best or tied else ""
                lines.append(
                    f"  {rank:2d}. {self.name(c.zone)} ({c.zone})  {c.posterior:.2%}{mark}"
                )
            if len(loc.ties) > 1:
                lines.append("  = " + ("并列最可能" if zh else "tied as most likely"))
        if loc.contradictions:
            lines += ["", f"{label('suspects')}{sep.strip()}"]
            for bad in loc.contradictions:
                expected = REPORT_NAMES.get(bad.expected, {}).get(lang, bad.expected)
                observed = REPORT_NAMES.get(bad.observed, {}).get(lang, bad.observed)
                lines.append(
                    f"  {self.name(bad.detector)} ({bad.detector}){sep}{label('expected')} "
                    f"{expected}, {label('observed')} {observed}"
                )
        if loc.ignored:
            ignored = ", ".join(f"{self.name(d)} ({d})" for d in loc.ignored)
            lines.append(f"{label('ignored')}{sep}{ignored}")
        return "\n".join(lines)

    def as_dict(self, timezone: str) -> dict[str, Any]:
        """JSON-ready (the API's ``where``): the structure and the texts in both languages."""
        loc = self.location
        local = loc.fault_time.astimezone(ZoneInfo(timezone)) if loc.fault_time else None
        return {
            "answer": self.answer,
            "feeder": loc.feeder,
            "feeder_name": self.feeder_name,
            "probability": self.probability,
            "target": loc.region_target,
            "reaches_target": loc.region_holds_target,
            "region": [s.as_dict() for s in self.region],
            "ties": [s.as_dict() for s in self.ties],
            "contradictions": [
                {
                    "detector": c.detector,
                    "name": self.name(c.detector),
                    "expected": c.expected,
                    "observed": c.observed,
                }
                for c in loc.contradictions
            ],
            "fault_time_local": local.isoformat() if local else None,
            "fault_type_name": {
                lang.value: FAULT_TYPE_NAMES[loc.fault_type.value][lang] for lang in Lang
            },
            "text": {lang.value: self.where(lang) for lang in Lang},
            "summary": {
                lang.value: f"{self.feeder_name}{'：' if lang is Lang.ZH else ': '}"
                f"{self.where(lang)}"
                for lang in Lang
            },
        }


def local_time(at: datetime | None, timezone: str) -> str:
    """``2025-11-28 09:52:02 (Asia/Shanghai)`` for the dispatcher; ``-`` without a time."""
    if at is None:
        return "-"
    return f"{at.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M:%S} ({timezone})"


def _names(network: Network, zones: Sequence[Zone]) -> dict[str, str]:
    det = network.detectors
    out: dict[str, str] = {}
    for zone in zones:
        for d in zone.detectors or (zone.detector,):
            if d in network and network.locate(d)[0] is ElementKind.DETECTOR:
                out[d] = det.name[network.locate(d)[1]] or ""
        if zone.id not in out:  # an implicit root zone: its head branch
            out[zone.id] = _branch_name(network, zone.upstream_device)
    return out


def _branch_name(network: Network, edge_id: str) -> str:
    kind, index = network.locate(edge_id)
    table = network.switches if kind is ElementKind.SWITCH else network.sections
    return table.name[index] or edge_id


def _entry(network: Network, zone: Zone) -> Place:
    """Where a zone starts, as the crew finds it: the switch its detector sits on, or the
    detector on a section (its plate names the pole)."""
    if network.locate(zone.upstream_device)[0] is ElementKind.SWITCH or zone.implicit:
        return Place(zone.upstream_device, _branch_name(network, zone.upstream_device), "switch")
    detector = zone.detectors[0] if zone.detectors else zone.detector
    name = network.detectors.name[network.locate(detector)[1]] if detector in network else ""
    return Place(detector, name or _branch_name(network, zone.upstream_device), "detector")


def _ends(
    network: Network,
    by_id: Mapping[str, Zone],
    children: Mapping[str, Sequence[Zone]],
    piece: Sequence[str],
    open_switch_at: Callable[[int], str | None],
) -> list[Place]:
    """The places a connected set of zones (``piece``, its top first) ends at, depth first:
    the entries of the child zones outside it and the line ends inside it."""
    inside = set(piece)
    graph = network.graph_arrays()
    ends_of: dict[int, list[int]] = {}  # node -> [edge] over the piece's edges
    edge_of_id: dict[int, str] = {}
    for zone_id in piece:
        for edge_id in by_id[zone_id].edges:
            e = network.edge_index(edge_id)
            if e is None:
                continue
            edge_of_id[e] = edge_id
            for node in (int(graph.edge_from[e]), int(graph.edge_to[e])):
                ends_of.setdefault(node, []).append(e)
    boundary: dict[int, list[Zone]] = {}  # node -> child zones outside starting there
    for zone_id in piece:
        for child in children.get(zone_id, ()):
            if child.id not in inside:
                e = network.edge_index(child.upstream_device)
                if e is None:
                    continue
                for node in (int(graph.edge_from[e]), int(graph.edge_to[e])):
                    if node in ends_of:
                        boundary.setdefault(node, []).append(child)
    top = network.edge_index(by_id[piece[0]].upstream_device)
    if top is None:
        return []
    a, b = int(graph.edge_from[top]), int(graph.edge_to[top])
    # the upper node of the top branch touches no other edge of its zone (docs: Zones)
    own = {network.edge_index(x) for x in by_id[piece[0]].edges}
    a_alone = all(e == top or e not in own for e in ends_of.get(a, []))
    b_alone = all(e == top or e not in own for e in ends_of.get(b, []))
    lower = b if a_alone and not b_alone else a if b_alone and not a_alone else b
    if a_alone and b_alone and by_id[piece[0]].downstream_devices:  # one-branch zone
        first_child = network.edge_index(by_id[piece[0]].downstream_devices[0])
        if first_child is not None and a in (
            int(graph.edge_from[first_child]),
            int(graph.edge_to[first_child]),
        ):
            lower = a
    out: list[Place] = []
    seen = {top}
    stack: list[tuple[int, int]] = [(lower, top)]
    while stack:
        node, came = stack.pop()
        onward = [e for e in ends_of.get(node, []) if e not in seen]
        stops = boundary.get(node, [])
        for child in stops:
            out.append(_entry(network, child))
        if not onward and not stops:
            if network.is_switch_edge(came) and came != top:
                index = network.locate(edge_of_id[came])[1]
                name = network.switches.name[index] or edge_of_id[came]
                out.append(Place(edge_of_id[came], name, "switch", line_end=True))
            elif (tie := open_switch_at(node)) is not None:  # a line ends at an open switch
                name = network.switches.name[network.locate(tie)[1]] or tie
                out.append(Place(tie, name, "switch", line_end=True, open=True))
            else:
                node_name = network.nodes.name[node] or network.nodes.id[node]
                out.append(Place(network.nodes.id[node], node_name, "node", line_end=True))
        for e in reversed(onward):
            seen.add(e)
            other = (
                int(graph.edge_to[e])
                if int(graph.edge_from[e]) == node
                else int(graph.edge_from[e])
            )
            stack.append((other, e))
    return out


def _pieces(
    by_id: Mapping[str, Zone], order: Sequence[str], zones: Sequence[str]
) -> list[list[str]]:
    """``zones`` as connected pieces, each in pre-order with its top first."""
    inside = set(zones)
    pieces: list[list[str]] = []
    top_of: dict[str, int] = {}
    for zone_id in order:
        if zone_id not in inside:
            continue
        parent = by_id[zone_id].parent
        if parent is not None and parent in top_of:
            top_of[zone_id] = top_of[parent]
            pieces[top_of[zone_id]].append(zone_id)
        else:
            top_of[zone_id] = len(pieces)
            pieces.append([zone_id])
    return pieces


def describe(network: Network, zones: Sequence[Zone], location: FaultLocation) -> LocationView:
    """The answer with the names of the network. ``zones``: the feeder's zones as operated at
    the fault (:meth:`~openoms.faults.FaultLocator.zones_of_feeder`). O(zones of the feeder
    + edges of the region and ties)."""
    by_id = {z.id: z for z in zones}
    order = [z.id for z in zones]
    children: dict[str, list[Zone]] = {}
    for z in zones:
        if z.parent is not None:
            children.setdefault(z.parent, []).append(z)
    posterior = {c.zone: c.posterior for c in location.candidates}
    feeder_name = location.feeder
    if location.feeder in network:
        feeder_name = network.feeders.name[network.locate(location.feeder)[1]] or feeder_name
    line = feeder_name.removeprefix("10kV").strip()
    feeder_edges: set[str] = set()

    def open_switch_at(node: int) -> str | None:
        """A switch at ``node`` outside the feeder's tree (an open switch, a tie)."""
        if not feeder_edges:
            feeder_edges.update(e for z in zones for e in z.edges)
        sw = network.switches
        at = np.flatnonzero((sw.from_node == node) | (sw.to_node == node)).tolist()
        return next((sw.id[i] for i in at if sw.id[i] not in feeder_edges), None)

    def stretches(zone_ids: Sequence[str]) -> tuple[Stretch, ...]:
        known = [z for z in zone_ids if z in by_id]
        return tuple(
            Stretch(
                zones=tuple(piece),
                start=_entry(network, by_id[piece[0]]),
                ends=tuple(_ends(network, by_id, children, piece, open_switch_at)),
                length_km=sum(by_id[z].length_km for z in piece),
                probability=min(1.0, sum(posterior.get(z, 0.0) for z in piece)),
            )
            for piece in _pieces(by_id, order, known)
        )

    if not location.has_evidence or not location.best:
        answer = "no_evidence"
    elif location.single_section:
        answer = "section"
    else:
        answer = "region"
    region = stretches(location.region) if answer != "no_evidence" else ()
    ties: tuple[Stretch, ...] = ()
    if location.tied and answer != "no_evidence":
        ties = tuple(s for t in location.ties for s in stretches([t]))
    return LocationView(
        location=location,
        feeder_name=feeder_name,
        answer=answer,
        region=region,
        ties=ties,
        names=_names(network, zones),
        line=line,
    )
