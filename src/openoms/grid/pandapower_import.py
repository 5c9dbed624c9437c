"""Importing pandapower nets (and through them SimBench and the pandapower example grids).

:func:`raw_from_pandapower` maps a pandapower net to the native tables (see :mod:`.schema`)
as a :class:`PandapowerRawNetwork`: a :class:`~.records.RawNetwork` that also lists, in
``notes``, every element that was left out or changed on the way, so nothing is lost
silently. Every check is left to the parser (:mod:`.load`). :func:`read_pandapower_json` does
the same for a file written by ``pandapower.to_json``. pandapower is an optional dependency
(``pip install 'openoms[pandapower]'``), imported only to read a file.

The mapping of every pandapower table to the native format, with the ids it produces, is
documented in ``docs/formats.md`` ("Importing pandapower networks").

Example::

    raw = raw_from_pandapower(pandapower.networks.case33bw())
    network = openoms.grid.load.network_from_raw(raw)  # 38 nodes: 33 buses + 5 tie ends
    for note in raw.notes:
        print(note)
"""

from __future__ import annotations

import json
import math
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from openoms.errors import InputError
from openoms.grid.records import Location, RawNetwork
from openoms.grid.schema import TABLES_BY_NAME, NodeKind, SectionKind, SwitchKind, SwitchState

__all__ = [
    "ImportNote",
    "PandapowerFormatError",
    "PandapowerImportOptions",
    "PandapowerNotInstalledError",
    "PandapowerRawNetwork",
    "raw_from_pandapower",
    "read_pandapower_json",
]

LV_BELOW_KV: Final = 1.0  # buses below this are low voltage
HV_ABOVE_KV: Final = 35.0  # buses above this are high voltage (inside a substation)
ASSUMED_POWER_FACTOR: Final = 0.8  # for a rating from p_mw when sn_mva is missing

_SWITCH_KINDS: Final = {
    "CB": SwitchKind.BREAKER,
    "LBS": SwitchKind.LOAD_BREAK_SWITCH,
    "LS": SwitchKind.LOAD_BREAK_SWITCH,
    "DS": SwitchKind.DISCONNECTOR,
}
_LINE_KINDS: Final = {"ol": SectionKind.OVERHEAD, "cs": SectionKind.CABLE}
_BRANCH_TABLES: Final = {"l": "line", "t": "trafo", "t3": "trafo3w"}
_HANDLED: Final = frozenset(
    {"bus", "line", "trafo", "trafo3w", "impedance", "switch", "load", "ext_grid"}
    | {"bus_geodata", "line_geodata"}
)


class PandapowerNotInstalledError(InputError):
    """pandapower is needed for this and is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "reading pandapower files needs pandapower: install openoms[pandapower] "
            "(pip install 'openoms[pandapower]')"
        )


class PandapowerFormatError(InputError):
    """A file that pandapower cannot read as a net."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: not a pandapower net: {reason}")
        self.path = path


@dataclass(frozen=True, slots=True)
class PandapowerImportOptions:
    """Settings of the import; see the module docstring for what each changes."""

    kw_per_lv_customer: float = 2.0  # for the ESTIMATED households of an MV load
    keep_coordinates: bool = True  # False for nets whose coordinates are not WGS 84

    def __post_init__(self) -> None:
        if not self.kw_per_lv_customer > 0:
            raise ValueError("kw_per_lv_customer must be greater than 0")


@dataclass(frozen=True, slots=True)
class ImportNote:
    """Something of the pandapower net that was not carried over as it was."""

    element: str  # "load:4", or a table name for the whole table
    message: str

    def __str__(self) -> str:
        return f"{self.element}: {self.message}"


@dataclass(slots=True)
class PandapowerRawNetwork(RawNetwork):
    """The imported tables, with what was left out or changed on the way in ``notes``."""

    notes: tuple[ImportNote, ...] = ()


