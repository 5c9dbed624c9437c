"""The reports of one event placed on a feeder's zone tree, as arrays.

Reports come as :class:`~openoms.faults.observations.ObservationColumns` (detector indexes and
status codes, the full observation only where it says more), as any other sequence of
:class:`~openoms.faults.observations.Observation` (read into the same columns by C-level
passes, about half a microsecond a report) or as bare arrays (:func:`gather_status`). From the
columns one compiled pass (:func:`~openoms.faults.kernels.place_reports`) checks them and
places each on the tree with its plain-report weight; the detailed alarms (phases, flags,
directions: :class:`~openoms.faults.observations.DetailColumns`) are then read by array
operations over them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.faults.kernels import (
    Float64Array,
    Int64Array,
    contradicting,
    mark_paths,
    place_reports,
    runs_compiled,
)
from openoms.faults.likelihood import (
    ALARM,
    MINUS,
    MIXED,
    NONE,
    PLUS,
    QUIET,
    Signal,
    contradiction_mask,
    displayed,
    weights,
)
from openoms.faults.observations import (
    DetailColumns,
    InvalidObservationError,
    Observation,
    ObservationColumns,
    Status,
)
from openoms.faults.result import Contradiction
from openoms.faults.zones import ZoneTree

__all__ = [
    "DeviceTable",
    "Evidence",
    "TreeDevices",
    "Workspace",
    "check",
    "expected_reports",
    "gather",
    "gather_status",
    "tree_devices",
]

_STATUS_CODE: Final = {Status.ALARM: ALARM, Status.NO_ALARM: QUIET, Status.NO_DATA: NONE}
_BAD: Final = 9  # a status that is not a Status
_DETECTOR: Final = attrgetter("detector")
_STATUS: Final = attrgetter("status")
_EXTRAS: Final = attrgetter(
    "device_time",
    "fault_phases",
    "earth_fault",
    "earth_fault_phases",
    "loss_of_voltage_phases",
    "direction",
    "permanent",
)
_PLAIN: Final = (None, (), False, (), (), None, None)  # what a bare status carries
_MODE: Final = {Signal.SHORT_CIRCUIT: 0, Signal.EARTH_FAULT: 1, Signal.LOSS_OF_VOLTAGE: 2}
_NO_DETAIL_AT: Final = np.empty(0, dtype=np.int64)
_NO_DETAILS: Final = DetailColumns.of(())
_POOL: Final = 4  # workspaces kept per tree (one per thread locating on it at once)


@dataclass(frozen=True, slots=True, eq=False)
class DeviceTable:
    """Per detector of the network: index by id, rates, directional flag."""

    index: Mapping[str, int]
    ids: Sequence[str]
    false_alarm: Float64Array
    miss: Float64Array
    direction_error: Float64Array
    directional: NDArray[np.bool_]
    relay: tuple[float, float, float]  # rates of the implicit head breaker's protection
    w_alarm: Float64Array  # per detector: ln((1 − m)/a), an alarm against "off" = 0
    w_quiet: Float64Array  # per detector: ln(m/(1 − a)), a no-alarm against "off" = 0


@dataclass(frozen=True, slots=True, eq=False)
class TreeDevices:
    """The detectors on one zone tree in zone order ("slots"), with what placing a report
    needs: reports listed in zone order (as a feeder's detectors are) read these arrays in
    order rather than all over the network's detector table."""

    slot_of_detector: NDArray[np.int32]  # per detector of the network, -1 if not on the tree
    detector: Int64Array  # per slot: its detector (the inverse)
    zone: Int64Array  # per slot
    w_alarm: Float64Array
    w_quiet: Float64Array
    directional: NDArray[np.bool_]
    # scratch for placing an event's reports, kept between events (see Workspace)
    workspaces: list[Workspace] = field(default_factory=list)

    def workspace(self, n_reports: int) -> Workspace:
        """A workspace for ``n_reports`` reports on this tree, from the pool when one fits
        (give it back with :meth:`release` once nothing refers to its arrays)."""
        try:
            work = self.workspaces.pop()  # (atomic: threads each get their own)
        except IndexError:
            return Workspace(n_reports, self.slot_of_detector.shape[0], self.zone.shape[0])
        return work if work.reports >= n_reports else Workspace(n_reports, *work.sizes[1:])

    def release(self, work: Workspace) -> None:
        if len(self.workspaces) < _POOL:
            self.workspaces.append(work)


class Workspace:
    """The arrays :func:`_place` fills for one event, made once and reused: on a feeder of a
    million zones they are tens of megabytes, and fresh ones cost their page faults again at
    every event (several milliseconds, more than the work itself). The marks are zeros between
    uses; the rest is overwritten."""

    __slots__ = (
        "codes",
        "directional",
        "ignored",
        "out",
        "scores",
        "seen",
        "seen_slot",
        "weight",
        "zone_weight",
    )

    def __init__(self, n_reports: int, n_detectors: int, n_slots: int) -> None:
        rows = n_reports + 1  # a row more: the implicit head breaker's alarm
        self.out = np.empty((2, rows), dtype=np.int64)
        self.codes = np.empty((2, rows), dtype=np.int8)
        self.weight = np.empty(rows, dtype=np.float64)
        self.directional = np.empty(rows, dtype=np.bool_)
        self.ignored = np.empty(n_reports, dtype=np.int64)
        self.seen = np.zeros(n_detectors, dtype=np.uint8)
        self.seen_slot = np.zeros(n_slots, dtype=np.uint8)
        self.zone_weight: Float64Array | None = None  # per zone, made at the first use
        self.scores: Float64Array | None = None

    def zone_arrays(self, n_zones: int) -> tuple[Float64Array, Float64Array]:
        """Two arrays of one float per zone: the weights, the scores."""
        if self.zone_weight is None or self.zone_weight.shape[0] != n_zones:
            self.zone_weight = np.empty(n_zones, dtype=np.float64)
            self.scores = np.empty(n_zones, dtype=np.float64)
        assert self.scores is not None
        return self.zone_weight, self.scores

    @property
    def reports(self) -> int:
        return self.ignored.shape[0]

    @property
    def sizes(self) -> tuple[int, int, int]:
        return self.reports, self.seen.shape[0], self.seen_slot.shape[0]


def tree_devices(devices: DeviceTable, tree: ZoneTree) -> TreeDevices:
    """The slots of ``tree``'s detectors. O(detectors of the network + of the tree · log)."""
    on = np.flatnonzero(tree.zone_of_detector >= 0)
    order = on[np.argsort(tree.zone_of_detector[on], kind="stable")]
    slot = np.full(tree.zone_of_detector.shape[0], -1, dtype=np.int32)
    slot[order] = np.arange(order.size, dtype=np.int32)
    return TreeDevices(
        slot_of_detector=slot,
        detector=order.astype(np.int64),
        zone=tree.zone_of_detector[order],
        w_alarm=devices.w_alarm[order],
        w_quiet=devices.w_quiet[order],
        directional=devices.directional[order],
    )


def _weights(
    devices: DeviceTable,
    det: Int64Array,
    observed: NDArray[np.int8],
    off: NDArray[np.int8],
    rates: tuple[Float64Array, Float64Array, Float64Array],
    *,
    q: Float64Array | None = None,
) -> Float64Array:
    """:func:`~openoms.faults.likelihood.weights`, from the per-detector tables where the
    report is a plain alarm / no-alarm (the bulk of them), the full model elsewhere; ``q``
    per report: the probability of −1 where ``off`` is MIXED."""
    weight = np.zeros(det.shape, dtype=np.float64)
    plain = observed <= ALARM
    tabled = plain & (off == QUIET) & (det >= 0)
    rows = det[tabled]
    weight[tabled] = np.where(
        observed[tabled] == ALARM, devices.w_alarm[rows], devices.w_quiet[rows]
    )
    rest = ~tabled & ~(plain & (off == MINUS))  # a plain report against −1 weighs 0
    if rest.any():
        a, m, d = rates
        weight[rest] = weights(
            observed[rest], off[rest], a[rest], m[rest], d[rest], q=None if q is None else q[rest]
        )
    return weight


@dataclass(frozen=True, slots=True, eq=False)
class Evidence:
    """Reports with data on the tree: detector (-1 for the implicit head breaker), zone,
    observed code, the "off" expectation (QUIET, MINUS, or MIXED where distributed generation
    below feeds detectable current with a probability below 1), directional flag, weight; which of
    them are alarms carrying nothing but their status (``plain_alarm``) and, for the other
    alarms, their rows in the event's detail columns (``detail_of``, at the reports
    ``detail_rows``, in report order; the columns are ``details``)."""

    signal: Signal
    detector: Int64Array
    zone: Int64Array
    observed: NDArray[np.int8]
    off: NDArray[np.int8]
    directional: NDArray[np.bool_]
    weight: Float64Array
    ignored: tuple[str, ...]
    no_data: int
    plain_alarm: NDArray[np.bool_]  # per report: an alarm with nothing but its status
    detail_rows: Int64Array  # the reports that are detailed alarms, ascending
    detail_of: Int64Array  # and their rows in ``details``
    details: DetailColumns

    @property
    def reports_used(self) -> int:
        """The reports of detectors (the implicit head breaker's alarm, -1, is the last)."""
        n = int(self.detector.shape[0])
        return n - 1 if n and self.detector[n - 1] < 0 else n

    @property
    def detail_alarm(self) -> Int64Array:
        """Per report: its row in ``details`` if a detailed alarm, else -1."""
        rows = np.full(self.detector.shape[0], -1, dtype=np.int64)
        rows[self.detail_rows] = self.detail_of
        return rows


@dataclass(frozen=True, slots=True, eq=False)
class _Reports:
    """One event's reports as columns: detector index (-1: not a detector of the network),
    status code (``_BAD``: not a status), the positions of the reports that say more than
    their status and what they say (row ``r`` of ``details`` is position ``detail_at[r]``),
    and the detector id of a report (for messages)."""

    det: Int64Array
    status: NDArray[np.int8]
    detail_at: Int64Array
    details: DetailColumns
    id_of: Callable[[int], str]

    @classmethod
    def of(cls, devices: DeviceTable, observations: Sequence[Observation]) -> _Reports:
        if isinstance(observations, ObservationColumns):
            table = observations.table
            det = observations.detector_index
            if table is not devices.ids:  # another network's table: by id
                known = np.fromiter(
                    map(devices.index.get, table, repeat(-1)), dtype=np.int64, count=len(table)
                )
                det = known[det]
            index = observations.detector_index
            detail_at, details = observations.detail_columns
            return cls(
                det,
                observations.status_codes,
                detail_at,
                details,
                lambda i: table[int(index[i])],
            )
        n = len(observations)
        # C-level passes (map, attrgetter, dict.get): about 0.5 µs per report
        ids = list(map(_DETECTOR, observations))
        det = np.fromiter(map(devices.index.get, ids, repeat(-1)), dtype=np.int64, count=n)
        status = np.fromiter(
            map(_STATUS_CODE.get, map(_STATUS, observations), repeat(_BAD)),
            dtype=np.int8,
            count=n,
        )
        plain = np.fromiter(map(_PLAIN.__eq__, map(_EXTRAS, observations)), np.bool_, count=n)
        rich = np.flatnonzero(~plain | (status == _BAD))
        details = DetailColumns.of([observations[i] for i in rich.tolist()])
        return cls(det, status, rich, details, ids.__getitem__)

    def problems(self) -> list[str]:
        """Every bad observation, then every id that is not a detector (the duplicates are
        found by the pass that places the reports)."""
        problems: list[str] = []
        for row, found in sorted(self.details.problems.items()):
            problems += [f"observations[{self.detail_at[row]}]: {p}" for p in found]
        for i in np.flatnonzero(self.det < 0).tolist():
            problems.append(f"observations[{i}]: {self.id_of(i)!r} is not a detector")
        return problems

    def duplicates(self) -> list[str]:
        counts = Counter(map(self.id_of, range(self.det.shape[0])))
        twice = sorted(k for k, c in counts.items() if c > 1)
        return [f"observations: detectors reported more than once: {twice}"] if twice else []


def gather(
    devices: DeviceTable,
    tree: ZoneTree,
    slots: TreeDevices,
    observations: Sequence[Observation],
    *,
    trip_seen: bool,
    work: Workspace | None = None,
) -> Evidence:
    """Check the observations (raising :class:`InvalidObservationError` naming every bad
    one) and place those with data on ``tree`` (whose detectors are ``slots``). ``work``: the
    arrays to fill (the evidence's arrays are then views of them), else fresh ones."""
    reports = _Reports.of(devices, observations)
    if reports.details.problems:
        raise InvalidObservationError(reports.problems() + reports.duplicates())

    def every_problem() -> list[str]:
        """(the ids that are not detectors stop the pass: then the whole list is made)"""
        problems = reports.problems()
        return problems + reports.duplicates() if problems else []

    def twice(_: int) -> str:
        return reports.duplicates()[0]

    return _place(
        devices,
        tree,
        slots,
        reports,
        trip_seen=trip_seen,
        twice=twice,
        work=work,
        problems=every_problem,
    )


def gather_status(
    devices: DeviceTable,
    tree: ZoneTree,
    slots: TreeDevices,
    detectors: Int64Array,
    status: NDArray[np.int8],
    *,
    trip_seen: bool,
    work: Workspace | None = None,
) -> Evidence:
    """:func:`gather` for arrays of detector indexes and statuses (1 alarm, 0 no alarm, -1 no
    data): short-circuit reports without direction, time tags or phases. O(reports), compiled."""
    det = np.asarray(detectors)
    codes = np.asarray(status)
    if (
        det.ndim != 1
        or codes.shape != det.shape
        or (det.size and det.dtype.kind not in "iu")
        or (codes.size and codes.dtype.kind not in "iu")
    ):
        raise InvalidObservationError(
            [
                f"detectors and status must be 1-D arrays of one length, got {det.shape} "
                f"{det.dtype} and {codes.shape} {codes.dtype}"
            ]
        )
    if codes.dtype != np.int8 and codes.size and (codes.min() < NONE or codes.max() > ALARM):
        position = int(np.flatnonzero((codes < NONE) | (codes > ALARM))[0])
        raise InvalidObservationError([f"status[{position}] = {codes[position]} is not 1, 0 or -1"])
    det = det.astype(np.int64, copy=False)
    reports = _Reports(
        det,
        codes.astype(np.int8, copy=False),
        _NO_DETAIL_AT,
        _NO_DETAILS,
        lambda i: devices.ids[int(det[i])],
    )

    def twice(position: int) -> str:
        return f"detectors reported more than once: [{devices.ids[int(det[position])]!r}]"

    return _place(devices, tree, slots, reports, trip_seen=trip_seen, twice=twice, work=work)


def _place(
    devices: DeviceTable,
    tree: ZoneTree,
    slots: TreeDevices,
    reports: _Reports,
    *,
    trip_seen: bool,
    twice: Callable[[int], str],
    work: Workspace | None = None,
    problems: Callable[[], list[str]] | None = None,
) -> Evidence:
    """The checked reports on the tree: the signal, one compiled pass for every report, then
    the detailed alarms by the full observation model (array operations over them). The
    arrays are ``work``'s when given (large enough for the reports), else fresh. When the
    pass stops at a bad report, ``problems()`` (if given and not empty) is the error raised."""
    det, status, details = reports.det, reports.status, reports.details
    n = det.shape[0]
    slot_of = slots.slot_of_detector
    # the detailed alarms on the tree (rows of the details), and the signal: a short circuit
    # when a plain alarm is on the tree (it flags nothing else), else what the detailed ones
    # flag (likelihood.event_signal)
    at = reports.detail_at
    rich = np.flatnonzero(details.status == ALARM)
    rich = rich[slot_of[det[at[rich]]] >= 0]
    plain = np.flatnonzero(status == ALARM)  # the plain alarms; then those on the tree
    if at.size and plain.size:
        plain = plain[~np.isin(plain, at)]
    alarmed = det[plain]
    alarmed = alarmed[(alarmed >= 0) & (alarmed < slot_of.shape[0])]  # (bad ones: see below)
    if alarmed.size and bool(np.any(slot_of[alarmed] >= 0)):
        signal = Signal.SHORT_CIRCUIT
    else:
        signal = _signal(details, rich)
    if work is None:
        work = Workspace(n, slot_of.shape[0], slots.zone.shape[0])
    out, codes = work.out[:, : n + 1], work.codes[:, : n + 1]
    weight, directional = work.weight[: n + 1], work.directional[: n + 1]
    ignored_at = work.ignored[:n]
    seen, seen_slot = work.seen, work.seen_slot
    kept, error, position, n_ignored = place_reports(
        det,
        status,
        slot_of,
        slots.detector,
        slots.zone,
        slots.w_alarm,
        slots.w_quiet,
        slots.directional,
        tree.source_below,
        _MODE[signal],
        seen,
        seen_slot,
        out,
        codes,
        weight,
        directional,
        ignored_at,
    )
    seen_slot.fill(0)  # the marks back to zeros
    if error:
        seen.fill(0)
    else:
        seen[det[ignored_at[:n_ignored]]] = 0
    if error:
        found = problems() if problems is not None else []
        if found:
            raise InvalidObservationError(found)
        n_detectors = slot_of.shape[0]
        if error == 1:
            message = f"detectors[{position}] = {det[position]} is outside 0..{n_detectors - 1}"
        elif error == 2:
            message = f"status[{position}] = {status[position]} is not 1, 0 or -1"
        else:
            message = twice(position)
        raise InvalidObservationError([message])
    ignored = tuple(map(reports.id_of, ignored_at[:n_ignored].tolist()))
    relay_row = tree.implicit_root and trip_seen and signal is Signal.SHORT_CIRCUIT
    end = kept + relay_row  # (the workspace has a row more than the reports for it)
    det_k, zone = out[0, :end], out[1, :end]
    observed, off = codes[0, :end], codes[1, :end]
    weight, directional = weight[:end], directional[:end]
    placed = (det_k[:kept], zone[:kept], observed[:kept], off[:kept], weight[:kept])
    q = _mixed_off(devices, tree, signal, reports=placed)
    plain_alarm = observed == ALARM
    detail_rows, detail_of = _NO_DETAIL_AT, _NO_DETAIL_AT
    if rich.size:  # the detailed alarms: their code for the signal, weighed by the full model
        # a report's row: its position less the reports before it not placed (no data, or
        # not on the tree)
        placed_at = at[rich]
        skipped = np.union1d(np.flatnonzero(status < 0), ignored_at[:n_ignored])
        rows = placed_at - np.searchsorted(skipped, placed_at)
        plain_alarm[rows] = False
        detail_rows, detail_of = rows, rich
        if rows.size > 1 and bool(np.any(rows[1:] < rows[:-1])):  # in report order
            by_row = np.argsort(rows)
            detail_rows, detail_of = rows[by_row], rich[by_row]
        code = _hit(details, rich, signal, directional[rows])
        rows = rows[code != ALARM]  # (read as a plain alarm: the pass weighed it already)
        if rows.size:
            observed[rows] = code[code != ALARM]
            d = det_k[rows]
            weight[rows] = _weights(
                devices,
                d,
                observed[rows],
                off[rows],
                (devices.false_alarm[d], devices.miss[d], devices.direction_error[d]),
                q=None if q is None else q[rows],
            )
    if relay_row:  # the implicit head breaker's alarm, last
        relay = tuple(np.array([r]) for r in devices.relay)
        det_k[kept], zone[kept], directional[kept], plain_alarm[kept] = -1, 0, False, False
        observed[kept], off[kept] = ALARM, QUIET
        weight[kept] = weights(observed[kept:], off[kept:], *relay)[0]
    return Evidence(
        signal=signal,
        detector=det_k,
        zone=zone,
        observed=observed,
        off=off,
        directional=directional,
        weight=weight,
        ignored=ignored,
        no_data=tree.n_devices - kept,
        plain_alarm=plain_alarm,
        detail_rows=detail_rows,
        detail_of=detail_of,
        details=details,
    )


def _mixed_off(
    devices: DeviceTable,
    tree: ZoneTree,
    signal: Signal,
    *,
    reports: tuple[Int64Array, Int64Array, NDArray[np.int8], NDArray[np.int8], Float64Array],
) -> Float64Array | None:
    """Short circuits with distributed generation below a device that feeds detectable current
    with probability 0 < q < 1: its "off" expectation is the mixture MIXED ("−1" with
    probability q, else "0"), weighed by the full model. ``reports``: detector, zone,
    observed, off and weight per report (off and weight are updated in place). Returns q
    per report, ``None`` when it is 0 for every one."""
    det, zone, observed, off, weight = reports
    if signal is not Signal.SHORT_CIRCUIT or not tree.source_below.any():
        return None
    q: Float64Array = tree.source_probability[zone]
    rows = np.flatnonzero((q > 0.0) & (q < 1.0))
    if rows.size:
        off[rows] = MIXED
        d = det[rows]
        weight[rows] = weights(
            observed[rows],
            off[rows],
            devices.false_alarm[d],
            devices.miss[d],
            devices.direction_error[d],
            q=q[rows],
        )
    return q


def _flags(details: DetailColumns, rows: Int64Array) -> tuple[NDArray[np.bool_], ...]:
    """Per row: short-circuit phases, earth fault, lost phases."""
    return (
        details.fault_phases[rows] != 0,
        details.earth_fault[rows],
        details.lost_phases[rows] != 0,
    )


def _signal(details: DetailColumns, rows: Int64Array) -> Signal:
    """:func:`~openoms.faults.likelihood.event_signal` of the alarms in ``rows``."""
    phases, earth, lost = _flags(details, rows)
    if np.any(phases | ~(earth | lost)):
        return Signal.SHORT_CIRCUIT
    if np.any(earth):
        return Signal.EARTH_FAULT
    return Signal.LOSS_OF_VOLTAGE if rows.size else Signal.SHORT_CIRCUIT


def _hit(
    details: DetailColumns, rows: Int64Array, signal: Signal, directional: NDArray[np.bool_]
) -> NDArray[np.int8]:
    """:func:`~openoms.faults.likelihood.hit` of the alarms in ``rows``."""
    phases, earth, lost = _flags(details, rows)
    if signal is Signal.SHORT_CIRCUIT:
        flagged = phases | ~(earth | lost)
    elif signal is Signal.EARTH_FAULT:
        flagged = earth
    else:
        flagged = lost
    direction = details.direction[rows]
    directed = directional & (signal is not Signal.LOSS_OF_VOLTAGE) & (direction != 0)
    code = np.where(directed, np.where(direction > 0, PLUS, MINUS), ALARM)
    out: NDArray[np.int8] = np.where(flagged, code, QUIET).astype(np.int8)
    return out


def _on_zone(tree: ZoneTree, ev: Evidence, faults: Sequence[int]) -> NDArray[np.bool_]:
    """Per zone: whether its devices should read +1 if the faults are in zones ``faults``."""
    on_zone = np.zeros(tree.n_zones, dtype=np.bool_)
    if ev.signal is Signal.LOSS_OF_VOLTAGE:  # the devices strictly below the break
        for f in faults:
            on_zone[f + 1 : f + int(tree.size[f])] = True
    else:  # the devices above the faults: the paths to the root
        mark_paths(tree.parent, list(faults), on_zone)
    return on_zone


def expected_reports(tree: ZoneTree, ev: Evidence, faults: Sequence[int]) -> NDArray[np.int8]:
    """What each report of ``ev`` should read if the faults are in zones ``faults``: PLUS for
    devices above a fault (below a break, for loss of voltage), else their "off" code."""
    on_zone = _on_zone(tree, ev, faults)
    expected: NDArray[np.int8] = np.where(on_zone[ev.zone], np.int8(PLUS), ev.off).astype(np.int8)
    return expected


def _contradicts_every_tie(tree: ZoneTree, ev: Evidence, ties: Int64Array) -> NDArray[np.bool_]:
    """Per report: whether it contradicts the single-fault hypothesis of every zone in
    ``ties``. A report reads PLUS under the hypotheses "fault in t" for t below its zone
    (strictly above the break for loss of voltage) and its "off" code under the others, so it
    contradicts every tie when it contradicts each of the two readings that some tie gives
    it. O(zones + reports) with prefix sums over the pre-order."""
    ties = np.unique(ties)
    tied = np.zeros(tree.n_zones + 1, dtype=np.int64)
    if ev.signal is Signal.LOSS_OF_VOLTAGE:  # on for zones strictly below a tied break
        np.add.at(tied, ties + 1, 1)
        np.add.at(tied, ties + tree.size[ties], -1)
        on = np.cumsum(tied)[:-1][ev.zone]
    else:  # on for the reports on the path of a tied zone: ties inside the report's subtree
        tied[1:] = np.cumsum(np.bincount(ties, minlength=tree.n_zones))
        on = tied[ev.zone + tree.size[ev.zone]] - tied[ev.zone]
    plus = np.full(ev.observed.shape, PLUS, dtype=np.int8)
    bad_on = contradiction_mask(ev.observed, plus)
    bad_off = contradiction_mask(ev.observed, ev.off)
    mask: NDArray[np.bool_] = ((on == 0) | bad_on) & ((on == ties.size) | bad_off)
    return mask


def check(
    ids: Sequence[str],
    tree: ZoneTree,
    ev: Evidence,
    faults: Sequence[int],
    *,
    ties: Int64Array | None = None,
) -> tuple[list[Contradiction], Int64Array, int]:
    """Devices contradicting the hypothesis ``faults`` (sorted by id), the consistent detailed
    alarms (their rows in ``ev.details``, in report order) and how many plain alarms are
    consistent. With ``ties`` (the zones tied with a single fault), a device counts as
    contradicting only when it contradicts every tied zone: a report one tied zone explains
    is not a suspected faulty device while the reports cannot tell the ties apart.

    One compiled pass over the reports finds the contradicting ones (few), the rest is work
    on those and on the detailed alarms; with several ties, array operations over the
    reports."""
    on_zone = _on_zone(tree, ev, faults)
    several = ties is not None and ties.size > 1 and len(faults) == 1
    if several or not runs_compiled(ev.zone.shape[0]):  # (interpreted, the masks are faster)
        expected_all = np.where(on_zone[ev.zone], np.int8(PLUS), ev.off).astype(np.int8)
        bad_mask = contradiction_mask(ev.observed, expected_all)
        if several:
            assert ties is not None
            bad_mask &= _contradicts_every_tie(tree, ev, ties)
        bad = np.flatnonzero(bad_mask)
    else:
        bad = contradicting(ev.zone, ev.observed, ev.off, on_zone)
    zone, detector = ev.zone[bad], ev.detector[bad]
    expected = np.where(on_zone[zone], np.int8(PLUS), ev.off[bad]).astype(np.int8)
    contradictions = [
        Contradiction(
            ids[d] if d >= 0 else tree.ids[0],
            displayed(e, directional=directional),
            displayed(o, directional=directional),
        )
        for d, e, o, directional in zip(
            detector.tolist(),
            expected.tolist(),
            ev.observed[bad].tolist(),
            ev.directional[bad].tolist(),
            strict=True,
        )
    ]
    contradictions.sort(key=lambda c: c.detector)
    rows = ev.detail_rows
    keep = ev.observed[rows] != QUIET
    if bad.size and rows.size:
        keep &= ~np.isin(rows, bad)
    consistent = ev.detail_of[keep]
    plain = int(np.count_nonzero(ev.plain_alarm)) - int(np.count_nonzero(ev.plain_alarm[bad]))
    return contradictions, consistent, plain
