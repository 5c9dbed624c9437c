"""Exact maximum-likelihood fault section location on the operated feeder tree.

:class:`FaultLocator` holds one zone tree per feeder for the current operated state (built on
first use, dropped by :meth:`FaultLocator.refresh`) and answers each event in O(zones) array
work, without a Python step per report when the observations come as
:class:`~openoms.faults.observations.ObservationColumns` (one per report otherwise): weights
per zone, one path-sum pass (or the tree DP for several faults), a softmax, a partial sort for
the candidates. The model and its sources:
docs/faults.md ("The observation model", "Background and sources").
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import astuple
from operator import itemgetter
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from openoms.errors import UnknownDeviceError
from openoms.faults import kernels
from openoms.faults.evidence import (
    DeviceTable,
    Evidence,
    TreeDevices,
    Workspace,
    check,
    gather,
    gather_status,
    tree_devices,
)
from openoms.faults.likelihood import Signal
from openoms.faults.observations import (
    DEFAULT_FAILURE_RATE_PER_KM,
    DEFAULT_RATES,
    DeviceRates,
    InvalidObservationError,
    Observation,
)
from openoms.faults.result import Candidate, FaultLocation
from openoms.faults.summary import fault_time_of, fault_type_of, grow_region, permanence_of
from openoms.faults.zones import Zone, ZoneTree, _lower_ends, build_zone_tree, zone_objects
from openoms.grid.model import ElementKind, Network
from openoms.grid.topology import Topology

__all__ = ["FaultLocator", "Zone"]

MAX_CANDIDATES: Final = 50
MIN_POSTERIOR: Final = 1e-6
TIE_TOLERANCE: Final = 1e-9


def _ids(tree: ZoneTree, zones: kernels.Int64Array) -> tuple[str, ...]:
    """The ids of ``zones`` (sorted indexes), in one C-level pass."""
    if not zones.size:
        return ()
    return (
        tuple(itemgetter(*zones.tolist())(tree.ids))
        if zones.size > 1
        else (tree.ids[int(zones[0])],)
    )


def _source_items(
    network: Network, extra_sources: Mapping[str, float] | Collection[str] | None
) -> list[tuple[str, object]]:
    """(node id, probability) of the DG the locator takes (see :class:`FaultLocator`); a
    generator with probability 0 never feeds detectable current and is left out."""
    if extra_sources is None:
        return [(node, p) for node, p in network.generators.sources(network).items() if p > 0]
    if isinstance(extra_sources, Mapping):
        return list(extra_sources.items())
    if isinstance(extra_sources, str):  # one node id, not a collection of characters
        return [(extra_sources, 1.0)]
    return [(node, 1.0) for node in extra_sources]


def _check_options(max_faults: int, extra_fault_probability: float, region_mass: float) -> None:
    problems = []
    if not (isinstance(max_faults, int) and max_faults >= 1):
        problems.append(f"max_faults {max_faults!r} must be an int >= 1")
    if not 0.0 < extra_fault_probability < 1.0:
        problems.append(f"extra_fault_probability {extra_fault_probability!r} not in (0, 1)")
    if not 0.0 < region_mass <= 1.0:
        problems.append(f"region_mass {region_mass!r} must be in (0, 1]")
    if problems:
        raise InvalidObservationError(problems)


class FaultLocator:
    """Locates faults on the feeders of ``network`` in the current state of ``topology``.

    ``rates`` (per detector kind, merged over :data:`DEFAULT_RATES`) and ``device_rates`` (per
    detector id, e.g. from :func:`openoms.faults.calibrate`, they win) set each device's
    false-alarm, miss and direction-error rates. ``prior``: ``"length"`` (failure rate per km
    by section kind × length, :data:`DEFAULT_FAILURE_RATE_PER_KM` merged with
    ``failure_rate_per_km``) or ``"uniform"``. ``extra_sources``: the distributed
    generation that may feed fault current from below a fault, as node id → probability that
    its contribution exceeds the devices' pickup (0 <= p <= 1), or as a collection of node ids
    (each p = 1); ``None`` (the default) takes the network's ``generators`` table (its
    ``detection_probability`` per generator), so every entry point that builds a locator on
    a network locates with its declared DG. Given explicitly, it replaces the table. Closed
    ties to live feeders are found from the topology (always detectable). docs/faults.md,
    "Distributed generation".
    """

    def __init__(
        self,
        network: Network,
        topology: Topology,
        *,
        rates: Mapping[str, DeviceRates] | None = None,
        device_rates: Mapping[str, DeviceRates] | None = None,
        prior: Literal["length", "uniform"] = "length",
        failure_rate_per_km: Mapping[str, float] | None = None,
        extra_sources: Mapping[str, float] | Collection[str] | None = None,
    ) -> None:
        problems: list[str] = []
        kind_rates = {**DEFAULT_RATES, **(rates or {})}
        for kind, rate in kind_rates.items():
            problems += rate.problems(f"rates[{kind!r}]")
        for kind in set(network.detectors.kind) - set(kind_rates):
            problems.append(f"rates: no rates for detector kind {kind!r}")
        self._device_rates = dict(device_rates or {})
        for det, rate in self._device_rates.items():
            if det not in network or network.locate(det)[0] is not ElementKind.DETECTOR:
                problems.append(f"device_rates: {det!r} is not a detector of {network.name!r}")
            problems += rate.problems(f"device_rates[{det!r}]")
        if prior not in ("length", "uniform"):
            problems.append(f"prior {prior!r} must be 'length' or 'uniform'")
        self._rate_per_km = {**DEFAULT_FAILURE_RATE_PER_KM, **(failure_rate_per_km or {})}
        for kind, value in self._rate_per_km.items():
            if not (isinstance(value, int | float) and value >= 0 and math.isfinite(value)):
                problems.append(f"failure_rate_per_km[{kind!r}] {value!r} must be finite, >= 0")
        for kind in sorted(set(network.sections.kind) - set(self._rate_per_km)):
            problems.append(f"failure_rate_per_km: no rate for section kind {kind!r}")
        source_nodes: list[int] = []
        source_p: list[float] = []
        for node, p in _source_items(network, extra_sources):
            if node not in network or network.locate(node)[0] is not ElementKind.NODE:
                problems.append(f"extra_sources: {node!r} is not a node of {network.name!r}")
            elif isinstance(p, bool) or not (isinstance(p, int | float) and 0.0 <= p <= 1.0):
                problems.append(f"extra_sources[{node!r}]: probability {p!r} not in [0, 1]")
            elif p > 0:  # p = 0: never feeds detectable current
                source_nodes.append(network.locate(node)[1])
                source_p.append(float(p))
        if problems:
            raise InvalidObservationError(problems)
        self.network = network
        self.topology = topology
        self.prior = prior
        # per detector: its kind's rates, then the calibrated ones (numpy over kinds)
        kinds, kind_of = np.unique(
            np.asarray(network.detectors.kind, dtype=object), return_inverse=True
        )
        table = np.array(
            [astuple(kind_rates[str(k)]) for k in kinds.tolist()], dtype=np.float64
        ).reshape(len(kinds), 3)
        rates_array = table[kind_of.reshape(-1)] if len(kinds) else np.empty((0, 3))
        for det, rate in self._device_rates.items():
            rates_array[network.locate(det)[1]] = astuple(rate)
        self._rates_array = rates_array
        relay = kind_rates["relay"]
        self._devices = DeviceTable(
            index=dict(zip(network.detectors.id, range(len(network.detectors.id)), strict=True)),
            ids=network.detectors.id,
            false_alarm=rates_array[:, 0].copy(),
            miss=rates_array[:, 1].copy(),
            direction_error=rates_array[:, 2].copy(),
            directional=np.asarray(network.detectors.directional, dtype=np.bool_),
            relay=(relay.false_alarm, relay.miss, relay.direction_error),
            w_alarm=np.log((1.0 - rates_array[:, 1]) / rates_array[:, 0]),
            w_quiet=np.log(rates_array[:, 1] / (1.0 - rates_array[:, 0])),
        )
        self._sources = np.asarray(source_nodes, dtype=np.int64)
        self._source_p = np.asarray(source_p, dtype=np.float64)
        section_kinds = network.sections.kind
        self._section_rate = np.array(
            [self._rate_per_km[k] for k in section_kinds], dtype=np.float64
        ).reshape(len(section_kinds))
        self._trees: dict[int, ZoneTree] = {}
        self._slots: dict[int, TreeDevices] = {}
        self._zones: dict[int, tuple[Zone, ...]] = {}
        self.refresh()

    def refresh(self) -> None:
        """Forget the zone trees: call after ``topology.operate()`` (re-rooting after switching).
        Trees are rebuilt per feeder on first use, O(nodes of the feeder)."""
        self._lower = _lower_ends(self.network, self.topology)
        self._trees.clear()
        self._slots.clear()
        self._zones.clear()

    # -- zone trees -------------------------------------------------------------------------

    def _feeder_index(self, feeder_id: str) -> int:
        kind, index = self.network.locate(feeder_id)
        if kind is not ElementKind.FEEDER:
            raise UnknownDeviceError(feeder_id, network=self.network.name)
        return index

    def _tree(self, feeder: int) -> ZoneTree:
        tree = self._trees.get(feeder)
        if tree is None:
            if not self.topology.feeder_nodes(feeder).size:
                feeder_id = self.network.feeders.id[feeder]
                raise InvalidObservationError(
                    [f"feeder {feeder_id!r} is not energised in the current state (no zones)"]
                )
            tree = build_zone_tree(
                self.network,
                self.topology,
                feeder,
                lower_ends=self._lower,
                sources=self._sources,
                source_probability=self._source_p,
                prior=self.prior,
                section_rate=self._section_rate,
            )
            self._trees[feeder] = tree
        return tree

    def zone_tree(self, feeder_id: str) -> ZoneTree:
        """The arrays of the feeder's zone tree (for benchmarks and calibration)."""
        return self._tree(self._feeder_index(feeder_id))

    def zones_of_feeder(self, feeder_id: str) -> tuple[Zone, ...]:
        """The feeder's zones in pre-order, the root first. O(nodes of the feeder), cached."""
        feeder = self._feeder_index(feeder_id)
        if feeder not in self._zones:
            self._zones[feeder] = zone_objects(self.network, self.topology, self._tree(feeder))
        return self._zones[feeder]

    # -- one event --------------------------------------------------------------------------

    def evidence(
        self, tree: ZoneTree, observations: Sequence[Observation], *, trip_seen: bool
    ) -> Evidence:
        """Check the observations and place those with data on ``tree`` (arrays). Raises
        :class:`InvalidObservationError` naming every bad observation."""
        return gather(
            self._devices, tree, self._tree_devices(tree), observations, trip_seen=trip_seen
        )

    def _tree_devices(self, tree: ZoneTree) -> TreeDevices:
        """The slots of ``tree``'s detectors (cached with the locator's own trees)."""
        if self._trees.get(tree.feeder) is not tree:
            return tree_devices(self._devices, tree)
        slots = self._slots.get(tree.feeder)
        if slots is None:
            slots = self._slots[tree.feeder] = tree_devices(self._devices, tree)
        return slots

    def rates_of(self, detector: int) -> DeviceRates:
        """The rates used for the detector with index ``detector``."""
        a, m, d = self._rates_array[detector].tolist()
        return DeviceRates(false_alarm=a, miss=m, direction_error=d)

    def locate(
        self,
        feeder_id: str,
        observations: Sequence[Observation],
        *,
        max_faults: int = 1,
        extra_fault_probability: float = 0.01,
        reclosed: bool | None = None,
        region_mass: float = 0.95,
        trip_seen: bool = True,
    ) -> FaultLocation:
        """Locate the fault(s) of one event on ``feeder_id`` (docs/faults.md).

        ``trip_seen``: the feeder's head breaker tripped; used when no detector sits on the
        feeder head, as an alarm of an implicit relay (short-circuit events only).
        ``max_faults > 1``: several simultaneous faults by the tree DP with the penalty
        ``λ = ln((1 − p) / p)`` per fault, ``p = extra_fault_probability``. Detectors reported
        but not on the feeder's current zone tree are listed in ``ignored``; tree devices
        without an observation count as "no data".

        Observations as :class:`~openoms.faults.observations.ObservationColumns` (what
        :func:`~openoms.faults.reports.group_observations` makes for ``openoms locate`` and the
        service) are placed by one compiled pass and array operations, no Python step per
        report: the speed of :meth:`locate_status`. Any other sequence is first read into the
        same columns, about half a microsecond a report (a few for a detailed alarm).
        """
        _check_options(max_faults, extra_fault_probability, region_mass)
        feeder = self._feeder_index(feeder_id)
        tree = self._tree(feeder)
        slots = self._tree_devices(tree)
        work = slots.workspace(len(observations))  # (the answer keeps none of its arrays)
        ev = gather(self._devices, tree, slots, observations, trip_seen=trip_seen, work=work)
        answer = self._answer(
            feeder_id,
            tree,
            ev,
            max_faults=max_faults,
            extra_fault_probability=extra_fault_probability,
            reclosed=reclosed,
            region_mass=region_mass,
            work=work,
        )
        slots.release(work)
        return answer

    def locate_status(
        self,
        feeder_id: str,
        detectors: kernels.Int64Array,
        status: NDArray[np.int8],
        *,
        max_faults: int = 1,
        extra_fault_probability: float = 0.01,
        reclosed: bool | None = None,
        region_mass: float = 0.95,
        trip_seen: bool = True,
    ) -> FaultLocation:
        """:meth:`locate` for bulk telemetry given as arrays: detector indexes (the network's
        detectors table) and their status, 1 alarm (short circuit, no direction), 0 no alarm,
        -1 no data. No Python loop over the reports: for events where every one of many
        detectors reports. Without time tags or phases: ``fault_time`` is ``None`` and the
        fault type unknown. The same path as :meth:`locate` on
        :class:`~openoms.faults.observations.ObservationColumns` without detail."""
        _check_options(max_faults, extra_fault_probability, region_mass)
        feeder = self._feeder_index(feeder_id)
        tree = self._tree(feeder)
        slots = self._tree_devices(tree)
        work = slots.workspace(len(detectors))
        ev = gather_status(
            self._devices, tree, slots, detectors, status, trip_seen=trip_seen, work=work
        )
        answer = self._answer(
            feeder_id,
            tree,
            ev,
            max_faults=max_faults,
            extra_fault_probability=extra_fault_probability,
            reclosed=reclosed,
            region_mass=region_mass,
            work=work,
        )
        slots.release(work)
        return answer

    def _answer(
        self,
        feeder_id: str,
        tree: ZoneTree,
        ev: Evidence,
        *,
        max_faults: int,
        extra_fault_probability: float,
        reclosed: bool | None,
        region_mass: float,
        work: Workspace | None = None,
    ) -> FaultLocation:
        """Scores, the best hypothesis, posteriors, region and summary from the evidence;
        the weights and single-fault scores per zone in ``work``'s arrays when given."""
        signal = ev.signal
        scores_out: kernels.Float64Array | None = None
        if work is None:
            weight = np.empty(tree.n_zones, dtype=np.float64)
        else:
            weight, scores_out = work.zone_arrays(tree.n_zones)
        evidence = kernels.zone_weights(ev.zone, ev.weight, weight)
        faults: list[int] | None = None
        first = -1
        if signal is Signal.LOSS_OF_VOLTAGE:
            below = kernels.subtree_sums(tree.parent, tree.order, weight)
            scores = below - weight + tree.log_prior
        elif max_faults == 1:
            scores, first = kernels.single_fault_scores_and_best(
                tree.parent, tree.order, weight, tree.log_prior, scores_out
            )
        else:
            lam = math.log((1.0 - extra_fault_probability) / extra_fault_probability)
            if max_faults >= tree.n_zones:
                _, leaf, _ = kernels.multi_fault_dp(tree.parent, tree.order, weight, lam)
            else:
                leaf, _ = kernels.multi_fault_dp_limited(
                    tree.parent, tree.order, weight, lam, max_faults
                )
            faults = np.flatnonzero(leaf).tolist()
        if faults is None:
            first, shift, tied, picked = kernels.summarise(
                scores, tie_tolerance=TIE_TOLERANCE, min_posterior=MIN_POSTERIOR, first=first
            )
            faults = [first]
            per_fault = [(scores, shift, tied, picked)]
        else:
            per_fault = self._conditional(tree, weight, faults)
        ties: list[kernels.Int64Array] = []
        region: set[int] = set()
        mass = 1.0
        best_of: dict[int, tuple[float, float]] = {}  # zone -> (posterior, log score)
        for fault, (fault_scores, shift, tied, picked) in zip(faults, per_fault, strict=True):
            ties.append(tied)
            grown, grown_mass = grow_region(tree, fault_scores, shift, fault, region_mass)
            region.update(grown)
            mass = min(mass, grown_mass)
            named = picked[fault_scores[picked] - shift > math.log(MIN_POSTERIOR)]
            if named.size > MAX_CANDIDATES:  # the top ones (among ties at the cut: any)
                top = np.argpartition(-fault_scores[named], MAX_CANDIDATES - 1)
                named = named[top[:MAX_CANDIDATES]]
            for z, score in zip(named.tolist(), fault_scores[named].tolist(), strict=True):
                posterior = math.exp(score - shift)
                if posterior > MIN_POSTERIOR and posterior > best_of.get(z, (0.0, 0.0))[0]:
                    best_of[z] = (posterior, score)
        ranked = sorted(best_of, key=lambda z: (-best_of[z][0], tree.ids[z]))[:MAX_CANDIDATES]
        tie_zones = ties[0] if len(ties) == 1 else np.unique(np.concatenate(ties))
        contradictions, consistent, plain = check(
            self._devices.ids, tree, ev, faults, ties=tie_zones
        )
        kind, phases = fault_type_of(signal, ev.details, consistent, plain=plain)
        return FaultLocation(
            feeder=feeder_id,
            candidates=tuple(Candidate(tree.ids[z], best_of[z][0], best_of[z][1]) for z in ranked),
            best=tuple(tree.ids[z] for z in faults),
            ties=_ids(tree, tie_zones),
            region=tuple(tree.ids[z] for z in sorted(region)),
            region_mass=mass,
            contradictions=tuple(contradictions),
            fault_time=fault_time_of(ev.details, consistent),
            fault_type=kind,
            phases=phases,
            permanent=permanence_of(reclosed, ev.details, consistent),
            reports_used=ev.reports_used,
            devices_no_data=ev.no_data,
            ignored=ev.ignored,
            signal=signal.value,
            region_target=region_mass,
            evidence=evidence,
        )

    @staticmethod
    def _conditional(
        tree: ZoneTree, weight: kernels.Float64Array, faults: list[int]
    ) -> list[tuple[kernels.Float64Array, float, kernels.Int64Array, kernels.Int64Array]]:
        """Per fault of a multi-fault answer: the single-fault scores with the other faults
        held fixed (the devices on their paths alarm anyway: weight 0), the posterior shift,
        the zones tied with the fault and the zones worth naming."""
        out = []
        for fault in faults:
            held = weight.copy()
            others = np.zeros(tree.n_zones, dtype=np.bool_)
            kernels.mark_paths(tree.parent, [f for f in faults if f != fault], others)
            held[others] = 0.0
            scores = kernels.single_fault_scores(tree.parent, tree.order, held, tree.log_prior)
            _, shift, _, picked = kernels.summarise(
                scores, tie_tolerance=TIE_TOLERANCE, min_posterior=MIN_POSTERIOR
            )
            tied = np.flatnonzero(scores >= scores[fault] - TIE_TOLERANCE).astype(np.int64)
            out.append((scores, shift, tied, picked))
        return out
