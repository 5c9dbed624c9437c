"""The mapping of a pandapower net's elements to the native tables (private: use
:mod:`openoms.grid.pandapower_import`, which documents the mapping).

:func:`map_net` reads the net's tables once, summarises the station zones (see
:mod:`._pandapower_station`), then adds the nodes, switches, sections, feeders, transformer
areas, HV customers and generators (``sgen`` and ``gen``) in that order, noting every element
left out or changed on the way.
"""

from __future__ import annotations

import math
from typing import Any, Final

from openoms.grid._pandapower_loads import LvTrafo, map_loads
from openoms.grid._pandapower_station import HV_ABOVE_KV, LV_BELOW_KV, find_stations
from openoms.grid._pandapower_tables import Row, flag, is_closed, number, point, read_table, text
from openoms.grid.records import Location, RawNetwork
from openoms.grid.schema import (
    TABLES_BY_NAME,
    GeneratorKind,
    NodeKind,
    SectionKind,
    SwitchKind,
    SwitchState,
)

__all__ = ["map_net"]

_SWITCH_KINDS: Final = {
    "CB": SwitchKind.BREAKER,
    "LBS": SwitchKind.LOAD_BREAK_SWITCH,
    "LS": SwitchKind.LOAD_BREAK_SWITCH,
    "DS": SwitchKind.DISCONNECTOR,
}
_LINE_KINDS: Final = {"ol": SectionKind.OVERHEAD, "cs": SectionKind.CABLE}
_BRANCH_TABLES: Final = {"l": "line", "t": "trafo", "t3": "trafo3w"}
# pandapower's sgen ``generator_type`` (short-circuit model) → how it feeds fault current
_SGEN_KINDS: Final = {
    "current_source": GeneratorKind.INVERTER,
    "async": GeneratorKind.INDUCTION,
    "async_doubly_fed": GeneratorKind.INDUCTION,
}
_HANDLED: Final = frozenset(
    {"bus", "line", "trafo", "trafo3w", "impedance", "switch", "load", "ext_grid", "sgen", "gen"}
    | {"bus_geodata", "line_geodata"}
)


def map_net(
    net: Any, *, name: str, source: str, kw_per_lv_customer: float, keep_coordinates: bool
) -> tuple[RawNetwork, list[tuple[str, str]]]:
    """The native tables of ``net`` (every row located at ``source``), and the notes
    ``(element, message)`` on what was left out or changed, in the order found.

    O(n) in the elements of the net. Nothing is checked beyond what the mapping needs.
    """
    importer = _Importer(
        net,
        name,
        source,
        kw_per_lv_customer=kw_per_lv_customer,
        keep_coordinates=keep_coordinates,
    )
    return importer.run()


def _row(table: str, **values: Any) -> Row:
    """A row with every field of ``table``, empty unless given."""
    row: Row = {f.name: None for f in TABLES_BY_NAME[table].fields}
    unknown = set(values) - set(row)
    if unknown:  # a programming error, not an input error
        raise KeyError(f"{table} has no fields {sorted(unknown)}")
    row.update(values)
    return row