def raw_from_pandapower(
    net: Any, *, name: str | None = None, options: PandapowerImportOptions | None = None
) -> PandapowerRawNetwork:
    """Map a pandapower net to the native tables (see the module docstring).

    O(n) in the elements of the net. Nothing is checked beyond what the mapping needs: a
    reference to a missing bus is passed on for the parser to name.
    """
    net_name = name or _text(getattr(net, "name", None))
    source = f"pandapower net {net_name}" if net_name else "pandapower net"
    return _Importer(net, net_name or "pandapower net", source, options).run()


def read_pandapower_json(
    path: Path, *, name: str | None = None, options: PandapowerImportOptions | None = None
) -> PandapowerRawNetwork:
    """Read a file written by ``pandapower.to_json``; map it as :func:`raw_from_pandapower`."""
    try:
        import pandapower  # noqa: PLC0415  # optional extra, imported only when it is used
    except ImportError as exc:
        raise PandapowerNotInstalledError from exc
    if not path.is_file():
        raise PandapowerFormatError(path, "no such file")
    try:
        net = pandapower.from_json(str(path))
    # pandapower raises UserWarning for a file that is not JSON, AttributeError for JSON
    # that is not a net.
    except (ValueError, KeyError, TypeError, AttributeError, UserWarning) as exc:
        raise PandapowerFormatError(path, str(exc)) from exc
    net_name = name or _text(getattr(net, "name", None)) or path.stem
    return _Importer(net, net_name, str(path), options).run()


def _missing(value: Any) -> bool:
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str | None:
    if _missing(value):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _flag(value: Any, default: bool = True) -> bool:
    return default if _missing(value) else bool(value)


def _closed(switch: dict[str, Any]) -> bool:
    return _flag(switch.get("closed"), default=False)


def _row(table: str, **values: Any) -> dict[str, Any]:
    """A row with every field of ``table``, empty unless given."""
    row: dict[str, Any] = {f.name: None for f in TABLES_BY_NAME[table].fields}
    unknown = set(values) - set(row)
    if unknown:  # a programming error, not an input error
        raise KeyError(f"{table} has no fields {sorted(unknown)}")
    row.update(values)
    return row


def _point(bus: dict[str, Any]) -> tuple[float, float] | None:
    geo = bus.get("geo")
    if isinstance(geo, str) and geo.strip():
        try:
            shape = json.loads(geo)
            x, y = shape["coordinates"][:2]
        except (ValueError, KeyError, TypeError):
            return None
        return (float(x), float(y)) if shape.get("type") == "Point" else None
    x, y = _number(bus.get("x")), _number(bus.get("y"))
    return (x, y) if x is not None and y is not None else None


