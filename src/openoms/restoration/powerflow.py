"""The power-flow check of switching states: every candidate is one scenario of one
power-grid-model batch.

A :class:`PowerFlowModel` holds the network's electrical data as power-grid-model input
columns (built once per network). :meth:`PowerFlowModel.check` takes a set of nodes (the
feeders a plan touches and their station busbars), a base branch state and one list of
``(edge, closed)`` operations per scenario, and runs them all as one batch over the
sub-network of those nodes: sections are lines, switches are links (no impedance), every
station-zone node in the set is a source at ``source_u_pu``, every transformer area and HV
customer a constant-power load. Each scenario's result says whether it converged and lists
every limit it violates: a section above its ampacity, a switch above its rating, an energised
node outside the voltage band, a substation whose busbar would draw more than its main
transformers' rating (``transformer_mva``: the sub-network's draw from the busbar plus the load
of the busbar's other feeders, which the caller passes as ``outside_feeders``).

Assumptions (docs/restoration.md): the native format has no reactive load, so loads take the
power factor of :class:`Limits` unless kvar columns are given; a section whose impedance is
unknown takes the default per-km impedance; unknown ratings are not checked; the substation
transformers are not in the model as impedances (a busbar is an ideal source behind
``source_sk_va``): their rating is checked against the apparent power the busbar delivers,
the load of feeders outside the sub-network counted without their losses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray
from power_grid_model import (
    CalculationMethod,
    ComponentType,
    DatasetType,
    LoadGenType,
    PowerGridModel,
    initialize_array,
)

from openoms.grid.model import Network

__all__ = [
    "Limits",
    "PowerFlowError",
    "PowerFlowModel",
    "ScenarioResult",
    "Violation",
    "ViolationKind",
]

Ints = NDArray[np.int32]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

_MARGIN: Final = 1e-9  # relative slack on limits (floating point)
MAX_LISTED: Final = 10  # violations listed per kind and scenario, the worst first


@dataclass(frozen=True, slots=True)
class Limits:
    """What a switching state must respect, and the assumptions of the model.

    ``voltage_band``: the allowed deviation from nominal (±7 % for 10 kV supply, GB/T 12325).
    ``allow_parallel``: whether closing two feeders in parallel (合环) is allowed.
    ``source_u_pu``: the substation busbar voltage; 10 kV busbars are usually regulated at
    10.5 kV (1.05 pu) so that the far ends of the feeders stay within the band.
    """

    voltage_band: float = 0.07
    allow_parallel: bool = False
    source_u_pu: float = 1.05
    source_sk_va: float = 1e10
    power_factor: float = 0.95
    default_r_ohm_per_km: float = 0.27  # LGJ-120 overhead line
    default_x_ohm_per_km: float = 0.35


class PowerFlowError(RuntimeError):
    """power-grid-model refused the data (not a scenario without solution: that is a
    :attr:`ViolationKind.NOT_CONVERGED` result)."""


class ViolationKind(StrEnum):
    OVERLOAD = "overload"  # a section or switch above its rating
    UNDERVOLTAGE = "undervoltage"
    OVERVOLTAGE = "overvoltage"
    NOT_CONVERGED = "not_converged"  # no power-flow solution (voltage collapse)
    PARALLEL = "parallel"  # two feeders (or a loop) closed, not allowed
    ONTO_FAULT = "onto_fault"  # the faulted section would be energised
    TRANSFORMER_OVERLOAD = "transformer_overload"  # a busbar above its transformers' MVA


@dataclass(frozen=True, slots=True)
class Violation:
    kind: ViolationKind
    element: str  # the section, switch or node id ("" for a whole scenario)
    value: float  # A, pu, or NaN
    limit: float

    def describe(self, zh: bool) -> str:
        zh_text, en_text = _VIOLATION_TEXTS[self.kind]
        return (zh_text if zh else en_text).format(v=self)


_VIOLATION_TEXTS: Final[dict[ViolationKind, tuple[str, str]]] = {
    ViolationKind.OVERLOAD: (
        "{v.element} 过载：{v.value:.0f} A > {v.limit:.0f} A",
        "{v.element} overloaded: {v.value:.0f} A > {v.limit:.0f} A",
    ),
    ViolationKind.TRANSFORMER_OVERLOAD: (
        "{v.element} 主变过载：{v.value:.2f} MVA > {v.limit:.2f} MVA",
        "{v.element} main transformers overloaded: {v.value:.2f} MVA > {v.limit:.2f} MVA",
    ),
    ViolationKind.UNDERVOLTAGE: (
        "{v.element} 电压过低：{v.value:.3f} pu（限值 {v.limit:.3f}）",
        "{v.element} voltage {v.value:.3f} pu below {v.limit:.3f} pu",
    ),
    ViolationKind.OVERVOLTAGE: (
        "{v.element} 电压过高：{v.value:.3f} pu（限值 {v.limit:.3f}）",
        "{v.element} voltage {v.value:.3f} pu above {v.limit:.3f} pu",
    ),
    ViolationKind.NOT_CONVERGED: (
        "潮流不收敛（电压崩溃）",
        "no power-flow solution (voltage collapse)",
    ),
    ViolationKind.PARALLEL: (
        "合上 {v.element} 将使两条线路并列（合环）",
        "closing {v.element} parallels two feeders",
    ),
    ViolationKind.ONTO_FAULT: (
        "{v.element} 将合到故障区段上",
        "{v.element} would close onto the faulted section",
    ),
}


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """One scenario's power flow: the worst figures and the violated limits (per kind the
    :data:`MAX_LISTED` worst; a scenario is feasible only when there is none)."""

    converged: bool
    violations: tuple[Violation, ...]
    min_u_pu: float  # over the energised nodes (NaN when none)
    max_u_pu: float
    max_loading: float  # the highest current / rating over rated sections and switches
    max_loading_element: str
    energised: Bools = field(repr=False)  # per node of the checked set
    losses_kw: float = float("nan")  # in the sections

    @property
    def ok(self) -> bool:
        return self.converged and not self.violations


class PowerFlowModel:
    """The network's electrical columns, ready to be cut into sub-networks and batched.

    ``ta_kvar`` / ``hv_kvar``: reactive load per transformer area / HV customer (kvar) when
    known (the IEEE 33 test feeder gives it); otherwise ``P · tan(acos(power_factor))``.
    """

    def __init__(
        self,
        network: Network,
        limits: Limits | None = None,
        *,
        ta_kvar: Floats | None = None,
        hv_kvar: Floats | None = None,
    ) -> None:
        self.network = network
        self.limits = limits or Limits()
        lim = self.limits
        sections, switches = network.sections, network.switches
        self._n_sections = len(sections.id)
        r = np.where(
            np.isnan(sections.r_ohm_per_km), lim.default_r_ohm_per_km, sections.r_ohm_per_km
        )
        x = np.where(
            np.isnan(sections.x_ohm_per_km), lim.default_x_ohm_per_km, sections.x_ohm_per_km
        )
        length = np.nan_to_num(sections.length_km)
        self._r = r * length
        # a section without impedance (a bus bar link drawn as a section) gets a tiny one:
        # power-grid-model needs an admittance it can invert
        self._x = np.where((self._r == 0) & (x * length == 0), 1e-6, x * length)
        self._ampacity = np.where(sections.ampacity_a > 0, sections.ampacity_a, np.inf)
        self._rated = np.where(switches.rated_a > 0, switches.rated_a, np.inf)
        self._edge_from = network.edge_from
        self._edge_to = network.edge_to
        tan_phi = math.tan(math.acos(lim.power_factor))
        tas, hvs = network.transformer_areas, network.hv_customers
        load_node = np.concatenate([tas.node, hvs.node]).astype(np.int32)
        p_kw = np.concatenate([tas.load_kw, hvs.load_kw])
        p_kw = np.where(np.isnan(p_kw), 0.0, p_kw)
        q_ta = tas.load_kw * tan_phi if ta_kvar is None else np.asarray(ta_kvar, dtype=np.float64)
        q_hv = hvs.load_kw * tan_phi if hv_kvar is None else np.asarray(hv_kvar, dtype=np.float64)
        q_kvar = np.concatenate([q_ta, q_hv])
        q_kvar = np.where(np.isnan(q_kvar), 0.0, q_kvar)
        order = np.argsort(load_node, kind="stable")
        self._load_node = load_node[order]
        self._load_p = p_kw[order] * 1e3
        self._load_q = q_kvar[order] * 1e3
        # nominal voltage per node: the voltage of the substation that feeds it is not known
        # per node; every node takes the network's (single) distribution voltage
        kv = network.substations.voltage_kv
        self._u_rated = float(np.nanmax(kv)) * 1e3 if len(kv) and np.isfinite(kv).any() else 10e3
        subs = network.substations
        # busbar node → (substation index, rating in VA), for the substations with a rating
        self._busbar_rating = {
            int(subs.busbar_node[i]): (i, subs.transformer_rating_mva(i) * 1e6)
            for i in range(len(subs.id))
            if subs.transformer_rating_mva(i) > 0
        }
        self._feeder_busbar = subs.busbar_node[network.feeders.substation].astype(np.int64)

    # -- the sub-network ------------------------------------------------------------------
    def check(
        self,
        nodes: Ints,
        source_nodes: Ints,
        base_closed: Bools,
        scenarios: Sequence[Sequence[tuple[int, bool]]],
        *,
        outside_feeders: NDArray[np.integer] | None = None,
    ) -> list[ScenarioResult]:
        """Each scenario's power flow over the sub-network of ``nodes`` (sorted unique node
        indexes), with sources at ``source_nodes`` (a subset) and the branch states
        ``base_closed`` (every edge of the network) changed by the scenario's operations.
        One power-grid-model batch for all of them. Raises :class:`PowerFlowError` when
        power-grid-model refuses the data.

        ``outside_feeders``: the feeder of every node in the base state (a topology's
        ``feeder_of_nodes``), for the busbars' transformer check: the load of the nodes outside
        the sub-network is added to what their busbar delivers. Without it the busbars'
        transformers are not checked."""
        try:
            busbar_va = self._outside_load(nodes, source_nodes, outside_feeders)
            return self._check(nodes, source_nodes, base_closed, scenarios, busbar_va)
        except RuntimeError as error:  # power-grid-model's errors are RuntimeErrors
            message = str(error).strip().splitlines()
            raise PowerFlowError(message[0] if message else type(error).__name__) from error

    def _outside_load(
        self, nodes: Ints, sources: Ints, feeder_of: NDArray[np.integer] | None
    ) -> dict[int, tuple[int, complex]]:
        """Per rated source busbar (position in ``sources``): the busbar node and the complex
        power (VA) its other feeders draw, outside the sub-network of ``nodes``, losses left
        out."""
        rated = [k for k, b in enumerate(np.asarray(sources).tolist()) if b in self._busbar_rating]
        if feeder_of is None or not rated:
            return {}
        inside = np.zeros(len(self.network.nodes.id), dtype=np.bool_)
        inside[nodes] = True
        feeder = np.asarray(feeder_of, dtype=np.int64)[self._load_node]
        out = (~inside[self._load_node]) & (feeder >= 0)
        busbar = self._feeder_busbar[feeder[out]]
        p, q = self._load_p[out], self._load_q[out]
        loads: dict[int, tuple[int, complex]] = {}
        for k in rated:
            node = int(sources[k])
            mine = busbar == node
            loads[k] = (node, complex(float(p[mine].sum()), float(q[mine].sum())))
        return loads

    def _check(
        self,
        nodes: Ints,
        source_nodes: Ints,
        base_closed: Bools,
        scenarios: Sequence[Sequence[tuple[int, bool]]],
        busbar_va: dict[int, tuple[int, complex]],
    ) -> list[ScenarioResult]:
        net = self.network
        nodes = np.asarray(nodes, dtype=np.int32)
        n = len(nodes)
        local = np.full(len(net.nodes.id), -1, dtype=np.int32)
        local[nodes] = np.arange(n, dtype=np.int32)
        inside = (local[self._edge_from] >= 0) & (local[self._edge_to] >= 0)
        edges = np.flatnonzero(inside).astype(np.int32)
        line_edges = edges[edges < self._n_sections]
        link_edges = edges[edges >= self._n_sections]
        switch_of_link = link_edges - self._n_sections
        counter = [0]

        def next_ids(k: int) -> NDArray[np.int64]:
            start = counter[0]
            counter[0] += k
            return np.arange(start, start + k, dtype=np.int64)

        node = initialize_array(DatasetType.input, ComponentType.node, n)
        node["id"] = next_ids(n)
        node["u_rated"] = self._u_rated
        line = initialize_array(DatasetType.input, ComponentType.line, len(line_edges))
        line["id"] = next_ids(len(line_edges))
        line["from_node"] = local[self._edge_from[line_edges]]
        line["to_node"] = local[self._edge_to[line_edges]]
        line["from_status"] = line["to_status"] = base_closed[line_edges]
        line["r1"] = self._r[line_edges]
        line["x1"] = self._x[line_edges]
        line["c1"] = 0.0
        line["tan1"] = 0.0
        link = initialize_array(DatasetType.input, ComponentType.link, len(link_edges))
        link["id"] = next_ids(len(link_edges))
        link["from_node"] = local[self._edge_from[link_edges]]
        link["to_node"] = local[self._edge_to[link_edges]]
        link["from_status"] = link["to_status"] = base_closed[link_edges]
        lo = np.searchsorted(self._load_node, nodes, side="left")
        hi = np.searchsorted(self._load_node, nodes, side="right")
        ranges = [np.arange(a, b, dtype=np.int64) for a, b in zip(lo, hi, strict=True)]
        rows = np.concatenate([np.zeros(0, dtype=np.int64), *ranges])
        load = initialize_array(DatasetType.input, ComponentType.sym_load, len(rows))
        load["id"] = next_ids(len(rows))
        load["node"] = local[self._load_node[rows]]
        load["status"] = 1
        load["type"] = LoadGenType.const_power
        load["p_specified"] = self._load_p[rows]
        load["q_specified"] = self._load_q[rows]
        sources = np.asarray(source_nodes, dtype=np.int32)
        source = initialize_array(DatasetType.input, ComponentType.source, len(sources))
        source["id"] = next_ids(len(sources))
        source["node"] = local[sources]
        source["status"] = 1
        source["u_ref"] = self.limits.source_u_pu
        source["sk"] = self.limits.source_sk_va
        components = {
            ComponentType.node: node,
            ComponentType.line: line,
            ComponentType.link: link,
            ComponentType.sym_load: load,
            ComponentType.source: source,
        }
        model = PowerGridModel({c: a for c, a in components.items() if len(a)})
        k = len(scenarios)
        line_pos = np.full(net.n_edges, -1, dtype=np.int32)
        line_pos[line_edges] = np.arange(len(line_edges), dtype=np.int32)
        link_pos = np.full(net.n_edges, -1, dtype=np.int32)
        link_pos[link_edges] = np.arange(len(link_edges), dtype=np.int32)
        line_status = np.repeat(base_closed[line_edges][None, :], k, axis=0).astype(np.int8)
        link_status = np.repeat(base_closed[link_edges][None, :], k, axis=0).astype(np.int8)
        line_changed = False
        for s, ops in enumerate(scenarios):
            for edge, close in ops:
                if line_pos[edge] >= 0:
                    line_status[s, line_pos[edge]] = close
                    line_changed = True
                elif link_pos[edge] >= 0:
                    link_status[s, link_pos[edge]] = close
        line_update = initialize_array(DatasetType.update, ComponentType.line, (k, len(line_edges)))
        line_update["id"] = line["id"]
        line_update["from_status"] = line_update["to_status"] = line_status
        link_update = initialize_array(DatasetType.update, ComponentType.link, (k, len(link_edges)))
        link_update["id"] = link["id"]
        link_update["from_status"] = link_update["to_status"] = link_status
        updates = {ComponentType.line: line_update, ComponentType.link: link_update}
        outputs = {ComponentType.node, ComponentType.line, ComponentType.link}
        if busbar_va:
            outputs.add(ComponentType.source)
        present = {c for c in outputs if len(components[c])}
        changed = {ComponentType.line: line_changed, ComponentType.link: True}
        update = {c: u for c, u in updates.items() if c in present and changed[c]}
        if not update and ComponentType.line in present:
            update = {ComponentType.line: line_update}
        if not update:  # no branch at all: nodes and sources only, every scenario the same
            single = model.calculate_power_flow(output_component_types=present)
            result = {c: np.repeat(a[None, :], k, axis=0) for c, a in single.items()}
            return self._judge(
                result,
                present,
                k,
                set(),
                (nodes, line_edges, switch_of_link),
                busbar_va=busbar_va,
            )
        result = model.calculate_power_flow(
            update_data=update,
            calculation_method=CalculationMethod.newton_raphson,
            continue_on_batch_error=True,
            threading=-1,
            output_component_types=present,
        )
        failed: set[int] = set()
        if model.batch_error is not None:
            failed = {int(s) for s in model.batch_error.failed_scenarios}
        return self._judge(
            result,
            present,
            k,
            failed,
            (nodes, line_edges, switch_of_link),
            busbar_va=busbar_va,
        )

    def _judge(
        self,
        result: dict[ComponentType, NDArray[np.void]],
        present: set[ComponentType],
        k: int,
        failed: set[int],
        elements: tuple[Ints, Ints, Ints],
        *,
        busbar_va: dict[int, tuple[int, complex]],
    ) -> list[ScenarioResult]:
        """Every scenario's figures and violations, the checks vectorised over the batch."""
        net = self.network
        nodes, line_edges, switches = elements
        transformer = self._transformer_violations(result, k, busbar_va)
        n = len(nodes)
        node_out = result[ComponentType.node]
        energised = node_out["energized"].astype(np.bool_)
        u = node_out["u_pu"]
        if ComponentType.line in present:
            line_out = result[ComponentType.line]
            i_line = np.maximum(line_out["i_from"], line_out["i_to"])
            losses = (line_out["p_from"] + line_out["p_to"]).sum(axis=1) / 1e3
        else:
            i_line = np.zeros((k, 0))
            losses = np.zeros(k)
        if ComponentType.link in present:
            i_link = result[ComponentType.link]["i_from"]
        else:
            i_link = np.zeros((k, 0))
        ampacity = self._ampacity[line_edges]
        rated = self._rated[switches]
        band = self.limits.voltage_band
        low, high = 1.0 - band, 1.0 + band
        under = energised & (u < low * (1 - _MARGIN))
        over = energised & (u > high * (1 + _MARGIN))
        hot_line = i_line > ampacity * (1 + _MARGIN)
        hot_link = i_link > rated * (1 + _MARGIN)
        loading = np.concatenate([i_line / ampacity, i_link / rated], axis=1)
        worst = np.argmax(loading, axis=1) if loading.shape[1] else np.full(k, -1)
        u_on_low = np.where(energised, u, np.inf).min(axis=1) if n else np.full(k, np.inf)
        u_on_high = np.where(energised, u, -np.inf).max(axis=1) if n else np.full(k, -np.inf)
        bad = under.any(axis=1) | over.any(axis=1) | hot_line.any(axis=1) | hot_link.any(axis=1)
        bad |= np.asarray([bool(t) for t in transformer], dtype=np.bool_)
        n_lines = len(line_edges)
        out: list[ScenarioResult] = []
        for s in range(k):
            if s in failed:
                out.append(
                    ScenarioResult(
                        False,
                        (Violation(ViolationKind.NOT_CONVERGED, "", math.nan, math.nan),),
                        math.nan,
                        math.nan,
                        math.nan,
                        "",
                        np.zeros(n, dtype=np.bool_),
                    )
                )
                continue
            violations: list[Violation] = []
            if bad[s]:
                for i in _worst(under[s], u[s], low=True):
                    violations.append(
                        Violation(
                            ViolationKind.UNDERVOLTAGE, net.nodes.id[nodes[i]], float(u[s, i]), low
                        )
                    )
                for i in _worst(over[s], u[s], low=False):
                    violations.append(
                        Violation(
                            ViolationKind.OVERVOLTAGE, net.nodes.id[nodes[i]], float(u[s, i]), high
                        )
                    )
                for i in _worst(hot_line[s], i_line[s] / ampacity, low=False):
                    violations.append(
                        Violation(
                            ViolationKind.OVERLOAD,
                            net.sections.id[line_edges[i]],
                            float(i_line[s, i]),
                            float(ampacity[i]),
                        )
                    )
                for i in _worst(hot_link[s], i_link[s] / rated, low=False):
                    violations.append(
                        Violation(
                            ViolationKind.OVERLOAD,
                            net.switches.id[switches[i]],
                            float(i_link[s, i]),
                            float(rated[i]),
                        )
                    )
                violations.extend(transformer[s])
            w = int(worst[s])
            if w < 0:
                element = ""
            elif w < n_lines:
                element = net.sections.id[line_edges[w]]
            else:
                element = net.switches.id[switches[w - n_lines]]
            lowest, highest = float(u_on_low[s]), float(u_on_high[s])
            out.append(
                ScenarioResult(
                    True,
                    tuple(violations),
                    lowest if math.isfinite(lowest) else math.nan,
                    highest if math.isfinite(highest) else math.nan,
                    float(loading[s, w]) if w >= 0 else 0.0,
                    element,
                    energised[s],
                    float(losses[s]),
                )
            )
        return out

    def _transformer_violations(
        self,
        result: dict[ComponentType, NDArray[np.void]],
        k: int,
        busbar_va: dict[int, tuple[int, complex]],
    ) -> list[list[Violation]]:
        """Per scenario: the busbars that would deliver more than their transformers' rating
        (the sub-network's draw from the source plus the outside load)."""
        out: list[list[Violation]] = [[] for _ in range(k)]
        if not busbar_va or ComponentType.source not in result:
            return out
        src = result[ComponentType.source]
        subs = self.network.substations
        for position, (busbar, outside) in busbar_va.items():
            substation, rating_va = self._busbar_rating[busbar]
            p = src["p"][:, position] + outside.real
            q = src["q"][:, position] + outside.imag
            drawn = np.hypot(p, q)
            for s in np.flatnonzero(drawn > rating_va * (1 + _MARGIN)).tolist():
                out[s].append(
                    Violation(
                        ViolationKind.TRANSFORMER_OVERLOAD,
                        subs.id[substation],
                        float(drawn[s]) / 1e6,
                        rating_va / 1e6,
                    )
                )
        return out


def _worst(mask: Bools, value: Floats, *, low: bool) -> list[int]:
    """The positions of ``mask``, the :data:`MAX_LISTED` worst first (lowest or highest)."""
    found = np.flatnonzero(mask)
    if len(found) > MAX_LISTED:
        order = np.argsort(value[found] if low else -value[found], kind="stable")
        found = found[order[:MAX_LISTED]]
    listed: list[int] = found.tolist()
    return listed
