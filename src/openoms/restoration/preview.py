"""The power-flow check of a typed switching sequence (the ``openoms switching`` preview).

The feeders the sequence touches, before and after it (the receiving feeder of a transfer
included), in one power-grid-model batch of two scenarios: the present state and the state
after the last operation. What the sequence breaks is what the second violates and the first
did not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openoms.grid.topology import STATION, Topology
from openoms.i18n import Lang, join_list
from openoms.restoration.powerflow import PowerFlowModel, ScenarioResult, Violation

__all__ = ["SwitchingCheck", "switching_check"]


@dataclass(frozen=True, slots=True)
class SwitchingCheck:
    feeders: tuple[str, ...]  # the feeders checked (ids): those touched, before or after
    before: ScenarioResult
    after: ScenarioResult

    @property
    def new_violations(self) -> tuple[Violation, ...]:
        known = {(v.kind, v.element) for v in self.before.violations}
        return tuple(v for v in self.after.violations if (v.kind, v.element) not in known)

    @property
    def ok(self) -> bool:
        return self.after.converged and not self.new_violations

    def describe(self, lang: Lang = Lang.ZH) -> list[str]:
        zh = lang is Lang.ZH
        feeders = join_list(list(self.feeders), lang)
        after = self.after
        if not after.converged:
            return [
                f"潮流校核（{feeders}）：操作后潮流不收敛，受电线路无法承担"
                if zh
                else f"power flow ({feeders}): no solution after the sequence; the receiving "
                "feeder cannot carry the load"
            ]
        head = (
            f"潮流校核（{feeders}）：操作后最低电压 {after.min_u_pu:.3f} pu，最大负载率 "
            f"{after.max_loading:.0%}（{after.max_loading_element}）"
            if zh
            else f"power flow ({feeders}): after the sequence the lowest voltage is "
            f"{after.min_u_pu:.3f} pu, the highest loading {after.max_loading:.0%} "
            f"({after.max_loading_element})"
        )
        lines = [head]
        new = self.new_violations
        shown = new[:10]
        lines += [("越限：" if zh else "limit violated: ") + v.describe(zh) for v in shown]
        if len(new) > len(shown):
            more = len(new) - len(shown)
            lines.append(f"另有 {more} 处越限" if zh else f"{more} more violations")
        if not new:
            lines.append("未发现新的越限" if zh else "no limit newly violated")
        return lines


def switching_check(
    model: PowerFlowModel, topology: Topology, ops: Sequence[tuple[int, bool]]
) -> SwitchingCheck:
    """Check ``ops`` (edge, closed) by power flow; the topology is left as it was."""
    network = model.network
    before_closed = topology.closed.copy()
    before_codes = topology.feeder_of_nodes.copy()
    ends = {int(v) for e, _ in ops for v in (network.edge_from[e], network.edge_to[e])}
    touched = sorted({e for e, _ in ops})
    parts = [np.asarray(sorted(ends), dtype=np.int32)]
    feeders_after: set[int] = set()

    def collect(codes: np.ndarray, extra: np.ndarray) -> set[int]:
        picked = {int(codes[v]) for v in ends} | {int(c) for c in codes[extra].tolist()}
        return {f for f in picked if f >= 0}

    change = topology.operate(list(ops))
    try:
        moved = np.concatenate([change.regained, change.transferred, change.lost])
        feeders_after = collect(topology.feeder_of_nodes, moved)
        for f in feeders_after:
            parts.append(np.asarray(topology.feeder_nodes(f), dtype=np.int32))
    finally:
        topology.operate([(e, bool(before_closed[e])) for e in reversed(touched)])
    feeders_before = collect(before_codes, moved)
    for f in feeders_before:
        parts.append(np.asarray(topology.feeder_nodes(f), dtype=np.int32))
    graph = topology.graph
    heads = [int(graph.feeder_head[f]) for f in range(graph.n_feeders)]
    for f in feeders_before | feeders_after:
        head = heads[f]
        parts.append(np.asarray([graph.edge_from[head], graph.edge_to[head]], dtype=np.int32))
    nodes = np.unique(np.concatenate(parts)).astype(np.int32)
    sources = nodes[before_codes[nodes] == STATION].astype(np.int32)
    before, after = model.check(
        nodes, sources, before_closed, [(), list(ops)], outside_feeders=before_codes
    )
    ids = tuple(network.feeders.id[f] for f in sorted(feeders_before | feeders_after))
    return SwitchingCheck(ids, before, after)