class _Importer:
    """One import: reads the net's tables once, then builds the native tables in order."""

    def __init__(
        self, net: Any, name: str, source: str, options: PandapowerImportOptions | None
    ) -> None:
        self.net = net
        self.source = source
        self.options = options or PandapowerImportOptions()
        self.raw = PandapowerRawNetwork(name=name)
        self.notes: list[ImportNote] = []
        self.tables = {t: self._table(t) for t in ("bus", "line", "trafo", "trafo3w", "switch")}
        self.buses = self.tables["bus"]
        self.alive = {b for b, r in self.buses.items() if _flag(r.get("in_service"))}
        self.vn = {b: _number(r.get("vn_kv")) or 0.0 for b, r in self.buses.items()}
        self.points: dict[int, tuple[float, float] | None] = {}
        self.busbar: dict[int, int] = {}  # bus of a busbar group → the bus it merges into
        self.zone: set[int] = set()  # every bus of a station zone
        self.station: set[tuple[str, int]] = set()  # branches summarised into a substation
        self.ends: dict[tuple[str, int, int], str] = {}  # (et, element, bus) → node id
        self.heads: dict[tuple[str, int, int], str] = {}  # (et, element, bus) → first switch
        self.lv_trafos: list[tuple[int, int, str | None, float]] = []
        self.feeders: list[tuple[str, str, int, str, str | None]] = []  # id, at, busbar, head, name

    def _table(self, table: str) -> dict[int, dict[str, Any]]:
        frame = self.net.get(table)
        if frame is None or not hasattr(frame, "columns") or len(frame) == 0:
            return {}
        return {int(i): row for i, row in frame.to_dict("index").items()}

    def _add(self, table: str, element: str, **values: Any) -> None:
        self.raw.add(table, _row(table, **values), Location(self.source, element=element))

    def _note(self, element: str, message: str) -> None:
        self.notes.append(ImportNote(element, message))

    def _node(self, bus: int) -> str:
        return f"bus:{self.busbar.get(bus, bus)}"

    def _end(self, et: str, element: int, bus: int) -> str:
        return self.ends.get((et, element, bus), self._node(bus))

    def _skipped(self, element: str, *buses: int) -> bool:
        """Whether an element touches an out-of-service or HV station bus (noted if so)."""
        for b in buses:
            if b in self.buses and b not in self.alive:
                self._note(element, f"left out: bus:{b} is out of service")
                return True
            if b in self.zone and b not in self.busbar:
                self._note(element, f"left out: bus:{b} is inside a substation")
                return True
        return False

    def run(self) -> PandapowerRawNetwork:
        for spec in TABLES_BY_NAME:  # every table, in the schema's order, even if empty
            self.raw.table(spec)
        for bus in sorted(set(self.buses) - self.alive):
            self._note(f"bus:{bus}", "left out: out of service")
        substations = self._stations()
        self._nodes()
        self._switches()
        self._lines()
        self._transformers()
        for n, (fid, at, busbar, head, name) in enumerate(self.feeders, 1):
            self._add(
                "feeders",
                at,
                id=fid,
                name=name or f"feeder {n}",
                substation=substations[busbar],
                head=head,
            )
        self._loads()
        for table in sorted(k for k in self.net if isinstance(k, str)):
            frame = self.net[table]
            if table in _HANDLED or table.startswith(("res_", "_")):
                continue
            if hasattr(frame, "columns") and len(frame):
                self._note(table, f"{len(frame)} rows not imported (no such table in OpenOMS)")
        self.raw.notes = tuple(self.notes)
        return self.raw

    # -- station zones and substations ------------------------------------------------------

    def _stations(self) -> dict[int, str]:
        """Find the station zones, add a substation per busbar group; busbar → its id."""
        closed_b = [
            (s["bus"], s["element"])
            for s in self.tables["switch"].values()
            if s.get("et") == "b" and _closed(s)
        ]
        links = [("switch", -1, a, b) for a, b in closed_b]
        for i, t in self.tables["trafo"].items():
            if _flag(t.get("in_service")) and self.vn.get(t["lv_bus"], 0.0) >= LV_BELOW_KV:
                links.append(("trafo", i, t["hv_bus"], t["lv_bus"]))
        for i, t in self.tables["trafo3w"].items():
            links.extend(
                ("trafo3w", i, t["hv_bus"], t[side])
                for side in ("mv_bus", "lv_bus")
                if _flag(t.get("in_service")) and self.vn.get(t[side], 0.0) >= LV_BELOW_KV
            )
        for i, line in self.tables["line"].items():
            a, b = line["from_bus"], line["to_bus"]
            hv = min(self.vn.get(a, 0.0), self.vn.get(b, 0.0)) > HV_ABOVE_KV
            if hv and _flag(line.get("in_service")):
                links.append(("line", i, a, b))
        neighbours: dict[int, list[int]] = defaultdict(list)
        for _, _, a, b in links:
            if a in self.alive and b in self.alive:
                neighbours[a].append(b)
                neighbours[b].append(a)
        owner: dict[int, int] = {}  # zone bus → its ext_grid
        grids = self._table("ext_grid")
        for e, grid in sorted(grids.items()):
            bus = grid["bus"]
            if not _flag(grid.get("in_service")) or bus not in self.alive:
                self._note(f"ext_grid:{e}", "left out: it or its bus is out of service")
            elif bus in owner:
                self._note(f"ext_grid:{e}", f"in the station of ext_grid:{owner[bus]}")
            else:
                owner[bus] = e
                queue = deque([bus])
                while queue:
                    for nxt in neighbours[queue.popleft()]:
                        if nxt not in owner:
                            owner[nxt] = e
                            queue.append(nxt)
        self.zone = set(owner)
        self.station = {(t, i) for t, i, a, b in links if i >= 0 and a in owner and b in owner}
        groups = self._busbar_groups(closed_b, [g["bus"] for _, g in sorted(grids.items())])
        substations: dict[int, str] = {}
        for e, grid in sorted(grids.items()):
            if owner.get(grid["bus"]) != e:
                continue
            busbars = sorted(b for b in groups if owner[b] == e)
            grid_name = _text(grid.get("name")) or f"ext_grid {e}"
            for busbar in busbars:
                sid, name = f"ext_grid:{e}", grid_name
                if len(busbars) > 1:
                    sid = f"ext_grid:{e}/bus:{busbar}"
                    name += " / " + (_text(self.buses[busbar].get("name")) or f"bus {busbar}")
                self._add(
                    "substations",
                    f"ext_grid:{e}",
                    id=sid,
                    name=name,
                    busbar_node=f"bus:{busbar}",
                    voltage_kv=self.vn[busbar],
                )
                substations[busbar] = sid
            self._station_note(e, busbars, owner)
        return substations

    def _station_note(self, e: int, busbars: list[int], owner: dict[int, int]) -> None:
        """Say what of ext_grid ``e``'s station is summarised by its substations."""
        if not busbars:
            self._note(f"ext_grid:{e}", "left out: its station has no 1–35 kV bus")
        merged = [f"bus:{b}" for b, m in sorted(self.busbar.items()) if owner[b] == e and b != m]
        hidden = [f"bus:{b}" for b, o in sorted(owner.items()) if o == e and b not in self.busbar]
        for table, i in sorted(self.station):
            row = self.tables[table][i]
            if owner[row["from_bus"] if table == "line" else row["hv_bus"]] == e:
                hidden.append(f"{table}:{i}")
        message = f"busbars {[f'bus:{b}' for b in busbars]} stand for the station"
        if merged:
            message += f"; merged into them: {merged}"
        if hidden:
            message += f"; not exported: {hidden}, with their switches"
        self._note(f"ext_grid:{e}", message)

    def _busbar_groups(
        self, closed_b: list[tuple[int, int]], sources: list[int]
    ) -> dict[int, list[int]]:
        """Group the zones' 1–35 kV buses by closed bus-bus switches; busbar → its group."""
        mv = {b for b in self.zone if LV_BELOW_KV <= self.vn[b] <= HV_ABOVE_KV}
        parent = {b: b for b in mv}

        def root(b: int) -> int:
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            return b

        for a, b in closed_b:
            if a in mv and b in mv:
                parent[root(a)] = root(b)
        members: dict[int, list[int]] = defaultdict(list)
        for b in sorted(mv):
            members[root(b)].append(b)
        fed = [t["lv_bus"] for _, t in sorted(self.tables["trafo"].items())]
        groups: dict[int, list[int]] = {}
        for group in members.values():
            busbar = next((b for b in [*fed, *sources] if b in group), group[0])
            groups[busbar] = group
            self.busbar.update(dict.fromkeys(group, busbar))
        return groups

    # -- nodes and switches -----------------------------------------------------------------

    def _nodes(self) -> None:
        points = {b: _point(r) for b, r in self.buses.items()}
        if not any(points.values()) and "bus_geodata" in self.net:
            geodata = self._table("bus_geodata")
            points = {b: _point(geodata.get(b, {})) for b in self.buses}
        found = [p for p in points.values() if p is not None]
        geographic = all(abs(x) <= 180 and abs(y) <= 90 for x, y in found)
        if found and not (geographic and self.options.keep_coordinates):
            self._note(
                "bus",
                "coordinates left out: "
                + ("not wanted" if geographic else "not longitude / latitude"),
            )
            points = {}
        self.points = points
        for bus, row in sorted(self.buses.items()):
            if bus not in self.alive or (bus in self.zone and self.busbar.get(bus) != bus):
                continue
            kind = NodeKind.BUSBAR if bus in self.busbar else NodeKind.JUNCTION
            self._add_node(f"bus:{bus}", bus, _text(row.get("name")), kind, f"bus:{bus}")

    def _add_node(self, nid: str, bus: int, name: str | None, kind: NodeKind, at: str) -> None:
        lon, lat = self.points.get(bus) or (None, None)
        self._add("nodes", at, id=nid, name=name, kind=kind.value, lon_deg=lon, lat_deg=lat)

    def _switch(self, sid: str, ends: tuple[str, str], switch: dict[str, Any], at: str) -> None:
        kind = _SWITCH_KINDS.get(_text(switch.get("type")) or "", SwitchKind.DISCONNECTOR)
        closed = _closed(switch)
        rated = _number(switch.get("in_ka"))
        self._add(
            "switches",
            at,
            id=sid,
            name=_text(switch.get("name")),
            from_node=ends[0],
            to_node=ends[1],
            kind=kind.value,
            normal_state=(SwitchState.CLOSED if closed else SwitchState.OPEN).value,
            rated_a=rated * 1000 if rated and rated > 0 else None,
        )

    def _chain(self, key: tuple[str, int, int], sid: str, switch: dict[str, Any], at: str) -> None:
        """Put a switch between a branch end and what that end touched so far."""
        aux = f"bus:{key[2]}/{sid}"
        self._add_node(aux, key[2], None, NodeKind.JUNCTION, at)
        self._switch(sid, (self._end(*key), aux), switch, at)
        self.ends[key] = aux
        self.heads.setdefault(key, sid)

    def _switches(self) -> None:
        for i, s in sorted(self.tables["switch"].items()):
            sid, bus, element, et = f"switch:{i}", s["bus"], s["element"], str(s.get("et"))
            if et == "b":
                a, b = self._node(bus), self._node(element)
                inside = bus in self.zone and element in self.zone
                if inside and (a == b or bus not in self.busbar or element not in self.busbar):
                    continue  # summarised in the substation's note
                if not self._skipped(sid, bus, element):
                    self._switch(sid, (a, b), s, sid)
                continue
            table = _BRANCH_TABLES.get(et)
            branch = self.tables[table].get(element) if table else None
            sides = [v for k, v in (branch or {}).items() if k.endswith("_bus")]
            if table is None or branch is None or bus not in sides:
                self._note(sid, f"left out: {table or et} {element} has no end at bus:{bus}")
            elif (table, element) not in self.station and not self._skipped(sid, *sides):
                self._chain((et, element, bus), sid, s, sid)

    def _open_end(self, et: str, element: int, bus: int) -> None:
        """The normally-open disconnector that keeps an out-of-service branch operable."""
        table = _BRANCH_TABLES[et]
        oos = {"type": "DS", "closed": False, "name": "out of service in pandapower"}
        self._chain((et, element, bus), f"oos:{table}:{element}", oos, f"{table}:{element}")

    # -- branches ---------------------------------------------------------------------------

    def _feeder_start(
        self, et: str, element: int, section: str, buses: list[int], name: str | None
    ) -> None:
        """Start a feeder when the branch leaves a station (one end on a busbar)."""
        at_busbar = [b for b in buses if b in self.busbar]
        if len(at_busbar) == 1 and not any(b in self.zone for b in buses if b not in at_busbar):
            table = _BRANCH_TABLES.get(et, et)
            fid = f"feeder:{element}" if table == "line" else f"feeder:{table}:{element}"
            head = self.heads.get((et, element, at_busbar[0]), section)
            self.feeders.append((fid, f"{table}:{element}", self.busbar[at_busbar[0]], head, name))
        elif at_busbar:
            self._note(section, "joins two station busbars directly; not a feeder")

    def _lines(self) -> None:
        for i, line in sorted(self.tables["line"].items()):
            lid, a, b = f"line:{i}", line["from_bus"], line["to_bus"]
            if ("line", i) in self.station or self._skipped(lid, a, b):
                continue
            if not _flag(line.get("in_service")):
                self._open_end("l", i, a)
            parallel = max(1, int(_number(line.get("parallel")) or 1))
            r, x = _number(line.get("r_ohm_per_km")), _number(line.get("x_ohm_per_km"))
            max_i = _number(line.get("max_i_ka"))
            kind = _LINE_KINDS.get(_text(line.get("type")) or "")
            self._add(
                "sections",
                lid,
                id=lid,
                name=_text(line.get("name")),
                from_node=self._end("l", i, a),
                to_node=self._end("l", i, b),
                kind=kind.value if kind else None,
                length_km=_number(line.get("length_km")),
                r_ohm_per_km=None if r is None else r / parallel,
                x_ohm_per_km=None if x is None else x / parallel,
                ampacity_a=max_i * 1000 * parallel if max_i and max_i > 0 else None,
                conductor=_text(line.get("std_type")),
            )
            self._feeder_start("l", i, lid, [a, b], _text(line.get("name")))
        if any(_text(line.get("geo")) for line in self.tables["line"].values()):
            self._note("line", "routes (geo) not imported: sections have no geometry")

    def _transformers(self) -> None:
        for i, t in sorted(self.tables["trafo"].items()):
            tid, hv, lv = f"trafo:{i}", t["hv_bus"], t["lv_bus"]
            if ("trafo", i) in self.station or self._skipped(tid, hv, lv):
                continue
            if not _flag(t.get("in_service")):
                self._open_end("t", i, hv)
            sn_mva = (_number(t.get("sn_mva")) or 0.0) * (_number(t.get("parallel")) or 1)
            sn_kva = round(sn_mva * 1000, 6)
            vn_hv = _number(t.get("vn_hv_kv")) or self.vn.get(hv, 0.0)
            self._add(
                "sections",
                tid,
                id=tid,
                name=_text(t.get("name")),
                from_node=self._end("t", i, hv),
                to_node=self._end("t", i, lv),
                kind=SectionKind.TRANSFORMER.value,
                length_km=0.0,
                ampacity_a=sn_kva / (math.sqrt(3) * vn_hv) if sn_kva and vn_hv else None,
            )
            self._feeder_start("t", i, tid, [hv, lv], _text(t.get("name")))
            if self.vn.get(lv, 0.0) < LV_BELOW_KV:
                self.lv_trafos.append((i, lv, _text(t.get("name")), sn_kva))
        for i, t in sorted(self.tables["trafo3w"].items()):
            tid, sides = f"trafo3w:{i}", [t["hv_bus"], t["mv_bus"], t["lv_bus"]]
            if ("trafo3w", i) in self.station or self._skipped(tid, *sides):
                continue
            if not _flag(t.get("in_service")):
                self._open_end("t3", i, sides[0])
            star = f"{tid}/star"
            self._add_node(star, sides[0], _text(t.get("name")), NodeKind.JUNCTION, tid)
            for side, bus in zip(("hv", "mv", "lv"), sides, strict=True):
                end = self._end("t3", i, bus)
                self._add(
                    "sections",
                    tid,
                    id=f"{tid}/{side}",
                    name=_text(t.get("name")),
                    from_node=star if side != "hv" else end,
                    to_node=end if side != "hv" else star,
                    kind=SectionKind.TRANSFORMER.value,
                    length_km=0.0,
                )
            self._feeder_start("t3", i, f"{tid}/hv", sides, _text(t.get("name")))
            self._note(tid, "imported as a star of three transformer sections; no transformer area")
        for i, z in sorted(self._table("impedance").items()):
            zid, a, b = f"impedance:{i}", z["from_bus"], z["to_bus"]
            if not _flag(z.get("in_service")):
                self._note(zid, "left out: out of service")
            elif not self._skipped(zid, a, b):
                self._add(
                    "sections",
                    zid,
                    id=zid,
                    name=_text(z.get("name")),
                    from_node=self._node(a),
                    to_node=self._node(b),
                    length_km=0.0,
                )
                self._note(zid, "imported as a section of length 0 (kind left empty)")
                self._feeder_start("impedance", i, zid, [a, b], _text(z.get("name")))

    # -- loads ------------------------------------------------------------------------------

    def _lv_owners(self) -> dict[int, int]:
        """LV bus → the MV/LV trafo that supplies it (through lines and closed switches)."""
        lv = {b for b in self.alive if self.vn[b] < LV_BELOW_KV}
        cut = {(s["et"], s["element"]) for s in self.tables["switch"].values() if not _closed(s)}
        pairs = [
            (s["bus"], s["element"])
            for s in self.tables["switch"].values()
            if s.get("et") == "b" and _closed(s)
        ]
        for i, line in self.tables["line"].items():
            if _flag(line.get("in_service")) and ("l", i) not in cut:
                pairs.append((line["from_bus"], line["to_bus"]))
        neighbours: dict[int, list[int]] = defaultdict(list)
        for a, b in pairs:
            if a in lv and b in lv:
                neighbours[a].append(b)
                neighbours[b].append(a)
        owner: dict[int, int] = {}
        for i, bus, _, _ in self.lv_trafos:
            if bus in owner:
                self._note(f"trafo:{i}", f"its LV network is counted into trafo:{owner[bus]}")
                continue
            owner[bus] = i
            queue = deque([bus])
            while queue:
                for nxt in neighbours[queue.popleft()]:
                    if nxt not in owner:
                        owner[nxt] = i
                        queue.append(nxt)
        return owner

    def _loads(self) -> None:
        owner = self._lv_owners()
        behind: dict[int, list[float]] = defaultdict(list)  # trafo → load_kw of its LV loads
        for i, load in sorted(self._table("load").items()):
            lid, bus = f"load:{i}", load["bus"]
            p_mw = _number(load.get("p_mw")) or 0.0
            scaling = _number(load.get("scaling"))
            load_kw = round(p_mw * 1000 * (1.0 if scaling is None else scaling), 6)
            vn = self.vn.get(bus)
            if not _flag(load.get("in_service")):
                self._note(lid, "left out: out of service")
            elif load_kw < 0:
                self._note(lid, "left out: negative load (generation)")
            elif vn is not None and vn > HV_ABOVE_KV:
                self._note(lid, f"left out: on a {vn:g} kV bus")
            elif self._skipped(lid, bus):
                pass
            elif vn is not None and vn < LV_BELOW_KV:
                if bus in owner:
                    behind[owner[bus]].append(load_kw)
                else:
                    self._note(lid, "left out: on an LV bus that no modelled transformer supplies")
            else:
                self._mv_load(lid, load, load_kw)
        for i, bus, name, sn_kva in self.lv_trafos:
            tid = f"trafo:{i}/area"
            if sn_kva <= 0:
                self._note(tid, "left out: the transformer has no rating (sn_mva)")
                continue
            self._add(
                "transformer_areas",
                f"trafo:{i}",
                id=tid,
                name=name,
                node=self._node(bus),
                rated_kva=sn_kva,
                lv_customers=len(behind[i]),
                load_kw=round(sum(behind[i]), 6),
            )

    def _mv_load(self, lid: str, load: dict[str, Any], load_kw: float) -> None:
        """A load on a 1–35 kV bus: an HV customer if marked as one, else a transformer area."""
        sn = _number(load.get("sn_mva"))
        p_kw = (_number(load.get("p_mw")) or 0.0) * 1000
        if sn and sn > 0:
            rated: float = round(sn * 1000, 6)
        else:
            rated = math.ceil(round(p_kw / ASSUMED_POWER_FACTOR, 6))
        if rated <= 0:
            self._note(lid, "left out: neither sn_mva nor a positive p_mw gives a rating")
            return
        kind, profile = _text(load.get("type")) or "", _text(load.get("profile"))
        customer = kind.upper().startswith("MV") and not kind.upper().startswith("MV/LV")
        if customer or (profile is not None and not profile.lower().startswith("lv_")):
            self._add(
                "hv_customers",
                lid,
                id=lid,
                name=_text(load.get("name")),
                node=self._node(load["bus"]),
                contracted_kva=rated,
                load_kw=load_kw,
            )
            return
        households = max(1, round(load_kw / self.options.kw_per_lv_customer))
        self._add(
            "transformer_areas",
            lid,
            id=lid,
            name=_text(load.get("name")),
            node=self._node(load["bus"]),
            rated_kva=rated,
            lv_customers=households,
            load_kw=load_kw,
        )
