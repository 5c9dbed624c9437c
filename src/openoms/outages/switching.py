"""The effect of a switching sequence: who loses supply, who regains it, loops and parallels.

Operations are applied in order to a preview of the present topology (the live state is left
exactly as it was); the result compares the state before the first operation with the state
after the last, so "close the tie, then open the section switch" reads as one transfer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openoms.grid.topology import STATION
from openoms.i18n import Lang, join_list
from openoms.outages.impact import Impact, ImpactAnalyser

__all__ = [
    "LoopWarning",
    "Operation",
    "SwitchingEffect",
    "switching_effect",
    "unchanged_operations",
]


@dataclass(frozen=True, slots=True)
class Operation:
    """Open or close one switch (or take a section out of / into service)."""

    device: str
    close: bool

    def __str__(self) -> str:
        return f"{'close' if self.close else 'open'} {self.device}"


@dataclass(frozen=True, slots=True)
class LoopWarning:
    """A closing that makes a loop within a feeder or a parallel between sources."""

    device: str
    parallel: bool
    feeders: tuple[str, ...]  # feeder ids; "substation" for a station-zone end

    def describe(self, lang: Lang) -> str:
        feeders = join_list(list(self.feeders), lang)
        if lang is Lang.ZH:
            if self.parallel:
                return f"合上 {self.device} 将使 {feeders} 并列（合环）运行"
            return f"合上 {self.device} 将在 {feeders} 上形成闭环"
        what = "a parallel between" if self.parallel else "a closed loop on"
        return f"closing {self.device} makes {what} {feeders}"


@dataclass(frozen=True, slots=True, eq=False)
class SwitchingEffect:
    operations: tuple[Operation, ...]
    lost: Impact
    regained: Impact
    transferred: Impact  # supplied before and after, by another feeder after
    loops: tuple[LoopWarning, ...]
    unchanged: tuple[Operation, ...] = ()  # operations that find the device already so

    def warnings(self, lang: Lang = Lang.ZH) -> list[str]:
        """One line per operation that changes nothing (closing a closed switch, opening an
        open one), in the order given."""
        if lang is Lang.ZH:
            return [
                f"{_operation(op, lang)} 不改变任何状态：{op.device} 在该步之前已在"
                f"{'合位' if op.close else '分位'}"
                for op in self.unchanged
            ]
        return [
            f"{op} changes nothing: {op.device} is already {'closed' if op.close else 'open'} "
            "at that step"
            for op in self.unchanged
        ]

    def summary(self, lang: Lang = Lang.ZH) -> str:
        steps = join_list([_operation(op, lang) for op in self.operations], lang)
        parts: list[str] = []
        if lang is Lang.ZH:
            if not self.lost.is_empty:
                parts.append(f"停电：{self.lost.scope(lang)}")
            if not self.regained.is_empty:
                parts.append(f"恢复供电：{self.regained.scope(lang, lost=False)}")
            if not self.transferred.is_empty:
                parts.append(f"转由其他线路供电：{self.transferred.scope(lang, lost=False)}")
            if not parts:
                parts.append("用户供电不变")
            parts += [w.describe(lang) for w in self.loops]
            return f"{steps}后，" + "；".join(parts) + "。"
        if not self.lost.is_empty:
            parts.append(f"supply is lost to {self.lost.scope(lang)}")
        if not self.regained.is_empty:
            parts.append(f"supply is restored to {self.regained.scope(lang, lost=False)}")
        if not self.transferred.is_empty:
            parts.append(
                f"transferred to another feeder: {self.transferred.scope(lang, lost=False)}"
            )
        if not parts:
            parts.append("no customer changes supply")
        parts += [w.describe(lang) for w in self.loops]
        return f"After {steps}: " + "; ".join(parts) + "."

    def as_dict(self) -> dict[str, object]:
        return {
            "operations": [{"device": op.device, "close": op.close} for op in self.operations],
            "lost": self.lost.as_dict(),
            "regained": self.regained.as_dict(),
            "transferred": self.transferred.as_dict(),
            "loops": [
                {
                    "device": w.device,
                    "kind": "parallel" if w.parallel else "loop",
                    "feeders": list(w.feeders),
                }
                for w in self.loops
            ],
            "unchanged": [{"device": op.device, "close": op.close} for op in self.unchanged],
        }


def _operation(op: Operation, lang: Lang) -> str:
    if lang is Lang.ZH:
        return f"{'合上' if op.close else '断开'} {op.device}"
    return str(op)


def unchanged_operations(
    closed: Sequence[bool] | np.ndarray, edges: Sequence[int], operations: Sequence[Operation]
) -> tuple[Operation, ...]:
    """The operations that leave their device as it is at their step: ``closed`` is every
    edge's state before the first operation, ``edges`` the operations' edges."""
    state: dict[int, bool] = {}
    found: list[Operation] = []
    for edge, op in zip(edges, operations, strict=True):
        now = state.get(edge, bool(closed[edge]))
        if now == op.close:
            found.append(op)
        state[edge] = op.close
    return tuple(found)


def switching_effect(analyser: ImpactAnalyser, operations: Sequence[Operation]) -> SwitchingEffect:
    """The effect of ``operations`` in order; the analyser's topology is left as it was."""
    network, topology = analyser.network, analyser.topology
    devices = [op.device for op in operations]
    edges = analyser.edges(devices)
    unchanged = unchanged_operations(topology.closed, edges, operations)
    if True not in [op.close for op in operations]:
        # Openings only, and no loop or parallel reaching the branches: what is lost is the
        # subtrees below them in the present state; nothing is regained, transferred or looped
        # (operating and undoing would give the same, at the cost of the feeders).
        lost = analyser.radial_impact(tuple(devices), edges)
        if lost is not None:
            nobody = analyser.nobody()
            return SwitchingEffect(tuple(operations), lost, nobody, nobody, (), unchanged)
    ops = [(e, op.close) for e, op in zip(edges, operations, strict=True)]
    before = {e: bool(topology.closed[e]) for e in edges}
    change = topology.operate(ops)
    try:
        # While a loop or parallel stays closed at the end, which feeder "supplies" a node is a
        # convention of the index (the lower-numbered feeder absorbs the other), not a
        # transfer: report none then.
        looped_at_end = len(topology.loop_edges()) > 0
    finally:
        # Putting every touched edge back gives back the same state (the index is a function
        # of the switch states alone).
        topology.operate([(e, before[e]) for e in reversed(edges)])
    closed = np.asarray(
        [e for e, op in zip(edges, operations, strict=True) if op.close], dtype=np.int32
    )
    opened = np.asarray(
        [e for e, op in zip(edges, operations, strict=True) if not op.close], dtype=np.int32
    )
    lost = analyser.impact_of_nodes(
        tuple(op.device for op in operations if not op.close),
        np.sort(change.lost.astype(np.int32)),
        opened,
    )
    regained = analyser.impact_of_nodes(
        tuple(op.device for op in operations if op.close),
        np.sort(change.regained.astype(np.int32)),
        closed[:0],
    )

    def feeder_name(code: int) -> str:
        return "substation" if code == STATION else network.feeders.id[code]

    loops = tuple(
        LoopWarning(
            network.edge_id(loop.edge),
            loop.kind.value == "parallel",
            tuple(feeder_name(f) for f in loop.feeders),
        )
        for loop in change.loops
    )
    moved = change.transferred[:0] if looped_at_end else change.transferred
    transferred = analyser.impact_of_nodes((), np.sort(moved.astype(np.int32)), closed[:0])
    return SwitchingEffect(tuple(operations), lost, regained, transferred, loops, unchanged)
