"""The county being built: its settings, its growing tables, and how an element is added.

:class:`County` holds the tables as columns while the stages of :func:`.generate_county` add
to them; its methods add one node, section, switch or detector, or draw a line on by one
section. Element names hang on their line (``城关Ⅲ线李庄支线`` + ``#12``), and a branch is
named after the first village on it, so names are resolved only when the tables are emitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from openoms.errors import InputError
from openoms.grid.generate._draw import Draw
from openoms.grid.generate._equipment import CABINETS, SPAN_KM, SWITCH_A, Conductor
from openoms.grid.schema import DetectorKind, NodeKind, SwitchKind, SwitchState

__all__ = ["County", "CountyOptions", "CountyOptionsError", "Feeder", "Row", "Village", "Walk"]

Row = dict[str, Any]


class CountyOptionsError(InputError, ValueError):
    """A size or option of :func:`.generate_county` that no county can have; ``options``
    names the ones at fault."""

    def __init__(self, message: str, *, options: tuple[str, ...]) -> None:
        super().__init__(message)
        self.options = options


@dataclass(frozen=True, slots=True)
class CountyOptions:
    """Settings of :func:`generate_county` besides the seed and the size.

    ``width_km`` × ``height_km`` is the area for three substations; it grows in proportion to
    the number of substations, so that the density of lines stays the same at any size. Lines
    stop at the county's edge.
    """

    center_lon_deg: float = 113.2
    center_lat_deg: float = 35.2
    width_km: float = 40.0
    height_km: float = 30.0
    townships: int | None = None  # None: four per substation
    grid_cells: int | None = None  # None: ten per three substations
    town_radius_km: float = 3.0  # the county town (城关) around the centre has streets
    town_trunk_km: tuple[float, float] = (5.0, 9.0)
    rural_trunk_km: tuple[float, float] = (6.0, 14.0)
    recloser_min_trunk_km: float = 10.0  # rural trunks this long get a recloser mid-way
    hv_customers_per_feeder: tuple[int, int] = (2, 5)


@dataclass(slots=True)
class Feeder:
    index: int
    id: str
    name: str
    substation: int
    bearing: float
    town: bool  # leaves the county-town substation
    counts: dict[str, int] = field(default_factory=dict)
    trunk_end: int = -1
    line_nodes: list[int] = field(default_factory=list)  # poles that may take loads
    tie_nodes: list[int] = field(default_factory=list)  # poles of the trunk and main branches
    branch_ends: list[int] = field(default_factory=list)  # ends of the main branches

    def bump(self, kind: str) -> int:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        return n

    def next_id(self, kind: str, width: int) -> str:
        return f"{self.id}-{kind}{self.bump(kind):0{width}d}"


@dataclass(slots=True)
class Village:
    stem: str  # 李庄, 王家营, 席村: the name without the 村 added to it
    x_sum: float = 0.0
    y_sum: float = 0.0
    areas: int = 0
    township: int = -1

    @property
    def name(self) -> str:
        return self.stem if self.stem.endswith("村") else self.stem + "村"

    @property
    def center(self) -> tuple[float, float]:
        return self.x_sum / self.areas, self.y_sum / self.areas


@dataclass(slots=True)
class Walk:
    """Where a line being drawn has got to."""

    node: int
    x: float
    y: float
    heading: float
    pole: int = 1
    km: float = 0.0


class County:
    """One county as it is built. Lists are the columns of the tables."""

    def __init__(
        self, seed: int, substations: int, feeders_per_substation: int, options: CountyOptions
    ) -> None:
        if substations < 1 or feeders_per_substation < 1:
            raise CountyOptionsError(
                "substations and feeders_per_substation must be at least 1",
                options=("substations", "feeders_per_substation"),
            )
        self.seed = seed
        self.draw = Draw(seed)
        self.opt = options
        self.n_substations = substations
        self.n_per_substation = feeders_per_substation
        scale = math.sqrt(substations / 3.0)
        self.width_km = options.width_km * scale
        self.height_km = options.height_km * scale
        self.n_townships = options.townships or 4 * substations
        self.n_cells = options.grid_cells or max(2, round(10 * substations / 3))
        if self.n_townships < substations or not 2 <= self.n_cells <= self.n_townships + 1:
            raise CountyOptionsError(
                "need substations ≤ townships and 2 ≤ grid_cells ≤ townships + 1",
                options=("substations", "townships", "grid_cells"),
            )
        self.stems: list[str] = []
        self.township_names: list[str] = []
        self.township_xy: list[tuple[float, float]] = []
        self.sub_ids: list[str] = []
        self.sub_names: list[str] = []
        self.sub_busbars: list[int] = []
        self.feeders: list[Feeder] = []
        # lines: trunk (parent -1), tie line (-2), branch or sub-branch (parent line)
        self.line_feeder: list[int] = []
        self.line_parent: list[int] = []
        self.line_at: list[int] = []  # the node it leaves from
        self.line_name: list[str] = []
        self.line_number: list[int] = []
        self.node_id: list[str] = []
        self.node_feeder: list[int] = []  # -1 for a substation busbar
        self.node_line: list[int] = []  # -1: the label is the whole name
        self.node_label: list[str] = []
        self.node_kind: list[str] = []
        self.node_x: list[float] = []
        self.node_y: list[float] = []
        self.sections: list[tuple[Row, int, str]] = []  # row, line, label
        self.switches: list[tuple[Row, int, str]] = []
        self.detectors: list[tuple[Row, int, str]] = []
        self.areas: list[Row] = []
        self.area_village: list[int] = []  # -1 in the county town
        self.area_node: list[int] = []
        self.hv: list[Row] = []
        self.sensitive: list[Row] = []
        self.villages: list[Village] = []
        self.village_names: set[str] = set()
        self.village_numbers: dict[str, int] = {}  # 李庄 → the last number given (李庄三村: 3)
        self.hv_names: set[str] = set()
        self.street_areas: dict[str, int] = {}

    def node(
        self,
        fi: int,
        line: int,
        label: str,
        x: float,
        y: float,
        *,
        kind: NodeKind = NodeKind.POLE,
        node_id: str | None = None,
    ) -> int:
        self.node_id.append(node_id or self.feeders[fi].next_id("N", 4))
        self.node_feeder.append(fi)
        self.node_line.append(line)
        self.node_label.append(label)
        self.node_kind.append(kind.value)
        self.node_x.append(x)
        self.node_y.append(y)
        return len(self.node_id) - 1

    def section(
        self, line: int, label: str, ends: tuple[int, int], km: float, conductor: Conductor
    ) -> str:
        a, b = ends
        section_id = self.feeders[self.node_feeder[b]].next_id("S", 4)
        row = {
            "id": section_id,
            "name": None,  # in emit()
            "from_node": self.node_id[a],
            "to_node": self.node_id[b],
            "kind": conductor.kind,
            "length_km": round(max(km, 0.01), 3),
            "r_ohm_per_km": conductor.r_ohm_per_km,
            "x_ohm_per_km": conductor.x_ohm_per_km,
            "ampacity_a": conductor.ampacity_a,
            "conductor": conductor.name,
        }
        self.sections.append((row, line, label))
        return section_id

    def switch(
        self,
        line: int,
        label: str,
        ends: tuple[int, int],
        kind: SwitchKind,
        *,
        remote: bool = False,
        rated_a: float = SWITCH_A,
        normal_open: bool = False,
    ) -> str:
        """A switch from ``ends[0]`` (source side) to ``ends[1]``, with its FTU, DTU or relay."""
        a, b = ends
        owner = self.node_feeder[a] if self.node_feeder[a] >= 0 else self.node_feeder[b]
        switch_id = self.feeders[owner].next_id("K", 2)
        row = {
            "id": switch_id,
            "name": None,  # in emit()
            "from_node": self.node_id[a],
            "to_node": self.node_id[b],
            "kind": kind.value,
            "normal_state": (SwitchState.OPEN if normal_open else SwitchState.CLOSED).value,
            "present_state": None,
            "remote": remote,
            "rated_a": rated_a,
        }
        self.switches.append((row, line, label))
        if kind is SwitchKind.BREAKER:
            self.detector(f"{switch_id}-RELAY", line, label + "保护", DetectorKind.RELAY, switch_id)
        elif remote:
            in_cabinet = self.node_kind[a] in CABINETS
            unit = DetectorKind.DTU if in_cabinet else DetectorKind.FTU
            self.detector(
                f"{switch_id}-{unit.value.upper()}",
                line,
                label + unit.value.upper(),
                unit,
                switch_id,
                directional=True,
            )
        return switch_id

    def detector(
        self,
        detector_id: str,
        line: int,
        label: str,
        kind: DetectorKind,
        branch: str,
        *,
        directional: bool = False,
    ) -> None:
        row: Row = {"id": detector_id, "name": None, "kind": kind.value, "branch": branch}
        row["directional"] = directional
        self.detectors.append((row, line, label))

    def new_line(self, fi: int, parent: int, at: int, name: str = "") -> int:
        """A trunk (``parent`` -1), tie line (-2) or branch of line ``parent``, from ``at``;
        branches are numbered along their parent."""
        self.line_feeder.append(fi)
        self.line_parent.append(parent)
        self.line_at.append(at)
        self.line_name.append(name)
        self.line_number.append(self.feeders[fi].bump(f"line{parent}") if parent >= 0 else 0)
        return len(self.line_feeder) - 1

    def step(self, walk: Walk, line: int, km: float, conductor: Conductor) -> str:
        """Extend ``walk`` by a section of ``km`` along its heading to a new pole."""
        walk.x += km * math.cos(walk.heading)
        walk.y += km * math.sin(walk.heading)
        previous, walk.pole = walk.pole, walk.pole + max(1, round(km / SPAN_KM))
        fi = self.node_feeder[walk.node]
        pole = self.node(fi, line, f"#{walk.pole}", walk.x, walk.y)
        section = self.section(line, f"#{previous}–#{walk.pole}", (walk.node, pole), km, conductor)
        walk.node, walk.km = pole, walk.km + km
        self.feeders[fi].line_nodes.append(pole)
        return section

    def in_county(self, x: float, y: float) -> bool:
        return abs(x) <= self.width_km / 2 and abs(y) <= self.height_km / 2

    def in_town(self, x: float, y: float) -> bool:
        return x * x + y * y < self.opt.town_radius_km**2
