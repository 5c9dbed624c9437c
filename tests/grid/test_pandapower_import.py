"""The pandapower importer on published networks and on small hand-made nets.

Expected counts come from the pandapower tables themselves (the formula is written out next
to each), and for IEEE 33-bus from the published case (Baran & Wu 1989: 33 buses, 37
branches of which 5 are normally-open ties, 32 loads, 3,715 kW).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

from openoms.errors import InputError
from openoms.grid.load import check_raw, load_network, network_from_raw
from openoms.grid.pandapower_import import (
    PandapowerFormatError,
    PandapowerImportOptions,
    PandapowerNotInstalledError,
    PandapowerRawNetwork,
    raw_from_pandapower,
    read_pandapower_json,
)
from openoms.grid.problems import InvalidNetworkError, ProblemKind
from openoms.grid.schema import TABLES

pp = pytest.importorskip("pandapower")
pn = pytest.importorskip("pandapower.networks")
sb = pytest.importorskip("simbench")


def _rows(raw: PandapowerRawNetwork, table: str) -> list[dict[str, Any]]:
    return raw.tables[table].rows


def _ids(raw: PandapowerRawNetwork, table: str) -> set[str]:
    return {row["id"] for row in _rows(raw, table)}


def _by_id(raw: PandapowerRawNetwork, table: str, element_id: str) -> dict[str, Any]:
    return next(row for row in _rows(raw, table) if row["id"] == element_id)


def _counts(raw: PandapowerRawNetwork) -> dict[str, int]:
    return {name: len(table) for name, table in raw.tables.items()}


def _assert_loads_cleanly(raw: PandapowerRawNetwork) -> None:
    result = check_raw(raw)
    assert [str(p) for p in result.problems] == []
    assert result.network is not None


def _station_buses(net: Any) -> tuple[set[int], set[int]]:
    """(HV buses, 1–35 kV buses) of the stations, read directly off these nets' tables.

    In the nets tested here every station is an ext_grid bus with its HV/MV trafos, and
    SimBench adds the busbars joined to the trafos' LV buses by closed bus-bus switches.
    """
    hv = set(net.ext_grid.bus) | set(net.trafo.hv_bus[net.trafo.vn_lv_kv >= 1])
    mv = set(net.trafo.lv_bus[net.trafo.vn_lv_kv >= 1]) or set(net.ext_grid.bus)
    closed_b = net.switch[(net.switch.et == "b") & net.switch.closed]
    while True:
        more = set(closed_b.element[closed_b.bus.isin(mv)]) | set(
            closed_b.bus[closed_b.element.isin(mv)]
        )
        if more <= mv:
            break
        mv |= more
    return hv - mv, mv


# -- IEEE 33-bus --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def case33bw() -> Any:
    return pn.case33bw()


def test_case33bw_counts_ties_and_load(case33bw: Any) -> None:
    raw = raw_from_pandapower(case33bw)
    counts = _counts(raw)
    assert counts["nodes"] == 33 + 5  # every bus, and the far side of each tie's switch
    assert counts["sections"] == 37
    assert counts["feeders"] == 1
    assert counts["substations"] == 1
    assert counts["transformer_areas"] == 32
    assert counts["hv_customers"] == 0
    switches = _rows(raw, "switches")
    assert {s["id"] for s in switches} == {f"oos:line:{i}" for i in range(32, 37)}
    assert {(s["kind"], s["normal_state"]) for s in switches} == {("disconnector", "open")}
    total_kw = sum(ta["load_kw"] for ta in _rows(raw, "transformer_areas"))
    assert total_kw == pytest.approx(3715.0)
    _assert_loads_cleanly(raw)


def test_case33bw_ids_follow_the_pandapower_elements(case33bw: Any) -> None:
    raw = raw_from_pandapower(case33bw)
    assert raw.name == "case33bw"
    assert _by_id(raw, "substations", "ext_grid:0")["busbar_node"] == "bus:0"
    assert _rows(raw, "feeders") == [
        {"id": "feeder:0", "name": "feeder 1", "substation": "ext_grid:0", "head": "line:0"}
    ]
    line5 = _by_id(raw, "sections", "line:5")
    assert (line5["from_node"], line5["to_node"]) == ("bus:5", "bus:6")
    assert line5["r_ohm_per_km"] == pytest.approx(case33bw.line.r_ohm_per_km[5])
    # Tie 32 runs from bus 20 to bus 7; its switch sits at the from end.
    tie = _by_id(raw, "sections", "line:32")
    assert (tie["from_node"], tie["to_node"]) == ("bus:20/oos:line:32", "bus:7")
    switch = _by_id(raw, "switches", "oos:line:32")
    assert (switch["from_node"], switch["to_node"]) == ("bus:20", "bus:20/oos:line:32")
    load = _by_id(raw, "transformer_areas", "load:17")  # 90 kW at bus 18, no sn_mva
    assert load["node"] == "bus:18"
    assert load["load_kw"] == pytest.approx(90.0)
    assert load["rated_kva"] == 113  # ⌈90 / 0.8⌉
    assert load["lv_customers"] == 45  # the estimate: 90 kW / 2 kW a household
    location = raw.tables["sections"].locations[5]
    assert str(location) == "pandapower net case33bw (line:5)"


def test_kw_per_lv_customer_changes_only_the_estimate(case33bw: Any) -> None:
    raw = raw_from_pandapower(case33bw, options=PandapowerImportOptions(kw_per_lv_customer=3.0))
    assert _by_id(raw, "transformer_areas", "load:17")["lv_customers"] == 30
    with pytest.raises(ValueError, match="kw_per_lv_customer"):
        PandapowerImportOptions(kw_per_lv_customer=0.0)


def test_json_file_round_trip(case33bw: Any, tmp_path: Path) -> None:
    path = tmp_path / "ieee33.json"
    pp.to_json(case33bw, str(path))
    raw = read_pandapower_json(path)
    direct = raw_from_pandapower(case33bw)
    assert raw.name == "case33bw"
    assert {n: t.rows for n, t in raw.tables.items()} == {
        n: t.rows for n, t in direct.tables.items()
    }
    assert raw.tables["sections"].locations[5].source == str(path)
    assert raw.tables["sections"].locations[5].element == "line:5"
    _assert_loads_cleanly(raw)
    assert len(load_network(path).nodes.id) == 38  # the loader recognises pandapower files


# -- mv_oberrhein -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oberrhein() -> Any:
    return pn.mv_oberrhein()


def test_mv_oberrhein_counts_match_the_tables(oberrhein: Any) -> None:
    net = oberrhein
    raw = raw_from_pandapower(net)
    hv, _ = _station_buses(net)
    assert hv == {58, 318}
    assert set(net.switch.et) == {"l"}
    counts = _counts(raw)
    assert counts["nodes"] == len(net.bus) - len(hv) + len(net.switch) == 499
    assert counts["sections"] == len(net.line) == 181  # both trafos are HV/MV, in stations
    assert counts["switches"] == len(net.switch) == 322
    assert counts["substations"] == len(net.ext_grid) == 2
    assert counts["transformer_areas"] == (net.load.type == "MV/LV Station").sum() == 141
    assert counts["hv_customers"] == (net.load.type == "MV Load").sum() == 6
    # The four feeders start at the four circuit breakers on the two MV busbars.
    feeders = {f["id"]: (f["substation"], f["head"]) for f in _rows(raw, "feeders")}
    assert feeders == {
        "feeder:62": ("ext_grid:1", "switch:99"),
        "feeder:162": ("ext_grid:0", "switch:265"),
        "feeder:165": ("ext_grid:0", "switch:270"),
        "feeder:193": ("ext_grid:1", "switch:321"),
    }
    open_switches = {s["id"] for s in _rows(raw, "switches") if s["normal_state"] == "open"}
    assert open_switches == {f"switch:{i}" for i in net.switch.index[~net.switch.closed]}
    _assert_loads_cleanly(raw)


def test_mv_oberrhein_line_switch_gets_an_auxiliary_node(oberrhein: Any) -> None:
    raw = raw_from_pandapower(oberrhein)
    sw = oberrhein.switch.loc[3]  # at the end of line sw.element, on bus sw.bus
    aux = f"bus:{sw.bus}/switch:3"
    switch = _by_id(raw, "switches", "switch:3")
    assert (switch["from_node"], switch["to_node"]) == (f"bus:{sw.bus}", aux)
    assert switch["kind"] == "load_break_switch"
    line = _by_id(raw, "sections", f"line:{sw.element}")
    assert aux in (line["from_node"], line["to_node"])
    node = _by_id(raw, "nodes", "bus:0")
    assert node["kind"] == "junction"
    assert 7 < node["lon_deg"] < 9
    assert 47 < node["lat_deg"] < 49
    assert _by_id(raw, "nodes", aux)["lon_deg"] == _by_id(raw, "nodes", f"bus:{sw.bus}")["lon_deg"]
    assert _by_id(raw, "nodes", "bus:39")["kind"] == "busbar"
    ta = _by_id(raw, "transformer_areas", "load:0")  # 0.25 MW at scaling 0.6
    assert ta["load_kw"] == pytest.approx(150.0)
    assert ta["rated_kva"] == math.ceil(250 / 0.8)
    # every one of the 153 sgens is a generator or named by a note on why it is left out
    left_out = {n.element for n in raw.notes if n.element.startswith("sgen:")}
    generators = {g["id"] for g in _rows(raw, "generators")}
    assert not left_out & generators
    assert len(left_out | generators) == len(oberrhein.sgen) == 153
    assert {g["kind"] for g in _rows(raw, "generators")} <= {"inverter", "induction"}


def test_coordinates_can_be_left_out(oberrhein: Any) -> None:
    raw = raw_from_pandapower(oberrhein, options=PandapowerImportOptions(keep_coordinates=False))
    assert all(n["lon_deg"] is None and n["lat_deg"] is None for n in _rows(raw, "nodes"))
    assert any(n.element == "bus" and "coordinates" in n.message for n in raw.notes)


# -- SimBench -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simbench_mv() -> Any:
    return sb.get_simbench_net("1-MV-urban--0-sw")


def test_simbench_mv_counts_match_the_tables(simbench_mv: Any) -> None:
    net = simbench_mv
    raw = raw_from_pandapower(net, name="1-MV-urban--0-sw")
    hv, mv = _station_buses(net)
    assert (hv, mv) == ({0, 1}, {2, 3, 4, 5, 6, 7})
    busbars = {2, 3}  # the two trafos' LV buses; busbars 4–7 merge into them
    sw = net.switch
    branch_switches = sw[sw.et != "b"]
    station_t = sw[(sw.et == "t") & sw.element.isin(net.trafo.index)]  # HV/MV trafos only
    closed_in_station = sw[(sw.et == "b") & sw.closed & sw.bus.isin(hv | mv)]
    counts = _counts(raw)
    assert counts["nodes"] == len(net.bus) - len(hv) - (len(mv) - len(busbars)) + len(
        branch_switches
    ) - len(station_t)
    assert counts["sections"] == len(net.line)  # its trafos are the two HV/MV ones
    assert counts["switches"] == len(sw) - len(station_t) - len(closed_in_station) == 298
    assert counts["substations"] == 2
    assert _ids(raw, "substations") == {"ext_grid:0/bus:2", "ext_grid:0/bus:3"}
    # Ten feeders leave the busbars, and the reserve line to the switching station.
    assert counts["feeders"] == 11
    profiles = net.load.profile.str.startswith("lv_")
    assert counts["transformer_areas"] == profiles.sum() == 133
    assert counts["hv_customers"] == (~profiles).sum() == 6
    # The open busbar couplers stay, as ties between the two substations.
    for coupler in ("switch:7", "switch:8"):
        row = _by_id(raw, "switches", coupler)
        assert (row["from_node"], row["to_node"], row["normal_state"]) == (
            "bus:2",
            "bus:3",
            "open",
        )
    feeder = _by_id(raw, "feeders", "feeder:0")  # line 0 leaves busbar 4, merged into 2
    assert feeder["substation"] == "ext_grid:0/bus:2"
    head = _by_id(raw, "switches", feeder["head"])
    assert head["from_node"] == "bus:2"
    assert _by_id(raw, "hv_customers", "load:136")["node"] == "bus:15"
    _assert_loads_cleanly(raw)


@pytest.mark.slow
def test_simbench_mvlv_counts_match_the_tables() -> None:
    net = sb.get_simbench_net("1-MVLV-urban-all-0-sw")
    raw = raw_from_pandapower(net, name="1-MVLV-urban-all-0-sw")
    hv, mv = _station_buses(net)
    assert len(hv) == 2
    assert len(mv) == 6
    sw = net.switch
    lv_trafos = net.trafo.index[net.trafo.vn_lv_kv < 1]
    station_trafos = net.trafo.index[net.trafo.vn_lv_kv >= 1]
    station_t = sw[(sw.et == "t") & sw.element.isin(station_trafos)]
    closed_in_station = sw[(sw.et == "b") & sw.closed & sw.bus.isin(hv | mv)]
    counts = _counts(raw)
    assert counts["nodes"] == len(net.bus) - len(hv) - (len(mv) - 2) + (sw.et != "b").sum() - len(
        station_t
    )
    assert counts["sections"] == len(net.line) + len(lv_trafos)
    assert counts["switches"] == len(sw) - len(station_t) - len(closed_in_station)
    assert counts["feeders"] == 11
    # Each MV/LV trafo is a transformer area holding every LV load behind it.
    assert counts["transformer_areas"] == len(lv_trafos) == 133
    lv_loads = net.load[net.load.bus.map(net.bus.vn_kv) < 1]
    areas = _rows(raw, "transformer_areas")
    assert {ta["id"] for ta in areas} == {f"trafo:{i}/area" for i in lv_trafos}
    assert sum(ta["lv_customers"] for ta in areas) == len(lv_loads) == 11536
    assert sum(ta["load_kw"] for ta in areas) == pytest.approx(
        (lv_loads.p_mw * lv_loads.scaling).sum() * 1000
    )
    subnet_of_trafo = dict(zip(net.trafo.index, net.trafo.subnet, strict=True))
    area = _by_id(raw, "transformer_areas", "trafo:0/area")
    assert area["lv_customers"] == (lv_loads.subnet == subnet_of_trafo[0].split("_")[-1]).sum()
    assert area["node"] == f"bus:{net.trafo.lv_bus[0]}"
    assert counts["hv_customers"] == 6
    assert not [n for n in raw.notes if n.element.startswith("load:")]
    _assert_loads_cleanly(raw)


# -- small hand-made nets -----------------------------------------------------------------


def _small_net() -> Any:
    """110 kV grid → trafo → 10 kV busbar 1 → CB → line 0 → bus 2 → line 1 → bus 3 → …

    ```
    ext_grid─b0═trafo0═b1─CB(sw0)─line0─b2─line1─b3─LBS(sw1)─trafo1─b4─line2─b5    (0.4 kV)
                                        │         └─impedance0─b10 (load 3)
                                        DS(sw2, b-b) ─ b6 (MV Load 2)
                                        └─trafo3w0 → b8 (6 kV), b9 (0.4 kV)
                                   b3 ─line3─ b7 (out of service)
    ```
    """
    net = pp.create_empty_network(name="small")
    vn = [110, 10, 10, 10, 0.4, 0.4, 10, 10, 6, 0.4, 10]
    for i, kv in enumerate(vn):
        pp.create_bus(
            net, vn_kv=kv, name=f"B{i}", index=i, in_service=i != 7, geodata=(113.0 + i / 100, 35.0)
        )
    pp.create_ext_grid(net, 0, name="Grid")
    pp.create_transformer(net, 0, 1, std_type="25 MVA 110/10 kV", name="T0")
    pp.create_transformer(net, 3, 4, std_type="0.4 MVA 10/0.4 kV", name="T1")
    pp.create_line(net, 1, 2, 1.5, std_type="NA2XS2Y 1x185 RM/25 12/20 kV", name="L0")
    pp.create_line(net, 2, 3, 0.5, std_type="NA2XS2Y 1x185 RM/25 12/20 kV")
    pp.create_line(net, 4, 5, 0.2, std_type="NAYY 4x150 SE")
    pp.create_line(net, 3, 7, 0.3, std_type="NA2XS2Y 1x185 RM/25 12/20 kV")
    pp.create_switch(net, 1, 0, et="l", type="CB", closed=True, in_ka=0.63)
    pp.create_switch(net, 3, 1, et="t", type="LBS", closed=True)
    pp.create_switch(net, 2, 6, et="b", type="DS", closed=True)
    pp.create_load(net, 4, p_mw=0.003, name="house 1")
    pp.create_load(net, 5, p_mw=0.004, name="house 2")
    pp.create_load(net, 6, p_mw=0.2, sn_mva=0.25, type="MV Load", name="factory")
    pp.create_load(net, 10, p_mw=0.1)
    pp.create_load(net, 5, p_mw=0.002, in_service=False)
    pp.create_sgen(net, 5, p_mw=0.005)
    pp.create_impedance(net, 3, 10, rft_pu=0.01, xft_pu=0.01, sn_mva=1.0)
    pp.create_transformer3w(net, 2, 8, 9, std_type="63/25/38 MVA 110/20/10 kV")
    return net


@pytest.fixture
def small() -> Any:
    return _small_net()


def test_small_net_maps_each_element(small: Any) -> None:
    raw = raw_from_pandapower(small)
    assert _ids(raw, "substations") == {"ext_grid:0"}
    assert _by_id(raw, "substations", "ext_grid:0") == {
        "id": "ext_grid:0",
        "name": "Grid",
        "busbar_node": "bus:1",
        "voltage_kv": 10.0,
        "transformer_mva": 25.0,  # trafo 0, "25 MVA 110/10 kV"
        "neutral_earthing": None,
    }
    assert _rows(raw, "feeders") == [
        {"id": "feeder:0", "name": "L0", "substation": "ext_grid:0", "head": "switch:0"}
    ]
    breaker = _by_id(raw, "switches", "switch:0")
    assert breaker == {
        "id": "switch:0",
        "name": None,
        "from_node": "bus:1",
        "to_node": "bus:1/switch:0",
        "kind": "breaker",
        "normal_state": "closed",
        "present_state": None,
        "remote": None,
        "rated_a": 630.0,
    }
    line0 = _by_id(raw, "sections", "line:0")
    assert (line0["from_node"], line0["to_node"], line0["kind"]) == (
        "bus:1/switch:0",
        "bus:2",
        "cable",
    )
    coupler = _by_id(raw, "switches", "switch:2")
    assert (coupler["from_node"], coupler["to_node"], coupler["kind"]) == (
        "bus:2",
        "bus:6",
        "disconnector",
    )
    trafo = _by_id(raw, "sections", "trafo:1")
    assert (trafo["from_node"], trafo["to_node"], trafo["kind"]) == (
        "bus:3/switch:1",
        "bus:4",
        "transformer",
    )
    assert trafo["length_km"] == 0.0
    assert trafo["ampacity_a"] == pytest.approx(400 / (math.sqrt(3) * 10))
    area = _by_id(raw, "transformer_areas", "trafo:1/area")
    assert (area["node"], area["rated_kva"], area["lv_customers"]) == ("bus:4", 400.0, 2)
    assert area["load_kw"] == pytest.approx(7.0)
    customer = _by_id(raw, "hv_customers", "load:2")
    assert (customer["node"], customer["contracted_kva"], customer["load_kw"]) == (
        "bus:6",
        250.0,
        200.0,
    )
    mv_area = _by_id(raw, "transformer_areas", "load:3")
    assert (mv_area["node"], mv_area["rated_kva"], mv_area["lv_customers"]) == ("bus:10", 125, 50)
    assert _by_id(raw, "sections", "impedance:0")["length_km"] == 0.0
    assert {"trafo3w:0/hv", "trafo3w:0/mv", "trafo3w:0/lv"} <= _ids(raw, "sections")
    assert _by_id(raw, "sections", "trafo3w:0/mv")["from_node"] == "trafo3w:0/star"
    assert "bus:0" not in _ids(raw, "nodes")  # the 110 kV side is inside the substation
    assert "bus:7" not in _ids(raw, "nodes")
    assert "line:3" not in _ids(raw, "sections")
    assert _by_id(raw, "nodes", "bus:5")["lon_deg"] == pytest.approx(113.05)
    notes = {str(n) for n in raw.notes}
    assert "bus:7: left out: out of service" in notes
    assert "line:3: left out: bus:7 is out of service" in notes
    assert "load:4: left out: out of service" in notes
    assert "sgen:0: left out: on a 0.4 kV bus (only 1–35 kV generation)" in notes
    assert any(n.startswith("ext_grid:0: busbars ['bus:1']") and "trafo:0" in n for n in notes)
    assert any(n.startswith("impedance:0:") for n in notes)
    assert any(n.startswith("trafo3w:0:") for n in notes)
    _assert_loads_cleanly(raw)


def test_out_of_service_trafo_gets_an_open_switch(small: Any) -> None:
    small.trafo.loc[1, "in_service"] = False
    raw = raw_from_pandapower(small)
    switch = _by_id(raw, "switches", "oos:trafo:1")
    assert (switch["from_node"], switch["to_node"], switch["normal_state"]) == (
        "bus:3/switch:1",
        "bus:3/oos:trafo:1",
        "open",
    )
    assert _by_id(raw, "sections", "trafo:1")["from_node"] == "bus:3/oos:trafo:1"
    problems = check_raw(raw).problems
    assert [p.kind for p in problems] == [ProblemKind.DEAD_IN_NORMAL_STATE]
    assert problems[0].element_id == "trafo:1/area"


def test_coordinates_that_are_not_geographic_are_left_out(small: Any) -> None:
    small.bus.loc[5, "geo"] = '{"type": "Point", "coordinates": [451200.0, 3873000.0]}'
    raw = raw_from_pandapower(small)
    assert all(n["lon_deg"] is None for n in _rows(raw, "nodes"))
    assert "bus: coordinates left out: not longitude / latitude" in {str(n) for n in raw.notes}


def test_loads_that_cannot_be_placed_are_noted(small: Any) -> None:
    pp.create_load(small, 0, p_mw=5.0)  # load:5 at 110 kV
    pp.create_load(small, 9, p_mw=0.01)  # load:6 behind the trafo3w, which makes no area
    pp.create_load(small, 10, p_mw=-0.1)  # load:7 is generation
    raw = raw_from_pandapower(small)
    notes = {str(n) for n in raw.notes}
    assert "load:5: left out: on a 110 kV bus" in notes
    assert "load:6: left out: on an LV bus that no modelled transformer supplies" in notes
    assert "load:7: left out: negative load (generation)" in notes
    assert not {"load:5", "load:6", "load:7"} & (
        _ids(raw, "transformer_areas") | _ids(raw, "hv_customers")
    )


def test_a_missing_bus_is_named_by_the_parser(case33bw: Any) -> None:
    net = pn.case33bw()
    net.line.loc[5, "to_bus"] = 999
    raw = raw_from_pandapower(net)
    problems = check_raw(raw).errors
    [problem] = [p for p in problems if p.kind is ProblemKind.UNKNOWN_REFERENCE]
    assert problem.matches(
        ProblemKind.UNKNOWN_REFERENCE, table="sections", field="to_node", element_id="line:5"
    )
    assert "pandapower net case33bw (line:5), field to_node" in str(problem)
    assert "'bus:999' is not a known node" in str(problem)
    with pytest.raises(InvalidNetworkError):
        network_from_raw(raw)


def test_every_table_is_present_even_when_empty(case33bw: Any) -> None:
    raw = raw_from_pandapower(case33bw)
    assert list(raw.tables) == [spec.name for spec in TABLES]
    assert len(raw.tables["detectors"]) == 0


# -- reading files ------------------------------------------------------------------------


def test_a_file_that_is_not_a_net(tmp_path: Path) -> None:
    text = tmp_path / "text.json"
    text.write_text("not json", encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}', encoding="utf-8")
    for path in (text, other, tmp_path / "missing.json"):
        with pytest.raises(PandapowerFormatError, match="not a pandapower net") as caught:
            read_pandapower_json(path)
        assert isinstance(caught.value, InputError)
        assert caught.value.path == path


def test_without_pandapower_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pandapower", None)  # makes `import pandapower` fail
    with pytest.raises(PandapowerNotInstalledError, match=r"install openoms\[pandapower\]"):
        read_pandapower_json(tmp_path / "net.json")
