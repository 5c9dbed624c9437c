"""The reports of one event placed on a feeder's zone tree, as arrays (one Python pass over
the observations; everything after it is numpy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.faults.kernels import Float64Array, Int64Array, bulk_reports, mark_paths
from openoms.faults.likelihood import (
    ALARM,
    MINUS,
    NONE,
    PLUS,
    QUIET,
    Signal,
    contradiction_mask,
    displayed,
    event_signal,
    hit,
    weights,
)
from openoms.faults.observations import InvalidObservationError, Observation, Status
from openoms.faults.result import Contradiction
from openoms.faults.zones import ZoneTree

__all__ = ["DeviceTable", "Evidence", "check", "expected_reports", "gather", "gather_status"]

_STATUS_CODE: Final = {Status.ALARM: ALARM, Status.NO_ALARM: QUIET, Status.NO_DATA: NONE}
_BAD: Final = 9  # a status that is not a Status
_DETECTOR: Final = attrgetter("detector")
_STATUS: Final = attrgetter("status")
_EXTRAS: Final = attrgetter(
    "device_time", "direction", "fault_phases", "earth_fault", "loss_of_voltage_phases"
)
_PLAIN: Final = (None, None, (), False, ())  # what a plain NO_ALARM / NO_DATA carries


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


def _weights(
    devices: DeviceTable,
    det: Int64Array,
    observed: NDArray[np.int8],
    off: NDArray[np.int8],
    rates: tuple[Float64Array, Float64Array, Float64Array],
) -> Float64Array:
    """:func:`~openoms.faults.likelihood.weights`, from the per-detector tables where the
    report is a plain alarm / no-alarm (the bulk of them), the full model elsewhere."""
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
        weight[rest] = weights(observed[rest], off[rest], a[rest], m[rest], d[rest])
    return weight


@dataclass(frozen=True, slots=True, eq=False)
class Evidence:
    """Reports with data on the tree: detector (-1 for the implicit head breaker), zone,
    observed code, the "off" expectation (QUIET or MINUS), directional flag, weight."""

    signal: Signal
    detector: Int64Array
    zone: Int64Array
    observed: NDArray[np.int8]
    off: NDArray[np.int8]
    directional: NDArray[np.bool_]
    weight: Float64Array
    alarms: Mapping[int, Observation]  # report position -> its observation (alarms only)
    ignored: tuple[str, ...]
    no_data: int

    @property
    def reports_used(self) -> int:
        return int(np.count_nonzero(self.detector >= 0))


def gather(
    devices: DeviceTable,
    tree: ZoneTree,
    zone_of_detector: Int64Array,
    observations: Sequence[Observation],
    *,
    trip_seen: bool,
) -> Evidence:
    """Check the observations (raising :class:`InvalidObservationError` naming every bad
    one) and place those with data on ``tree``; ``zone_of_detector``: per detector of the
    network its zone, -1 when not on this tree."""
    problems: list[str] = []
    n = len(observations)
    # C-level passes (map, attrgetter, dict.get): about 0.5 µs per report
    ids = list(map(_DETECTOR, observations))
    det = np.fromiter(map(devices.index.get, ids, repeat(-1)), dtype=np.int64, count=n)
    status = np.fromiter(
        map(_STATUS_CODE.get, map(_STATUS, observations), repeat(_BAD)), dtype=np.int8, count=n
    )
    # the full check only where something can be wrong: alarms, and reports with extras
    checked = np.flatnonzero((status == ALARM) | (status == _BAD)).tolist()
    extras = [i for i, e in enumerate(map(_EXTRAS, observations)) if e != _PLAIN]
    for i in sorted(set(checked) | set(extras)):
        problems += [f"observations[{i}]: {p}" for p in observations[i].problems()]
    for i in np.flatnonzero(det < 0).tolist():
        problems.append(f"observations[{i}]: {ids[i]!r} is not a detector")
    if len(set(ids)) != n:
        counts: dict[str, int] = {}
        for detector_id in ids:
            counts[detector_id] = counts.get(detector_id, 0) + 1
        twice = sorted(k for k, c in counts.items() if c > 1)
        problems.append(f"observations: detectors reported more than once: {twice}")
    if problems:
        raise InvalidObservationError(problems)
    zone = zone_of_detector[det] if n else np.empty(0, dtype=np.int64)
    on_tree = zone >= 0
    ignored = tuple(observations[i].detector for i in np.flatnonzero(~on_tree).tolist())
    alarm_at = np.flatnonzero(on_tree & (status == ALARM)).tolist()
    signal = event_signal([observations[i] for i in alarm_at])
    directional = devices.directional[det] & (signal is not Signal.LOSS_OF_VOLTAGE)
    observed = status.copy()
    for i in alarm_at:
        observed[i] = hit(observations[i], signal, directional=bool(directional[i]))
    keep = np.flatnonzero(on_tree & (observed != NONE))
    det, zone, observed, directional = det[keep], zone[keep], observed[keep], directional[keep]
    if signal is Signal.SHORT_CIRCUIT:
        source = tree.source_below[zone]
    elif signal is Signal.EARTH_FAULT:
        source = directional
    else:
        source = np.zeros(zone.shape, dtype=np.bool_)
    off = np.where(source, MINUS, QUIET).astype(np.int8)
    a, m, d = devices.false_alarm[det], devices.miss[det], devices.direction_error[det]
    alarm_rows = np.asarray(alarm_at, dtype=np.int64)
    kept = alarm_rows[np.isin(alarm_rows, keep)]  # alarm rows still kept (indexes before `keep`)
    alarms = dict(
        zip(
            np.searchsorted(keep, kept).tolist(),
            [observations[i] for i in kept.tolist()],
            strict=True,
        )
    )
    if tree.implicit_root and trip_seen and signal is Signal.SHORT_CIRCUIT:
        det = np.append(det, -1)
        zone = np.append(zone, 0)
        observed = np.append(observed, np.int8(ALARM))
        off = np.append(off, np.int8(QUIET))
        directional = np.append(directional, False)
        relay = devices.relay
        a, m, d = np.append(a, relay[0]), np.append(m, relay[1]), np.append(d, relay[2])
    weight = _weights(devices, det, observed, off, (a, m, d))
    no_data = tree.n_devices - int(np.count_nonzero(det >= 0))
    return Evidence(
        signal=signal,
        detector=det,
        zone=zone,
        observed=observed,
        off=off,
        directional=directional,
        weight=weight,
        alarms=alarms,
        ignored=ignored,
        no_data=no_data,
    )


def gather_status(
    devices: DeviceTable,
    tree: ZoneTree,
    detectors: Int64Array,
    status: NDArray[np.int8],
    *,
    trip_seen: bool,
) -> Evidence:
    """:func:`gather` for arrays of detector indexes and statuses (1 alarm, 0 no alarm, -1 no
    data): short-circuit reports without direction, time tags or phases. O(reports), numpy."""
    det = np.asarray(detectors)
    codes = np.asarray(status)
    problems: list[str] = []
    if (
        det.ndim != 1
        or codes.shape != det.shape
        or (det.size and det.dtype.kind not in "iu")
        or (codes.size and codes.dtype.kind not in "iu")
    ):
        problems.append(
            f"detectors and status must be 1-D arrays of one length, got {det.shape} "
            f"{det.dtype} and {codes.shape} {codes.dtype}"
        )
        raise InvalidObservationError(problems)
    if codes.dtype != np.int8 and codes.size and (codes.min() < NONE or codes.max() > ALARM):
        position = int(np.flatnonzero((codes < NONE) | (codes > ALARM))[0])
        raise InvalidObservationError([f"status[{position}] = {codes[position]} is not 1, 0 or -1"])
    n = det.shape[0]
    out = np.empty((4, n), dtype=np.int64)
    weight = np.empty(n, dtype=np.float64)
    ignored_at = np.empty(n, dtype=np.int64)
    kept, error, position, n_ignored = bulk_reports(
        det.astype(np.int64, copy=False),
        codes.astype(np.int8, copy=False),
        tree.zone_of_detector,
        tree.source_below,
        devices.w_alarm,
        devices.w_quiet,
        np.zeros(devices.w_alarm.shape[0], dtype=np.uint8),
        out,
        weight,
        ignored_at,
    )
    if error:
        n_detectors = devices.w_alarm.shape[0]
        if error == 1:
            message = f"detectors[{position}] = {det[position]} is outside 0..{n_detectors - 1}"
        elif error == 2:
            message = f"status[{position}] = {codes[position]} is not 1, 0 or -1"
        else:
            message = f"detectors reported more than once: [{devices.ids[int(det[position])]!r}]"
        raise InvalidObservationError([message])
    ignored = tuple(devices.ids[int(det[i])] for i in ignored_at[:n_ignored].tolist())
    det, zone = out[0, :kept], out[1, :kept]
    observed, off = out[2, :kept].astype(np.int8), out[3, :kept].astype(np.int8)
    weight = weight[:kept]
    if tree.implicit_root and trip_seen:
        a, m, _ = devices.relay
        det, zone = np.append(det, -1), np.append(zone, 0)
        observed, off = np.append(observed, np.int8(ALARM)), np.append(off, np.int8(QUIET))
        weight = np.append(weight, np.log((1.0 - m) / a))
    return Evidence(
        signal=Signal.SHORT_CIRCUIT,
        detector=det,
        zone=zone,
        observed=observed,
        off=off,
        directional=np.zeros(det.shape, dtype=np.bool_),
        weight=weight,
        alarms={},
        ignored=ignored,
        no_data=tree.n_devices - int(np.count_nonzero(det >= 0)),
    )


def expected_reports(tree: ZoneTree, ev: Evidence, faults: Sequence[int]) -> NDArray[np.int8]:
    """What each report of ``ev`` should read if the faults are in zones ``faults``: PLUS for
    devices above a fault (below a break, for loss of voltage), else their "off" code."""
    on_zone = np.zeros(tree.n_zones, dtype=np.bool_)
    if ev.signal is Signal.LOSS_OF_VOLTAGE:  # the devices strictly below the break
        for f in faults:
            on_zone[f + 1 : f + int(tree.size[f])] = True
    else:  # the devices above the faults: the paths to the root
        mark_paths(tree.parent, list(faults), on_zone)
    expected: NDArray[np.int8] = np.where(on_zone[ev.zone], np.int8(PLUS), ev.off).astype(np.int8)
    return expected


def check(
    ids: Sequence[str], tree: ZoneTree, ev: Evidence, faults: Sequence[int]
) -> tuple[list[Contradiction], list[Observation]]:
    """Devices contradicting the hypothesis ``faults`` (sorted by id), and the consistent
    alarms (in report order)."""
    expected = expected_reports(tree, ev, faults)
    bad = contradiction_mask(ev.observed, expected)
    contradictions = [
        Contradiction(
            ids[int(ev.detector[i])] if ev.detector[i] >= 0 else tree.ids[0],
            displayed(int(expected[i]), directional=bool(ev.directional[i])),
            displayed(int(ev.observed[i]), directional=bool(ev.directional[i])),
        )
        for i in np.flatnonzero(bad).tolist()
    ]
    contradictions.sort(key=lambda c: c.detector)
    consistent = [
        obs for i, obs in sorted(ev.alarms.items()) if not bad[i] and ev.observed[i] != QUIET
    ]
    return contradictions, consistent
