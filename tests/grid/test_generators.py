"""Distributed generation in the network data: the ``generators`` table of the native format
(CSV and JSON), the kinds' default detection probabilities, bad rows named by file, row and
field, the substations' ``neutral_earthing``, and pandapower's ``sgen`` / ``gen`` mapped to it
(on a stand-in net made of plain tables, so that it runs without pandapower installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openoms.grid.load import check_raw, load_network, network_from_raw
from openoms.grid.native import write_csv_folder, write_json_document
from openoms.grid.pandapower_import import raw_from_pandapower
from openoms.grid.problems import InvalidNetworkError, ProblemKind
from openoms.grid.schema import DEFAULT_DETECTION_PROBABILITY
from openoms.grid.snapshot import indexed, load_snapshot, save_snapshot
from tests.grid.small import small_raw, small_rows


def _rows_with(generators: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    rows = small_rows()
    rows["generators"] = generators
    return rows


GENERATORS = [
    {"id": "PV1", "name": "李村光伏", "node": "A4", "kind": "inverter", "rated_kw": 800.0},
    {"id": "HY1", "name": "小水电", "node": "A4", "kind": "synchronous", "rated_kw": 500.0},
    {"id": "WT1", "node": "B3", "kind": "induction", "detection_probability": 0.75},
]


def test_generators_load_with_the_kinds_default_probabilities(tmp_path: Path) -> None:
    write_csv_folder(small_raw(_rows_with(GENERATORS)), tmp_path / "csv")
    write_json_document(small_raw(_rows_with(GENERATORS)), tmp_path / "net.json")
    for source in (tmp_path / "csv", tmp_path / "net.json"):
        network = load_network(source)
        gen = network.generators
        assert gen.id == ("PV1", "HY1", "WT1")
        assert [network.nodes.id[n] for n in gen.node.tolist()] == ["A4", "A4", "B3"]
        assert gen.kind == ("inverter", "synchronous", "induction")
        # PV1, HY1 take their kind's default (inverter 0.3, synchronous 0.95); WT1 its own 0.75
        assert gen.detection_probability.tolist() == [0.3, 0.95, 0.75]
        assert np.isnan(gen.rated_kw[2])
        # two generators at A4: detectable unless neither is, 1 − (1 − 0.3)(1 − 0.95) = 0.965
        sources = gen.sources(network)
        assert sources["A4"] == pytest.approx(0.965)
        assert sources["B3"] == 0.75
        assert network.locate("HY1")[0].value == "generators"


def test_the_default_probabilities_are_those_documented() -> None:
    assert DEFAULT_DETECTION_PROBABILITY == {"inverter": 0.3, "synchronous": 0.95, "induction": 0.6}
    doc = (Path(__file__).parents[2] / "docs" / "faults.md").read_text(encoding="utf-8")
    for kind, p in DEFAULT_DETECTION_PROBABILITY.items():
        assert f"| `{kind}` | {p:g} |" in doc


def test_a_network_without_generators_has_none() -> None:
    network = network_from_raw(small_raw())
    assert network.generators.id == ()
    assert network.generators.sources(network) == {}
    assert network.substations.neutral_earthing == ("petersen_coil", "petersen_coil")


def test_bad_generator_rows_are_named_by_row_and_field() -> None:
    bad: list[dict[str, Any]] = [
        {"id": "X1", "node": "A4", "kind": "wind"},
        {"id": "X2", "node": "A4", "kind": "inverter", "detection_probability": 1.5},
        {"id": "X3", "node": "X9", "kind": "inverter"},
        {"id": "X4", "node": "A4", "kind": "inverter", "rated_kw": 0},
    ]
    with pytest.raises(InvalidNetworkError) as caught:
        network_from_raw(small_raw(_rows_with(bad)))
    problems = {str(p) for p in caught.value.problems}
    assert problems == {
        "error: small/generators.csv row 2, field kind (X1): 'wind' is not one of inverter, "
        "synchronous, induction",
        "error: small/generators.csv row 3, field detection_probability (X2): 1.5 is above "
        "the maximum 1",
        "error: small/generators.csv row 4, field node (X3): 'X9' is not a known node",
        "error: small/generators.csv row 5, field rated_kw (X4): 0 kW must be greater than 0",
    }
    kinds = {p.kind for p in caught.value.problems}
    assert kinds == {
        ProblemKind.NOT_A_CHOICE,
        ProblemKind.OUT_OF_RANGE,
        ProblemKind.UNKNOWN_REFERENCE,
    }


def test_neutral_earthing_is_read_and_checked() -> None:
    rows = small_rows()
    rows["substations"][0]["neutral_earthing"] = "isolated"
    rows["substations"][1]["neutral_earthing"] = "resistance"
    network = network_from_raw(small_raw(rows))
    assert network.substations.neutral_earthing == ("isolated", "resistance")
    assert network.substations.earthing(1) == "resistance"
    rows["substations"][1]["neutral_earthing"] = "grounded"
    result = check_raw(small_raw(rows))
    assert [str(p) for p in result.errors] == [
        "error: small/substations.csv row 3, field neutral_earthing (SB): 'grounded' is not "
        "one of isolated, petersen_coil, resistance, solid"
    ]


def test_generators_survive_a_snapshot(tmp_path: Path) -> None:
    network = network_from_raw(small_raw(_rows_with(GENERATORS)))
    save_snapshot(indexed(network), tmp_path / "net.snapshot", key="k")
    restored = load_snapshot(tmp_path / "net.snapshot", key="k").network
    assert restored.generators.id == network.generators.id
    assert restored.generators.detection_probability.tolist() == [0.3, 0.95, 0.75]
    assert restored.generators.sources(restored) == network.generators.sources(network)
    assert restored.locate("WT1") == network.locate("WT1")


# -- pandapower: sgen and gen --------------------------------------------------------------


class _Frame:
    """The two things the importer asks of a pandas DataFrame."""

    def __init__(self, rows: dict[int, dict[str, Any]]) -> None:
        self.rows = rows
        self.columns = sorted({k for row in rows.values() for k in row})

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self, orient: str) -> dict[int, dict[str, Any]]:
        assert orient == "index"
        return {i: dict(row) for i, row in self.rows.items()}


class _Net(dict[str, _Frame]):
    name = "dg"


def _dg_net() -> _Net:
    """ext_grid ─ b0 (110 kV) ═trafo0═ b1 (10 kV busbar) ─line0─ b2 ─line1─ b3 ═trafo1═ b4
    (0.4 kV). Generation: sgen 0 (PV, converter) and gen 0 (hydro) at b3, sgen 1 (an
    asynchronous machine) at b2, sgen 2 on the LV bus, sgen 3 out of service, gen 1 the
    slack at the busbar."""
    buses = {i: {"vn_kv": kv, "in_service": True} for i, kv in enumerate([110, 10, 10, 10, 0.4])}
    trafo = {"vn_hv_kv": 110.0, "in_service": True, "parallel": 1}
    return _Net(
        bus=_Frame(buses),
        ext_grid=_Frame({0: {"bus": 0, "in_service": True, "name": "Grid"}}),
        trafo=_Frame(
            {
                0: trafo | {"hv_bus": 0, "lv_bus": 1, "sn_mva": 25.0},
                1: trafo | {"hv_bus": 3, "lv_bus": 4, "sn_mva": 0.4, "vn_hv_kv": 10.0},
            }
        ),
        line=_Frame(
            {
                0: {"from_bus": 1, "to_bus": 2, "length_km": 1.0, "in_service": True},
                1: {"from_bus": 2, "to_bus": 3, "length_km": 2.0, "in_service": True},
            }
        ),
        sgen=_Frame(
            {
                0: {"bus": 3, "p_mw": 0.5, "sn_mva": 0.6, "current_source": True, "name": "PV"},
                1: {"bus": 2, "p_mw": 0.2, "scaling": 0.5, "generator_type": "async"},
                2: {"bus": 4, "p_mw": 0.005},
                3: {"bus": 3, "p_mw": 0.1, "in_service": False},
            }
        ),
        gen=_Frame(
            {
                0: {"bus": 3, "p_mw": 1.0, "sn_mva": 1.25, "slack": False, "name": "hydro"},
                1: {"bus": 1, "p_mw": 0.0, "slack": True},
            }
        ),
    )


def test_pandapower_sgen_and_gen_become_generators() -> None:
    raw = raw_from_pandapower(_dg_net())
    rows = {row["id"]: row for row in raw.tables["generators"].rows}
    # rated_kw: sn_mva × 1000 when given (600, 1250), else |p_mw| × scaling × 1000 (100)
    assert rows == {
        "sgen:0": {
            "id": "sgen:0",
            "name": "PV",
            "node": "bus:3",
            "kind": "inverter",
            "rated_kw": 600.0,
            "detection_probability": None,
        },
        "sgen:1": {
            "id": "sgen:1",
            "name": None,
            "node": "bus:2",
            "kind": "induction",
            "rated_kw": 100.0,
            "detection_probability": None,
        },
        "gen:0": {
            "id": "gen:0",
            "name": "hydro",
            "node": "bus:3",
            "kind": "synchronous",
            "rated_kw": 1250.0,
            "detection_probability": None,
        },
    }
    notes = {str(n) for n in raw.notes}
    assert "sgen:2: left out: on a 0.4 kV bus (only 1–35 kV generation)" in notes
    assert "sgen:3: left out: out of service" in notes
    assert "gen:1: left out: a slack generator is the supply, not DG" in notes
    assert not any(n.element in ("sgen", "gen") for n in raw.notes)  # no "not imported"
    network = network_from_raw(raw)
    # bus:3 holds the PV (0.3) and the hydro (0.95): 1 − 0.7 × 0.05 = 0.965
    assert network.generators.sources(network) == {
        "bus:3": pytest.approx(0.965),
        "bus:2": 0.6,
    }


def test_an_sgen_modelled_as_a_voltage_source_is_an_induction_machine() -> None:
    net = _dg_net()
    net["sgen"] = _Frame({0: {"bus": 3, "p_mw": 0.5, "current_source": False}})
    rows = raw_from_pandapower(net).tables["generators"].rows
    assert [(row["id"], row["kind"]) for row in rows] == [
        ("sgen:0", "induction"),
        ("gen:0", "synchronous"),
    ]
