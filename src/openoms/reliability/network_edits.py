"""Editing a network for the placement evaluator: rows taken or appended to the column
tables, a switch added, a section split by a new switch, one feeder alone (a sub-network
with its ties' far ends on its busbar) and many one-feeder networks side by side as the
separate feeders of one network (for the engine only). Pure; every function returns a new
network and leaves its input alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from itertools import chain
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from openoms.grid.model import ElementKind, Network
from openoms.grid.schema import NodeKind, SwitchKind
from openoms.grid.topology import STATION
from openoms.reliability.predict import Override

__all__ = [
    "add_switch",
    "append_row",
    "feeder_alone",
    "fresh_id",
    "ids_of",
    "side_by_side",
    "split_section",
    "take_rows",
    "with_tables",
]


def take_rows(table: Any, index: NDArray[np.int64], **columns: Any) -> Any:
    """The rows ``index`` of a column table (tuples and arrays), some columns replaced."""
    values: dict[str, Any] = {}
    for f in fields(table):
        if f.name in columns:
            continue
        column = getattr(table, f.name)
        if isinstance(column, np.ndarray):
            values[f.name] = column[index] if len(column) else column
        elif isinstance(column, tuple) and (len(column) or f.name == "id"):
            values[f.name] = tuple(column[i] for i in index.tolist())
        else:
            values[f.name] = column
    return type(table)(**values, **columns)


def append_row(table: Any, row: Mapping[str, Any]) -> Any:
    """``table`` with one more row (every column named in ``row``)."""
    values: dict[str, Any] = {}
    for f in fields(table):
        column = getattr(table, f.name)
        if isinstance(column, np.ndarray):
            values[f.name] = np.append(column, np.asarray([row[f.name]], dtype=column.dtype))
        elif isinstance(column, tuple) and (len(column) or f.name in row):
            values[f.name] = (*column, row[f.name])
        else:
            values[f.name] = column
    return type(table)(**values)


def fresh_id(network: Network, wanted: str) -> str:
    out, k = wanted, 1
    while out in network:
        k += 1
        out = f"{wanted}-{k}"
    return out


def ids_of(network: Network) -> dict[str, tuple[ElementKind, int]]:
    return dict(network._ids)


def with_tables(network: Network, **tables: Any) -> Network:
    return replace(network, **tables)


def add_switch(  # noqa: PLR0917  (internal)
    network: Network,
    ids: dict[str, tuple[ElementKind, int]],
    switch_id: str,
    name: str,
    ends: tuple[int, int],
    kind: str,
    closed: bool,
    rated_a: float,
) -> Any:
    sw = network.switches
    ids[switch_id] = (ElementKind.SWITCH, len(sw.id))
    return append_row(
        sw,
        {
            "id": switch_id,
            "name": name,
            "from_node": ends[0],
            "to_node": ends[1],
            "kind": kind,
            "normal_closed": closed,
            "present_closed": closed,
            "remote": True,
            "rated_a": rated_a,
        },
    )


def split_section(
    network: Network, over: dict[str, Override], section: int
) -> tuple[Network, dict[str, Override]]:
    """A remote load-break switch in the middle of ``section``: ``a ─e─ m1 ─FTU─ m2 ─e'─ b``,
    each half of half the length (and half an own failure rate)."""
    sec, nodes = network.sections, network.nodes
    ids = ids_of(network)
    sid = sec.id[section]
    a, b = int(sec.from_node[section]), int(sec.to_node[section])
    m1, m2 = fresh_id(network, f"{sid}~a"), fresh_id(network, f"{sid}~b")
    new_nodes = nodes
    for node_id in (m1, m2):
        ids[node_id] = (ElementKind.NODE, len(new_nodes.id))
        new_nodes = append_row(
            new_nodes,
            {
                "id": node_id,
                "name": None,
                "kind": NodeKind.POLE.value,
                "lon_deg": (nodes.lon_deg[a] + nodes.lon_deg[b]) / 2,
                "lat_deg": (nodes.lat_deg[a] + nodes.lat_deg[b]) / 2,
                "grid_cell": nodes.grid_cell[a],
            },
        )
    i1, i2 = len(nodes.id), len(nodes.id) + 1
    half = sec.length_km[section] / 2
    length = sec.length_km.copy()
    length[section] = half
    to_node = sec.to_node.copy()
    to_node[section] = i1
    second = fresh_id(network, f"{sid}~2")
    row = {f.name: getattr(sec, f.name)[section] for f in fields(sec)}
    row.update(id=second, from_node=i2, to_node=b, length_km=half)
    ids[second] = (ElementKind.SECTION, len(sec.id))
    new_sec = append_row(replace(sec, length_km=length, to_node=to_node), row)
    # edges: a section appended shifts every switch edge by one
    n_sec = len(sec.id)
    head = network.feeders.head_edge
    feeders = replace(network.feeders, head_edge=np.where(head >= n_sec, head + 1, head))
    det = network.detectors
    detectors = replace(det, edge=np.where(det.edge >= n_sec, det.edge + 1, det.edge))
    moved = replace(network, sections=new_sec, nodes=new_nodes)
    ftu = fresh_id(network, f"FTU-{sid}")
    name = f"{sec.name[section] or sid} FTU"
    switches = add_switch(
        moved,
        ids,
        ftu,
        name,
        (i1, i2),
        SwitchKind.LOAD_BREAK_SWITCH.value,
        True,
        float(sec.ampacity_a[section]),
    )
    out = with_tables(moved, switches=switches, feeders=feeders, detectors=detectors, _ids=ids)
    o = over.get(sid)
    if o is not None and o.failure_rate is not None:
        over = dict(over)
        over[sid] = replace(o, failure_rate=o.failure_rate / 2)
        over[second] = replace(o, failure_rate=o.failure_rate / 2)
    return out, over


_NODE_COLUMNS: Final = {"from_node", "to_node", "node", "busbar_node"}


def side_by_side(
    made: Sequence[tuple[Network, Mapping[str, Override]]],
) -> tuple[Network, dict[str, Override]]:
    """One network of the one-feeder networks ``made`` as separate feeders, for the
    engine only: its ids repeat, and its lookup holds only the overridden elements, under
    ``id#k`` (``k`` the copy), as the overrides returned."""
    n_sections = sum(len(net.sections.id) for net, _ in made)
    heads = []
    sec_at = sw_at = 0
    for net, _ in made:
        head = int(net.feeders.head_edge[0])
        n_sec = len(net.sections.id)
        heads.append(sec_at + head if head < n_sec else n_sections + sw_at + head - n_sec)
        sec_at += n_sec
        sw_at += len(net.switches.id)
    node_offset = np.cumsum([0] + [len(net.nodes.id) for net, _ in made])
    first = made[0][0]
    values: dict[str, Any] = {}
    starts: dict[str, list[int]] = {}
    for name in (
        "substations",
        "feeders",
        "nodes",
        "sections",
        "switches",
        "transformer_areas",
        "hv_customers",
    ):
        columns: dict[str, Any] = {}
        template = getattr(first, name)
        tables = [getattr(net, name) for net, _ in made]
        starts[name] = np.cumsum([0] + [len(t.id) for t in tables]).tolist()
        for f in fields(template):
            parts = [getattr(t, f.name) for t in tables]
            if f.name in _NODE_COLUMNS:
                parts = [p + node_offset[k] for k, p in enumerate(parts)]
            elif name == "feeders" and f.name == "substation":
                parts = [p + k for k, p in enumerate(parts)]
            if isinstance(parts[0], np.ndarray):
                columns[f.name] = np.concatenate(parts).astype(parts[0].dtype)
            else:
                columns[f.name] = tuple(chain.from_iterable(parts))
        if name == "feeders":
            columns["head_edge"] = np.asarray(heads, dtype=template.head_edge.dtype)
        values[name] = type(template)(**columns)
    ids: dict[str, tuple[ElementKind, int]] = {}
    over: dict[str, Override] = {}
    for k, (net, own) in enumerate(made):
        for element, o in own.items():
            if element in net:
                kind, index = net.locate(element)
                key = f"{element}#{k}"
                ids[key] = (
                    (kind, index + starts[kind.value][k])
                    if kind.value in starts
                    else (
                        kind,
                        index,
                    )
                )
                over[key] = o
    none = np.zeros(0, dtype=np.int64)
    network = replace(
        first,
        name=f"{first.name}+{len(made)}",
        detectors=take_rows(first.detectors, none),
        sensitive_customers=take_rows(first.sensitive_customers, none),
        _ids=ids,
        **values,
    )
    return network, over


