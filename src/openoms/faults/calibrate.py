"""Calibration of per-device rates from crew-confirmed fault locations (docs/faults.md,
"Calibration").

For every past event with confirmed fault zones, each device that reported (not "no data") is
scored against what the confirmed zones make it expect: ``m_d = (misses + 1) / (expected
alarms + 2)``, ``a_d = (false alarms + 1) / (expected silences + 2)`` and, for directional
devices, ``δ_d = (wrong directions + 1) / (directional alarms expected + 2)`` (Laplace's rule
of succession). A rate is only replaced when its denominator counted at least ``min_events``
events; otherwise the device keeps its kind's rate.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from openoms.faults.evidence import expected_reports
from openoms.faults.likelihood import MINUS, MIXED, PLUS, QUIET
from openoms.faults.locator import FaultLocator
from openoms.faults.observations import DeviceRates, InvalidObservationError, Observation
from openoms.grid.model import ElementKind

__all__ = ["calibrate"]

FeederOf = Callable[[Sequence[Observation], Collection[str]], str]


@dataclass(slots=True)
class _Counts:
    expected_alarms: int = 0
    misses: int = 0
    expected_silences: int = 0
    false_alarms: int = 0
    directed: int = 0
    wrong_direction: int = 0


def _feeder_from_zones(locator: FaultLocator) -> FeederOf:
    """The feeder of the first confirmed zone (a detector id or a feeder head branch id)."""
    network, topology = locator.network, locator.topology

    def feeder_of(_: Sequence[Observation], zones: Collection[str]) -> str:
        zone = next(iter(zones))
        kind, index = network.locate(zone)
        edge = int(network.detectors.edge[index]) if kind is ElementKind.DETECTOR else None
        if kind in (ElementKind.SECTION, ElementKind.SWITCH):
            edge = network.edge_index(zone)
        if edge is None:
            raise InvalidObservationError([f"confirmed zone {zone!r} is not a zone id"])
        depth = topology.depth_of_nodes
        node = max(int(network.edge_from[edge]), int(network.edge_to[edge]), key=depth.item)
        feeder = topology.feeder_of(node)
        if feeder < 0:
            raise InvalidObservationError([f"confirmed zone {zone!r} is on no live feeder"])
        return network.feeders.id[feeder]

    return feeder_of


def calibrate(
    history: Iterable[tuple[Sequence[Observation], Collection[str]]],
    locator: FaultLocator,
    feeder_of: str | FeederOf | None = None,
    *,
    min_events: int = 10,
) -> dict[str, DeviceRates]:
    """Per-device rates from ``(observations, confirmed zones)`` pairs on ``locator``'s
    current topology. ``feeder_of``: a feeder id for every event, a function of the event,
    or ``None`` (the feeder of the first confirmed zone). Returns rates for the devices with
    at least one rate calibrated; the others keep their kind's defaults."""
    if feeder_of is None:
        feeder_fn = _feeder_from_zones(locator)
    elif isinstance(feeder_of, str):
        name = feeder_of

        def feeder_fn(_: Sequence[Observation], __: Collection[str]) -> str:
            return name

    else:
        feeder_fn = feeder_of
    counts: dict[int, _Counts] = {}
    for number, (observations, zones) in enumerate(history):
        if not zones:
            raise InvalidObservationError([f"history[{number}]: no confirmed zone"])
        tree = locator.zone_tree(feeder_fn(observations, zones))
        unknown = sorted(z for z in zones if z not in tree.index)
        if unknown:
            raise InvalidObservationError(
                [f"history[{number}]: {unknown} are not zones of feeder {tree.feeder_id!r}"]
            )
        confirmed = [tree.index[z] for z in zones]
        ev = locator.evidence(tree, observations, trip_seen=False)
        expected = expected_reports(tree, ev, confirmed)
        for i in range(ev.detector.shape[0]):
            observed, wanted = int(ev.observed[i]), int(expected[i])
            if wanted == MIXED:  # DG below may or may not feed: says nothing on the rates
                continue
            c = counts.setdefault(int(ev.detector[i]), _Counts())
            if wanted == QUIET:
                c.expected_silences += 1
                c.false_alarms += observed != QUIET
                continue
            c.expected_alarms += 1
            c.misses += observed == QUIET
            if observed in (PLUS, MINUS):
                c.directed += 1
                c.wrong_direction += observed != wanted
    out: dict[str, DeviceRates] = {}
    network = locator.network
    for number, c in sorted(counts.items()):
        detector = network.detectors.id[number]
        base = locator.rates_of(number)
        miss = (c.misses + 1) / (c.expected_alarms + 2)
        false_alarm = (c.false_alarms + 1) / (c.expected_silences + 2)
        direction = (c.wrong_direction + 1) / (c.directed + 2)
        rates = DeviceRates(
            false_alarm=false_alarm if c.expected_silences >= min_events else base.false_alarm,
            miss=miss if c.expected_alarms >= min_events else base.miss,
            direction_error=direction if c.directed >= min_events else base.direction_error,
        )
        if rates != base:
            out[detector] = rates
    return out
