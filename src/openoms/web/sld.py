"""A single-line diagram of one feeder, drawn as SVG from the network's tree.

The layout is schematic, not geographic: the feeder's main line (the branch that carries the
most of the feeder) runs left to right from the substation's busbar; each lateral hangs below
the main-line point it leaves from, drawn as an indented tree (one row per point, one column
per level), so that no two lines cross. The structure is the feeder as normally operated
(normally-open ties open); the colours and switch symbols are the present state: a line that
is dead now is grey and dashed, a closed switch is a filled square, an open one a hollow one.

Only the points that matter are drawn: the busbar, the ends of switches, branch points, line
ends and the points where transformer areas or HV customers are connected; the plain poles
between them are folded into the line. Layout is O(nodes of the feeder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.web.html import Html, join, render

__all__ = ["FeederDiagram", "feeder_diagram", "render_svg"]

COL_PX: Final = 34
ROW_PX: Final = 30
MAIN_Y: Final = 170
LEFT: Final = 40
DEAD_COLOUR: Final = "#9e9e9e"


@dataclass
class _Point:
    node: int
    edge: int  # the branch from its parent point (the last one, when poles were folded)
    switch: int  # the switch on that path nearest the point, -1 when none
    children: list[_Point] = field(default_factory=list)
    size: int = 1  # points in its subtree
    x: float = 0.0
    y: float = 0.0


@dataclass(frozen=True, slots=True)
class FeederDiagram:
    """A laid-out feeder: points with positions, ready to draw."""

    feeder: int
    root: _Point
    width: float
    height: float


def _normal_tree(network: Network) -> Topology:
    found = _NORMAL.get(id(network))
    if found is not None and found[0] is network:
        return found[1]
    topology = Topology.build(network.graph_arrays(), network.closed_edges(normal=True))
    _NORMAL.clear()
    _NORMAL[id(network)] = (network, topology)
    return topology


_NORMAL: dict[int, tuple[Network, Topology]] = {}


def feeder_diagram(network: Network, feeder: int) -> FeederDiagram:
    """Lay out ``feeder`` (an index) as normally operated."""
    normal = _normal_tree(network)
    code = np.asarray(normal.feeder_of_nodes)
    parent = np.asarray(normal.parent_of_nodes)
    parent_edge = np.asarray(normal.parent_edge_of_nodes)
    nodes = np.flatnonzero(code == feeder)
    n_sections = len(network.sections.id)
    has_load = np.zeros(len(network.nodes.id), dtype=bool)
    has_load[network.transformer_areas.node] = True
    has_load[network.hv_customers.node] = True
    children: dict[int, list[int]] = {}
    for node in nodes.tolist():
        children.setdefault(int(parent[node]), []).append(node)
    head = int(network.feeders.head_edge[feeder])
    busbar = int(network.substations.busbar_node[int(network.feeders.substation[feeder])])
    root = _Point(node=busbar, edge=-1, switch=-1)
    starts = [n for n in nodes.tolist() if int(parent_edge[n]) == head] or [
        n for n in nodes.tolist() if int(code[parent[n]]) != feeder
    ]

    def significant(node: int) -> bool:
        kids = children.get(node, [])
        return len(kids) != 1 or bool(has_load[node]) or int(parent_edge[kids[0]]) >= n_sections

    # Iterative build (feeders can be thousands of poles deep): fold plain poles.
    stack: list[tuple[int, _Point, int]] = [(s, root, -1) for s in reversed(starts)]
    while stack:
        node, above, switch = stack.pop()
        edge = int(parent_edge[node])
        if edge >= n_sections:
            switch = edge - n_sections
        if significant(node):
            point = _Point(node=node, edge=edge, switch=switch)
            above.children.append(point)
            above, switch = point, -1
        stack.extend((kid, above, switch) for kid in reversed(children.get(node, [])))
    _sizes(root)
    width, height = _layout(root)
    return FeederDiagram(feeder, root, width, height)


def _sizes(root: _Point) -> None:
    order: list[_Point] = []
    stack = [root]
    while stack:
        point = stack.pop()
        order.append(point)
        stack.extend(point.children)
    for point in reversed(order):
        point.size = 1 + sum(child.size for child in point.children)
        point.children.sort(key=lambda c: -c.size)


def _layout(root: _Point) -> tuple[float, float]:
    """Main line (heaviest path) horizontal; each lateral an indented tree below it."""
    main = [root]
    while main[-1].children:
        main.append(main[-1].children[0])
    x: float = LEFT
    bottom: float = MAIN_Y
    for point in main:
        point.x, point.y = x, MAIN_Y
        step = COL_PX
        for lateral in point.children[1:]:  # the first child continues the main line
            columns, rows = _indented(lateral, x + step, MAIN_Y + ROW_PX * 1.5)
            step += columns * COL_PX
            bottom = max(bottom, MAIN_Y + ROW_PX * (1.5 + rows))
        x += step
    return x + LEFT, bottom + ROW_PX * 2


def _indented(top: _Point, x0: float, y0: float) -> tuple[int, int]:
    """Place a lateral as an indented tree from (x0, y0); its (columns, rows)."""
    row = 0
    deepest = 0
    stack: list[tuple[_Point, int]] = [(top, 0)]
    while stack:
        point, level = stack.pop()
        point.x, point.y = x0 + level * COL_PX, y0 + row * ROW_PX
        row += 1
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in reversed(point.children))
    return deepest + 2, row


def render_svg(
    network: Network,
    diagram: FeederDiagram,
    present: Topology,
    *,
    colour: str,
    title: str,
    highlight: frozenset[int] = frozenset(),
) -> Html:
    """The diagram as an SVG element: present energisation and switch states, names as
    labels (switches, transformer areas, HV customers) and tooltips; ``highlight`` nodes
    (those of an outage) are ringed in red."""
    code = np.asarray(present.feeder_of_nodes)
    closed = np.asarray(present.closed)
    n_sections = len(network.sections.id)
    loads: dict[int, list[str]] = {}
    for i, node in enumerate(network.transformer_areas.node.tolist()):
        loads.setdefault(node, []).append(network.transformer_areas.name[i] or "")
    for i, node in enumerate(network.hv_customers.node.tolist()):
        loads.setdefault(node, []).append(network.hv_customers.name[i] or "")
    shapes: list[Html] = []
    labels: list[Html] = []
    stack = [diagram.root]
    while stack:
        above = stack.pop()
        for point in above.children:
            stack.append(point)
            live = int(code[point.node]) >= 0 and int(code[above.node]) != -1
            stroke = colour if live else DEAD_COLOUR
            dash = "" if live else ' stroke-dasharray="6 4"'
            path = (
                f"M{above.x:g} {above.y:g} H{point.x:g}"
                if point.y == above.y
                else f"M{above.x:g} {above.y:g} V{point.y:g} H{point.x:g}"
            )
            edge_name = network.edge_id(point.edge) if point.edge >= 0 else ""
            shapes.append(
                render(
                    '<path d="$d" stroke="$s" fill="none" stroke-width="2.5"$dash>'
                    "<title>$t</title></path>",
                    d=path,
                    s=stroke,
                    dash=Html(dash),
                    t=_edge_label(network, point.edge) or edge_name,
                )
            )
            if point.switch >= 0:
                shapes.append(
                    _switch(network, point, above, bool(closed[n_sections + point.switch]))
                )
            names = [n for n in loads.get(point.node, []) if n]
            if names:
                shapes.append(
                    render(
                        '<circle class="load" cx="$x" cy="$y" r="4"><title>$t</title></circle>',
                        x=f"{point.x:g}",
                        y=f"{point.y:g}",
                        t="、".join(names),
                    )
                )
                text = names[0] + ("…" if len(names) > 1 else "")
                on_main = point.y == MAIN_Y
                labels.append(_label(point.x + 6, point.y + 12, text, slanted=on_main))
            if point.node in highlight:
                shapes.append(
                    render(
                        '<circle class="off" cx="$x" cy="$y" r="9"/>',
                        x=f"{point.x:g}",
                        y=f"{point.y:g}",
                    )
                )
    root = diagram.root
    busbar = render(
        '<rect class="busbar" x="$x" y="$y" width="8" height="40"><title>$t</title></rect>',
        x=f"{root.x - 4:g}",
        y=f"{root.y - 20:g}",
        t=network.nodes.name[root.node] or network.nodes.id[root.node],
    )
    return render(
        '<svg xmlns="http://www.w3.org/2000/svg" class="sld" role="img" aria-labelledby="sld-t"'
        ' width="$w" height="$h" viewBox="0 0 $w $h"><title id="sld-t">$title</title>'
        '<g class="lines">$shapes</g>$busbar<g class="labels">$labels</g>'
        '<text x="$lx" y="20" class="sld-title">$title</text></svg>',
        w=f"{diagram.width:g}",
        h=f"{diagram.height:g}",
        title=title,
        shapes=join(shapes),
        busbar=busbar,
        labels=join(labels),
        lx=LEFT,
    )


def _edge_label(network: Network, edge: int) -> str:
    if edge < 0:
        return ""
    n_sections = len(network.sections.id)
    if edge < n_sections:
        return network.sections.name[edge] or network.sections.id[edge]
    i = edge - n_sections
    return network.switches.name[i] or network.switches.id[i]


def _switch(network: Network, point: _Point, above: _Point, closed: bool) -> Html:
    """The switch as a square on the line, just before the point; its name beside it."""
    if point.y == above.y:
        x, y = point.x - COL_PX / 2, point.y
    else:
        x, y = above.x, point.y - ROW_PX / 2
    name = network.switches.name[point.switch] or network.switches.id[point.switch]
    return render(
        '<rect class="switch $state" x="$x" y="$y" width="10" height="10"'
        ' data-switch="$id"><title>$name</title></rect>',
        state="closed" if closed else "open",
        x=f"{x - 5:g}",
        y=f"{y - 5:g}",
        id=network.switches.id[point.switch],
        name=name,
    )


def _label(x: float, y: float, text: str, *, slanted: bool = False) -> Html:
    """A name beside a point; on the main line slanted above it (points sit close there)."""
    if slanted:
        x, y = x - 4, MAIN_Y - 10
        return render(
            '<text x="$x" y="$y" transform="rotate(-40 $x $y)">$t</text>',
            x=f"{x:g}",
            y=f"{y:g}",
            t=text,
        )
    return render('<text x="$x" y="$y">$t</text>', x=f"{x:g}", y=f"{y:g}", t=text)
