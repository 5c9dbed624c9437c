"""Network-level checks: ids, references, feeders and the shape of the graph.

Runs after :mod:`.parse` on typed rows and adds every problem it finds: duplicate ids
(unique across the whole network), references to ids that do not exist or are of the wrong
kind, branches without two ends, feeders without a source, closed loops through closed
switches in the normal state (named by their devices), islands that carry load but can never
reach a source, and load that is dead in the normal state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from openoms.grid.parse import ParsedNetwork
from openoms.grid.problems import Problem, ProblemKind, Severity
from openoms.grid.records import Location
from openoms.grid.schema import TABLES, FieldType, SwitchState
from openoms.grid.telecontrol import check_telecontrol

__all__ = ["IdEntry", "index_ids", "validate_parsed"]

_SHOWN_DEVICES = 40  # devices listed in one loop / island problem


@dataclass(frozen=True, slots=True)
class IdEntry:
    table: str
    row: int  # index in the parsed table


def _singular(table: str) -> str:
    """``switches`` → ``switch``, ``transformer_areas`` → ``transformer area``."""
    name = table.replace("_", " ")
    return name[:-2] if name.endswith("ches") else name[:-1]


def index_ids(parsed: ParsedNetwork, problems: list[Problem]) -> dict[str, IdEntry]:
    """Map every id to its table and row; report every repeated id."""
    ids: dict[str, IdEntry] = {}
    for spec in TABLES:
        table = parsed.tables[spec.name]
        if spec.fields[0].name != "id":
            continue  # a table of rows without ids (telecontrol_points)
        for i, row in enumerate(table.rows):
            element_id = row["id"]
            if element_id is None:
                continue
            first = ids.get(element_id)
            if first is None:
                ids[element_id] = IdEntry(spec.name, i)
                continue
            where = parsed.tables[first.table].locations[first.row]
            problems.append(
                Problem(
                    ProblemKind.DUPLICATE_ID,
                    spec.name,
                    table.locations[i],
                    f"id {element_id!r} is already used by {_singular(first.table)} at {where}",
                    field="id",
                    element_id=element_id,
                )
            )
    return ids


def _check_references(
    parsed: ParsedNetwork, ids: dict[str, IdEntry], problems: list[Problem]
) -> None:
    for spec in TABLES:
        refs = [f for f in spec.fields if f.type is FieldType.REFERENCE]
        table = parsed.tables[spec.name]
        for row, location in zip(table.rows, table.locations, strict=True):
            for field in refs:
                target = row[field.name]
                if target is None:
                    continue
                entry = ids.get(target)
                if entry is not None and entry.table in field.references:
                    continue
                what = " or ".join(_singular(r) for r in field.references)
                message = (
                    f"{target!r} is not a known {what}"
                    if entry is None
                    else f"{target!r} is a {_singular(entry.table)}, not a {what}"
                )
                problems.append(
                    Problem(
                        ProblemKind.UNKNOWN_REFERENCE,
                        spec.name,
                        location,
                        message,
                        field=field.name,
                        element_id=row.get("id"),
                    )
                )
                row[field.name] = None  # so that later checks skip it


def _check_branch_ends(parsed: ParsedNetwork, problems: list[Problem]) -> None:
    for name in ("sections", "switches"):
        table = parsed.tables[name]
        for row, location in zip(table.rows, table.locations, strict=True):
            if row["from_node"] is not None and row["from_node"] == row["to_node"]:
                problems.append(
                    Problem(
                        ProblemKind.SECTION_WITHOUT_ENDS,
                        name,
                        location,
                        f"both ends are node {row['from_node']!r}: a branch needs two ends",
                        field="to_node",
                        element_id=row["id"],
                    )
                )


def _check_feeders(parsed: ParsedNetwork, ids: dict[str, IdEntry], problems: list[Problem]) -> None:
    substations = parsed.tables["substations"]
    busbar_of = {row["id"]: row["busbar_node"] for row in substations.rows}
    feeders = parsed.tables["feeders"]
    fed: set[str] = set()
    for row, location in zip(feeders.rows, feeders.locations, strict=True):
        if row["substation"] is None or row["head"] is None:
            continue  # already reported
        busbar = busbar_of.get(row["substation"])
        entry = ids[row["head"]]
        head = parsed.tables[entry.table].rows[entry.row]
        if busbar is None:
            continue
        fed.add(row["substation"])
        if busbar not in (head["from_node"], head["to_node"]):
            problems.append(
                Problem(
                    ProblemKind.FEEDER_WITHOUT_SOURCE,
                    "feeders",
                    location,
                    f"feeder has no source: its head {row['head']!r} connects "
                    f"{head['from_node']!r}–{head['to_node']!r}, not the busbar {busbar!r} of "
                    f"substation {row['substation']!r}",
                    field="head",
                    element_id=row["id"],
                )
            )
    for row, location in zip(substations.rows, substations.locations, strict=True):
        if row["id"] is not None and row["id"] not in fed:
            problems.append(
                Problem(
                    ProblemKind.SUBSTATION_WITHOUT_FEEDER,
                    "substations",
                    location,
                    "no feeder leaves this substation",
                    element_id=row["id"],
                    severity=Severity.WARNING,
                )
            )


@dataclass(slots=True)
class _Graph:
    n: int
    node_ids: list[str]
    edge_ids: list[str]
    edge_tables: list[str]
    edge_locations: list[Location]
    u: np.ndarray
    v: np.ndarray
    closed: np.ndarray
    sources: list[int]


def _graph(parsed: ParsedNetwork) -> _Graph:
    nodes = parsed.tables["nodes"]
    node_ids = [row["id"] for row in nodes.rows]
    index = {nid: i for i, nid in enumerate(node_ids) if nid is not None}
    us: list[int] = []
    vs: list[int] = []
    closed: list[bool] = []
    edge_ids: list[str] = []
    tables: list[str] = []
    locations: list[Location] = []
    for name in ("sections", "switches"):
        table = parsed.tables[name]
        for row, location in zip(table.rows, table.locations, strict=True):
            a, b = index.get(row["from_node"]), index.get(row["to_node"])
            if a is None or b is None or a == b:
                continue
            us.append(a)
            vs.append(b)
            state = row.get("normal_state")
            closed.append(state != SwitchState.OPEN.value)
            edge_ids.append(row["id"])
            tables.append(name)
            locations.append(location)
    sources = sorted(
        {
            index[row["busbar_node"]]
            for row in parsed.tables["substations"].rows
            if row["busbar_node"] in index
        }
    )
    return _Graph(
        len(node_ids),
        node_ids,
        edge_ids,
        tables,
        locations,
        np.asarray(us, dtype=np.int64),
        np.asarray(vs, dtype=np.int64),
        np.asarray(closed, dtype=np.bool_),
        sources,
    )


def _check_loops(g: _Graph, problems: list[Problem]) -> None:
    """Closed loops through closed branches in the normal state (sources joined as one)."""
    root = g.n  # a virtual node joining every source: a path between two sources is a loop
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(g.n + 1)]
    for e in np.flatnonzero(g.closed).tolist():
        a, b = int(g.u[e]), int(g.v[e])
        adjacency[a].append((b, e))
        adjacency[b].append((a, e))
    for s in g.sources:
        adjacency[root].append((s, -1))
        adjacency[s].append((root, -1))
    parent = [-2] * (g.n + 1)
    parent_edge = [-1] * (g.n + 1)
    depth = [0] * (g.n + 1)
    reported: set[int] = set()
    for start in [root, *range(g.n)]:
        if parent[start] != -2:
            continue
        parent[start] = -1
        queue = deque([start])
        while queue:
            a = queue.popleft()
            for b, e in adjacency[a]:
                if e == parent_edge[a] and e >= 0:
                    continue
                if parent[b] == -2:
                    parent[b], parent_edge[b], depth[b] = a, e, depth[a] + 1
                    queue.append(b)
                elif e >= 0 and e not in reported:
                    reported.add(e)
                    problems.append(
                        _loop_problem(
                            g, e, a=a, b=b, parent=parent, parent_edge=parent_edge, depth=depth
                        )
                    )


def _loop_problem(
    g: _Graph,
    e: int,
    *,
    a: int,
    b: int,
    parent: list[int],
    parent_edge: list[int],
    depth: list[int],
) -> Problem:
    edges = [e]
    while a != b:  # climb to the lowest common ancestor
        if depth[a] >= depth[b]:
            edges.append(parent_edge[a])
            a = parent[a]
        else:
            edges.append(parent_edge[b])
            b = parent[b]
    through_source = -1 in edges
    devices = [g.edge_ids[x] for x in edges if x >= 0]
    switches = [g.edge_ids[x] for x in edges if x >= 0 and g.edge_tables[x] == "switches"]
    kind = "a parallel between sources" if through_source else "a closed loop"
    listed = ", ".join(devices[:_SHOWN_DEVICES]) + (" …" if len(devices) > _SHOWN_DEVICES else "")
    return Problem(
        ProblemKind.CLOSED_LOOP,
        g.edge_tables[e],
        g.edge_locations[e],
        f"{kind} through closed branches in the normal state ({len(devices)} branches, "
        f"switches: {', '.join(switches) or 'none'}): {listed}; open one of its switches",
        element_id=g.edge_ids[e],
        devices=tuple(devices),
    )


def _check_islands(parsed: ParsedNetwork, g: _Graph, problems: list[Problem]) -> None:
    """Load that no switch position can supply, and load that is dead in the normal state."""
    if g.n == 0:
        return
    index = {nid: i for i, nid in enumerate(g.node_ids) if nid is not None}
    loads: list[tuple[int, str, str, Location]] = []
    for name in ("transformer_areas", "hv_customers"):
        table = parsed.tables[name]
        for row, location in zip(table.rows, table.locations, strict=True):
            node = index.get(row["node"])
            if node is not None:
                loads.append((node, name, row["id"], location))
    if not loads:
        return
    for closed_only, kind, severity, why in (
        (
            False,
            ProblemKind.ISLAND_WITHOUT_SOURCE,
            Severity.ERROR,
            "has load but no path to any source, whatever the switch positions",
        ),
        (
            True,
            ProblemKind.DEAD_IN_NORMAL_STATE,
            Severity.WARNING,
            "is not supplied in the normal state (check the normal switch positions)",
        ),
    ):
        keep = g.closed if closed_only else np.ones(len(g.u), dtype=np.bool_)
        matrix = coo_matrix((np.ones(int(keep.sum())), (g.u[keep], g.v[keep])), shape=(g.n, g.n))
        _, label = connected_components(matrix, directed=False)
        supplied = set(label[g.sources].tolist())
        dead_labels: dict[int, list[tuple[int, str, str, Location]]] = {}
        for load in loads:
            lab = int(label[load[0]])
            if lab not in supplied:
                dead_labels.setdefault(lab, []).append(load)
        for lab, members in dead_labels.items():
            node_ids = [g.node_ids[i] for i in np.flatnonzero(label == lab)[:_SHOWN_DEVICES]]
            _, table_name, first_id, location = members[0]
            ids = [m[2] for m in members]
            problems.append(
                Problem(
                    kind,
                    table_name,
                    location,
                    f"the island of {int((label == lab).sum())} node(s) ({', '.join(node_ids)}) "
                    f"with {len(members)} load(s) ({', '.join(ids[:_SHOWN_DEVICES])}) {why}",
                    element_id=first_id,
                    devices=tuple(ids),
                    severity=severity,
                )
            )
        if any(p.kind is ProblemKind.ISLAND_WITHOUT_SOURCE for p in problems):
            return  # dead-in-normal-state would repeat the same islands


def validate_parsed(parsed: ParsedNetwork, problems: list[Problem]) -> dict[str, IdEntry]:
    """Add every network-level problem to ``problems``; return the id index."""
    ids = index_ids(parsed, problems)
    _check_references(parsed, ids, problems)
    _check_branch_ends(parsed, problems)
    _check_feeders(parsed, ids, problems)
    graph = _graph(parsed)
    _check_loops(graph, problems)
    _check_islands(parsed, graph, problems)
    check_telecontrol(parsed, problems)
    return ids