def feeder_alone(network: Network, feeder_of: NDArray[Any], f: int) -> tuple[Network, int]:
    """Feeder ``f`` alone: its nodes, the busbar of its substation, its edges, and its open
    switches to other feeders or the station with their far ends on that busbar. Closed
    edges to other feeders (loop edges, ignored by the engine) and open ones to dead nodes
    (no use as ties) are left out."""
    busbar = int(network.substations.busbar_node[network.feeders.substation[f]])
    here = feeder_of == f
    here[busbar] = True
    keep_nodes = np.flatnonzero(here)
    new_index = np.full(len(here), -1, dtype=np.int64)
    new_index[keep_nodes] = np.arange(len(keep_nodes))
    energised = (feeder_of >= 0) | (feeder_of == STATION)

    def edges(table: Any, closed: NDArray[np.bool_]) -> tuple[Any, NDArray[np.int64]]:
        a, b = table.from_node.astype(np.int64), table.to_node.astype(np.int64)
        both = here[a] & here[b]
        a_out = here[b] & ~here[a] & energised[a] & ~closed
        b_out = here[a] & ~here[b] & energised[b] & ~closed
        keep = np.flatnonzero(both | a_out | b_out)
        at = busbar
        fa = np.where(a_out[keep], new_index[at], new_index[a[keep]])
        fb = np.where(b_out[keep], new_index[at], new_index[b[keep]])
        return take_rows(
            table, keep, from_node=fa.astype(np.int32), to_node=fb.astype(np.int32)
        ), keep

    sec, keep_sec = edges(network.sections, np.ones(len(network.sections.id), dtype=np.bool_))
    sw, keep_sw = edges(network.switches, network.switches.normal_closed)
    n_sec_old = len(network.sections.id)
    head = int(network.feeders.head_edge[f])
    if head < n_sec_old:
        new_head = int(np.searchsorted(keep_sec, head))
    else:
        new_head = len(keep_sec) + int(np.searchsorted(keep_sw, head - n_sec_old))
    s = int(network.feeders.substation[f])
    substations = take_rows(network.substations, np.asarray([s]))
    substations = replace(substations, busbar_node=np.asarray([new_index[busbar]], dtype=np.int32))
    feeders = take_rows(
        network.feeders,
        np.asarray([f]),
        substation=np.zeros(1, dtype=np.int32),
        head_edge=np.asarray([new_head], dtype=np.int32),
    )
    ta, hv = network.transformer_areas, network.hv_customers
    keep_ta = np.flatnonzero(feeder_of[ta.node] == f)
    keep_hv = np.flatnonzero(feeder_of[hv.node] == f)
    none = np.zeros(0, dtype=np.int64)
    sub = Network(
        name=f"{network.name}/{network.feeders.id[f]}",
        substations=substations,
        feeders=feeders,
        nodes=take_rows(network.nodes, keep_nodes),
        sections=sec,
        switches=sw,
        detectors=take_rows(network.detectors, none),
        transformer_areas=take_rows(ta, keep_ta, node=new_index[ta.node[keep_ta]].astype(np.int32)),
        hv_customers=take_rows(hv, keep_hv, node=new_index[hv.node[keep_hv]].astype(np.int32)),
        sensitive_customers=take_rows(network.sensitive_customers, none),
        grid_cells=network.grid_cells,
        _ids={},
    )
    ids: dict[str, tuple[ElementKind, int]] = {}
    for kind, table in (
        (ElementKind.SUBSTATION, sub.substations),
        (ElementKind.FEEDER, sub.feeders),
        (ElementKind.NODE, sub.nodes),
        (ElementKind.SECTION, sub.sections),
        (ElementKind.SWITCH, sub.switches),
        (ElementKind.TRANSFORMER_AREA, sub.transformer_areas),
        (ElementKind.HV_CUSTOMER, sub.hv_customers),
    ):
        ids.update((element, (kind, i)) for i, element in enumerate(table.id))
    return replace(sub, _ids=ids), int(new_index[busbar])
