"""The IEEE 33-bus feeder against its published data and published power flow.

Source of every expected number here: M. E. Baran and F. F. Wu, "Network reconfiguration in
distribution systems for loss reduction and load balancing", IEEE Transactions on Power
Delivery 4(2), 1401–1407, 1989: the test system's table (branches, loads, ties) and its
base-case power flow (losses 202.68 kW, minimum voltage 0.9131 pu at bus 18; docs/formats.md,
"The bundled networks").
pandapower's ``case33bw()`` is an independent transcription of the same table.
"""

from __future__ import annotations

import math
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from power_grid_model import (
    CalculationMethod,
    ComponentType,
    DatasetType,
    LoadGenType,
    PowerGridModel,
    initialize_array,
)

from openoms.grid.ieee33 import (
    BRANCHES,
    LOAD_KVAR,
    LOAD_KW,
    NOMINAL_KV,
    PUBLISHED_LOSSES_KW,
    PUBLISHED_MIN_VOLTAGE_BUS,
    PUBLISHED_MIN_VOLTAGE_PU,
    TIE_BRANCHES,
    ieee33,
)
from openoms.grid.load import check_raw
from openoms.grid.native import read_csv_folder, write_csv_folder
from openoms.grid.records import RawNetwork

LOSSES_TOLERANCE_KW = 0.5
VOLTAGE_TOLERANCE_PU = 0.0005


@pytest.fixture(scope="module")
def net() -> RawNetwork:
    return ieee33()


def rows(raw: RawNetwork, table: str) -> list[dict[str, Any]]:
    return raw.tables[table].rows


def test_structure_follows_the_paper(net: RawNetwork) -> None:
    assert [n["id"] for n in rows(net, "nodes")] == [str(b) for b in range(1, 34)]
    assert [s["id"] for s in rows(net, "sections")] == [f"L{k}" for k in range(1, 33)]
    ties = rows(net, "switches")
    assert [(t["id"], t["from_node"], t["to_node"]) for t in ties] == [
        ("T33", "8", "21"),
        ("T34", "9", "15"),
        ("T35", "12", "22"),
        ("T36", "18", "33"),
        ("T37", "25", "29"),
    ]
    assert all(t["normal_state"] == "open" for t in ties)
    assert rows(net, "substations")[0]["busbar_node"] == "1"
    assert rows(net, "feeders")[0]["head"] == "L1"
    assert all(s["length_km"] == 1.0 for s in rows(net, "sections"))


def test_loads_total_3715_kw_and_2300_kvar(net: RawNetwork) -> None:
    areas = rows(net, "transformer_areas")
    assert len(areas) == 32
    assert sum(a["load_kw"] for a in areas) == pytest.approx(3715.0)
    assert sum(LOAD_KVAR.values()) == pytest.approx(2300.0)
    for a in areas:
        p_kw, q_kvar = a["load_kw"], LOAD_KVAR[int(a["node"])]
        assert a["rated_kva"] == math.ceil(math.hypot(p_kw, q_kvar))
        assert a["lv_customers"] == round(p_kw / 2)  # our assumption, see the module doc


def test_table_matches_pandapower_case33bw() -> None:
    import pandapower.networks as pn

    pp = pn.case33bw()
    assert set(pp.bus.vn_kv) == {NOMINAL_KV}
    lines = pp.line.sort_index()
    expected = [*BRANCHES.values(), *TIE_BRANCHES.values()]
    assert len(lines) == len(expected)
    for k, (bus_from, bus_to, r_ohm, x_ohm) in enumerate(expected):
        line = lines.iloc[k]
        assert {line.from_bus + 1, line.to_bus + 1} == {bus_from, bus_to}
        assert line.r_ohm_per_km * line.length_km == pytest.approx(r_ohm)
        assert line.x_ohm_per_km * line.length_km == pytest.approx(x_ohm)
        assert bool(line.in_service) is (k < len(BRANCHES))  # the ties are out of service
    loads = {int(row.bus) + 1: (row.p_mw * 1e3, row.q_mvar * 1e3) for row in pp.load.itertuples()}
    assert loads.keys() == LOAD_KW.keys()
    for bus, (p_kw, q_kvar) in loads.items():
        assert (p_kw, q_kvar) == pytest.approx((LOAD_KW[bus], LOAD_KVAR[bus])), bus