class _Importer:
    """One import: reads the net's tables once, then builds the native tables in order.

    ``add``, ``note``, ``node`` and ``skipped`` are what the loads stage is given (its
    :class:`~openoms.grid._pandapower_loads.Target`).
    """

    def __init__(
        self, net: Any, name: str, source: str, *, kw_per_lv_customer: float, keep_coordinates: bool
    ) -> None:
        self.net = net
        self.source = source
        self.kw_per_lv_customer = kw_per_lv_customer
        self.keep_coordinates = keep_coordinates
        self.raw = RawNetwork(name=name)
        self.notes: list[tuple[str, str]] = []  # (element, message)
        self.tables = {t: read_table(net, t) for t in ("bus", "line", "trafo", "trafo3w", "switch")}
        self.buses = self.tables["bus"]
        self.alive = {b for b, r in self.buses.items() if flag(r.get("in_service"))}
        self.vn = {b: number(r.get("vn_kv")) or 0.0 for b, r in self.buses.items()}
        self.points: dict[int, tuple[float, float] | None] = {}
        self.busbar: dict[int, int] = {}  # bus of a busbar group → the bus it merges into
        self.zone: set[int] = set()  # every bus of a station zone
        self.station: set[tuple[str, int]] = set()  # branches summarised into a substation
        self.ends: dict[tuple[str, int, int], str] = {}  # (et, element, bus) → node id
        self.heads: dict[tuple[str, int, int], str] = {}  # (et, element, bus) → first switch
        self.lv_trafos: list[LvTrafo] = []
        self.feeders: list[tuple[str, str, int, str, str | None]] = []  # id, at, busbar, head, name

    def add(self, table: str, element: str, **values: Any) -> None:
        self.raw.add(table, _row(table, **values), Location(self.source, element=element))

    def note(self, element: str, message: str) -> None:
        self.notes.append((element, message))

    def node(self, bus: int) -> str:
        return f"bus:{self.busbar.get(bus, bus)}"

    def _end(self, et: str, element: int, bus: int) -> str:
        return self.ends.get((et, element, bus), self.node(bus))

    def skipped(self, element: str, *buses: int) -> bool:
        """Whether an element touches an out-of-service or HV station bus (noted if so)."""
        for b in buses:
            if b in self.buses and b not in self.alive:
                self.note(element, f"left out: bus:{b} is out of service")
                return True
            if b in self.zone and b not in self.busbar:
                self.note(element, f"left out: bus:{b} is inside a substation")
                return True
        return False

    def run(self) -> tuple[RawNetwork, list[tuple[str, str]]]:
        for spec in TABLES_BY_NAME:  # every table, in the schema's order, even if empty
            self.raw.table(spec)
        for bus in sorted(set(self.buses) - self.alive):
            self.note(f"bus:{bus}", "left out: out of service")
        substations = self._stations()
        self._nodes()
        self._switches()
        self._lines()
        self._transformers()
        for n, (fid, at, busbar, head, name) in enumerate(self.feeders, 1):
            self.add(
                "feeders",
                at,
                id=fid,
                name=name or f"feeder {n}",
                substation=substations[busbar],
                head=head,
            )
        map_loads(
            self,
            read_table(self.net, "load"),
            self.lv_trafos,
            tables=self.tables,
            alive=self.alive,
            vn_kv=self.vn,
            kw_per_lv_customer=self.kw_per_lv_customer,
        )
        self._generators()
        for table in sorted(k for k in self.net if isinstance(k, str)):
            frame = self.net[table]
            if table in _HANDLED or table.startswith(("res_", "_")):
                continue
            if hasattr(frame, "columns") and len(frame):
                self.note(table, f"{len(frame)} rows not imported (no such table in OpenOMS)")
        return self.raw, self.notes

    def _stations(self) -> dict[int, str]:
        """Summarise the station zones (see :mod:`._pandapower_station`); busbar → substation."""
        stations = find_stations(
            self.tables, read_table(self.net, "ext_grid"), alive=self.alive, vn_kv=self.vn
        )
        self.zone, self.busbar, self.station = stations.zone, stations.busbar, stations.summarised
        self.notes.extend(stations.notes)
        for sub in stations.substations:
            self.add(
                "substations",
                f"ext_grid:{sub.ext_grid}",
                id=sub.id,
                name=sub.name,
                busbar_node=f"bus:{sub.busbar}",
                voltage_kv=sub.voltage_kv,
                transformer_mva=sub.transformer_mva,
            )
        return {sub.busbar: sub.id for sub in stations.substations}

    # -- nodes and switches -----------------------------------------------------------------

    def _nodes(self) -> None:
        points = {b: point(r) for b, r in self.buses.items()}
        if not any(points.values()) and "bus_geodata" in self.net:
            geodata = read_table(self.net, "bus_geodata")
            points = {b: point(geodata.get(b, {})) for b in self.buses}
        found = [p for p in points.values() if p is not None]
        geographic = all(abs(x) <= 180 and abs(y) <= 90 for x, y in found)
        if found and not (geographic and self.keep_coordinates):
            self.note(
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
            self._add_node(f"bus:{bus}", bus, text(row.get("name")), kind, f"bus:{bus}")

    def _add_node(self, nid: str, bus: int, name: str | None, kind: NodeKind, at: str) -> None:
        lon, lat = self.points.get(bus) or (None, None)
        self.add("nodes", at, id=nid, name=name, kind=kind.value, lon_deg=lon, lat_deg=lat)

    def _switch(self, sid: str, ends: tuple[str, str], switch: dict[str, Any], at: str) -> None:
        kind = _SWITCH_KINDS.get(text(switch.get("type")) or "", SwitchKind.DISCONNECTOR)
        closed = is_closed(switch)
        rated = number(switch.get("in_ka"))
        self.add(
            "switches",
            at,
            id=sid,
            name=text(switch.get("name")),
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
                a, b = self.node(bus), self.node(element)
                inside = bus in self.zone and element in self.zone
                if inside and (a == b or bus not in self.busbar or element not in self.busbar):
                    continue  # summarised in the substation's note
                if not self.skipped(sid, bus, element):
                    self._switch(sid, (a, b), s, sid)
                continue
            table = _BRANCH_TABLES.get(et)
            branch = self.tables[table].get(element) if table else None
            sides = [v for k, v in (branch or {}).items() if k.endswith("_bus")]
            if table is None or branch is None or bus not in sides:
                self.note(sid, f"left out: {table or et} {element} has no end at bus:{bus}")
            elif (table, element) not in self.station and not self.skipped(sid, *sides):
                self._chain((et, element, bus), sid, s, sid)

    def _open_end(self, et: str, element: int, bus: int) -> None:
        """The normally-open disconnector that keeps an out-of-service branch operable."""
        table = _BRANCH_TABLES[et]
        oos = {"type": "DS", "closed": False, "name": "out of service in pandapower"}
        self._chain((et, element, bus), f"oos:{table}:{element}", oos, f"{table}:{element}")

    # -- generation -------------------------------------------------------------------------

    def _generators(self) -> None:
        """``sgen`` (static generators: inverter unless pandapower models it as an
        asynchronous machine) and ``gen`` (synchronous) on 1–35 kV buses, as generators."""
        for table in ("sgen", "gen"):
            for i, g in sorted(read_table(self.net, table).items()):
                gid, bus = f"{table}:{i}", g["bus"]
                vn = self.vn.get(bus)
                if not flag(g.get("in_service")):
                    self.note(gid, "left out: out of service")
                elif table == "gen" and flag(g.get("slack"), default=False):
                    self.note(gid, "left out: a slack generator is the supply, not DG")
                elif vn is not None and (vn < LV_BELOW_KV or vn > HV_ABOVE_KV):
                    self.note(gid, f"left out: on a {vn:g} kV bus (only 1–35 kV generation)")
                elif not self.skipped(gid, bus):
                    self._generator(table, gid, g)

    def _generator(self, table: str, gid: str, g: dict[str, Any]) -> None:
        if table == "gen":
            kind = GeneratorKind.SYNCHRONOUS
        else:
            modelled = text(g.get("generator_type"))
            kind = _SGEN_KINDS.get(modelled or "", GeneratorKind.INVERTER)
            if modelled is None and not flag(g.get("current_source")):
                kind = GeneratorKind.INDUCTION  # older nets: a voltage source, not a converter
        sn_mva = number(g.get("sn_mva"))
        p_mw = abs(number(g.get("p_mw")) or 0.0) * (number(g.get("scaling")) or 1.0)
        rated_kw = (sn_mva if sn_mva and sn_mva > 0 else p_mw) * 1000
        self.add(
            "generators",
            gid,
            id=gid,
            name=text(g.get("name")),
            node=self.node(g["bus"]),
            kind=kind.value,
            rated_kw=round(rated_kw, 6) if rated_kw > 0 else None,
        )

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
            self.note(section, "joins two station busbars directly; not a feeder")

    def _lines(self) -> None:
        for i, line in sorted(self.tables["line"].items()):
            lid, a, b = f"line:{i}", line["from_bus"], line["to_bus"]
            if ("line", i) in self.station or self.skipped(lid, a, b):
                continue
            if not flag(line.get("in_service")):
                self._open_end("l", i, a)
            parallel = max(1, int(number(line.get("parallel")) or 1))
            r, x = number(line.get("r_ohm_per_km")), number(line.get("x_ohm_per_km"))
            max_i = number(line.get("max_i_ka"))
            kind = _LINE_KINDS.get(text(line.get("type")) or "")
            self.add(
                "sections",
                lid,
                id=lid,
                name=text(line.get("name")),
                from_node=self._end("l", i, a),
                to_node=self._end("l", i, b),
                kind=kind.value if kind else None,
                length_km=number(line.get("length_km")),
                r_ohm_per_km=None if r is None else r / parallel,
                x_ohm_per_km=None if x is None else x / parallel,
                ampacity_a=max_i * 1000 * parallel if max_i and max_i > 0 else None,
                conductor=text(line.get("std_type")),
            )
            self._feeder_start("l", i, lid, [a, b], text(line.get("name")))
        if any(text(line.get("geo")) for line in self.tables["line"].values()):
            self.note("line", "routes (geo) not imported: sections have no geometry")

    def _transformers(self) -> None:
        for i, t in sorted(self.tables["trafo"].items()):
            tid, hv, lv = f"trafo:{i}", t["hv_bus"], t["lv_bus"]
            if ("trafo", i) in self.station or self.skipped(tid, hv, lv):
                continue
            if not flag(t.get("in_service")):
                self._open_end("t", i, hv)
            sn_mva = (number(t.get("sn_mva")) or 0.0) * (number(t.get("parallel")) or 1)
            sn_kva = round(sn_mva * 1000, 6)
            vn_hv = number(t.get("vn_hv_kv")) or self.vn.get(hv, 0.0)
            self.add(
                "sections",
                tid,
                id=tid,
                name=text(t.get("name")),
                from_node=self._end("t", i, hv),
                to_node=self._end("t", i, lv),
                kind=SectionKind.TRANSFORMER.value,
                length_km=0.0,
                ampacity_a=sn_kva / (math.sqrt(3) * vn_hv) if sn_kva and vn_hv else None,
            )
            self._feeder_start("t", i, tid, [hv, lv], text(t.get("name")))
            if self.vn.get(lv, 0.0) < LV_BELOW_KV:
                self.lv_trafos.append((i, lv, text(t.get("name")), sn_kva))
        for i, t in sorted(self.tables["trafo3w"].items()):
            tid, sides = f"trafo3w:{i}", [t["hv_bus"], t["mv_bus"], t["lv_bus"]]
            if ("trafo3w", i) in self.station or self.skipped(tid, *sides):
                continue
            if not flag(t.get("in_service")):
                self._open_end("t3", i, sides[0])
            star = f"{tid}/star"
            self._add_node(star, sides[0], text(t.get("name")), NodeKind.JUNCTION, tid)
            for side, bus in zip(("hv", "mv", "lv"), sides, strict=True):
                end = self._end("t3", i, bus)
                self.add(
                    "sections",
                    tid,
                    id=f"{tid}/{side}",
                    name=text(t.get("name")),
                    from_node=star if side != "hv" else end,
                    to_node=end if side != "hv" else star,
                    kind=SectionKind.TRANSFORMER.value,
                    length_km=0.0,
                )
            self._feeder_start("t3", i, f"{tid}/hv", sides, text(t.get("name")))
            self.note(tid, "imported as a star of three transformer sections; no transformer area")
        for i, z in sorted(read_table(self.net, "impedance").items()):
            zid, a, b = f"impedance:{i}", z["from_bus"], z["to_bus"]
            if not flag(z.get("in_service")):
                self.note(zid, "left out: out of service")
            elif not self.skipped(zid, a, b):
                self.add(
                    "sections",
                    zid,
                    id=zid,
                    name=text(z.get("name")),
                    from_node=self.node(a),
                    to_node=self.node(b),
                    length_km=0.0,
                )
                self.note(zid, "imported as a section of length 0 (kind left empty)")
                self._feeder_start("impedance", i, zid, [a, b], text(z.get("name")))