def power_flow(raw: RawNetwork) -> tuple[float, float, str]:
    """Losses (kW), lowest voltage (pu) and its node, by power-grid-model (Newton-Raphson)."""
    node_rows, section_rows = rows(raw, "nodes"), rows(raw, "sections")
    areas, switch_rows = rows(raw, "transformer_areas"), rows(raw, "switches")
    index = {n["id"]: i for i, n in enumerate(node_rows)}
    next_id = iter(range(1_000_000))

    def ids(n: int) -> list[int]:
        return [next(next_id) for _ in range(n)]

    node = initialize_array(DatasetType.input, ComponentType.node, len(node_rows))
    node["id"] = ids(len(node_rows))
    node["u_rated"] = NOMINAL_KV * 1e3
    line = initialize_array(DatasetType.input, ComponentType.line, len(section_rows))
    line["id"] = ids(len(section_rows))
    line["from_node"] = [index[s["from_node"]] for s in section_rows]
    line["to_node"] = [index[s["to_node"]] for s in section_rows]
    line["from_status"] = line["to_status"] = 1
    line["r1"] = [s["r_ohm_per_km"] * s["length_km"] for s in section_rows]
    line["x1"] = [s["x_ohm_per_km"] * s["length_km"] for s in section_rows]
    line["c1"] = line["tan1"] = 0.0
    link = initialize_array(DatasetType.input, ComponentType.link, len(switch_rows))
    link["id"] = ids(len(switch_rows))
    link["from_node"] = [index[s["from_node"]] for s in switch_rows]
    link["to_node"] = [index[s["to_node"]] for s in switch_rows]
    link["from_status"] = link["to_status"] = [s["normal_state"] == "closed" for s in switch_rows]
    load = initialize_array(DatasetType.input, ComponentType.sym_load, len(areas))
    load["id"] = ids(len(areas))
    load["node"] = [index[a["node"]] for a in areas]
    load["status"] = 1
    load["type"] = LoadGenType.const_power
    load["p_specified"] = [a["load_kw"] * 1e3 for a in areas]
    load["q_specified"] = [LOAD_KVAR[int(a["node"])] * 1e3 for a in areas]
    source = initialize_array(DatasetType.input, ComponentType.source, 1)
    source["id"] = ids(1)
    source["node"] = index[rows(raw, "substations")[0]["busbar_node"]]
    source["status"] = 1
    source["u_ref"] = 1.0
    source["sk"] = 1e20  # an ideal slack bus, as in the paper
    model = PowerGridModel(
        {
            ComponentType.node: node,
            ComponentType.line: line,
            ComponentType.link: link,
            ComponentType.sym_load: load,
            ComponentType.source: source,
        }
    )
    result = model.calculate_power_flow(
        symmetric=True,
        error_tolerance=1e-10,
        calculation_method=CalculationMethod.newton_raphson,
    )
    lines = result[ComponentType.line]
    losses_kw = float(np.sum(lines["p_from"] + lines["p_to"])) / 1e3
    u_pu = result[ComponentType.node]["u_pu"]
    lowest = int(np.argmin(u_pu))
    return losses_kw, float(u_pu[lowest]), str(node_rows[lowest]["id"])


def test_base_case_power_flow_matches_the_published_figures(net: RawNetwork) -> None:
    losses_kw, min_pu, at = power_flow(net)
    assert losses_kw == pytest.approx(PUBLISHED_LOSSES_KW, abs=LOSSES_TOLERANCE_KW)
    assert min_pu == pytest.approx(PUBLISHED_MIN_VOLTAGE_PU, abs=VOLTAGE_TOLERANCE_PU)
    assert at == str(PUBLISHED_MIN_VOLTAGE_BUS)


def test_it_loads_with_no_problem(net: RawNetwork) -> None:
    result = check_raw(net)
    assert result.problems == ()


def test_shipped_folder_is_a_fresh_export(net: RawNetwork, tmp_path: Path) -> None:
    write_csv_folder(net, tmp_path)
    with as_file(files("openoms") / "data" / "ieee33") as shipped:
        for path in sorted(shipped.glob("*.csv")):
            assert path.read_bytes() == (tmp_path / path.name).read_bytes(), (
                f"{path.name}: run python -m openoms.grid.generate --network ieee33 "
                "--out src/openoms/data/ieee33"
            )
        assert check_raw(read_csv_folder(shipped)).problems == ()
