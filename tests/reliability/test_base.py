"""The customer base from the network (normal state) and from a customer-base CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from openoms.grid import network_from_raw
from openoms.grid.topology import Topology
from openoms.reliability.base import (
    NO_FEEDER,
    customer_base_from_network,
    merge_bases,
    parse_customer_base,
)
from openoms.reliability.data import CustomerBase
from openoms.reliability.rows import CsvRowsError
from tests.grid.small import small_raw, small_rows


def _labels(base: CustomerBase, field: str, names: str) -> list[str | None]:
    codes: list[int] = getattr(base, field).tolist()
    labels: tuple[str, ...] = getattr(base, names)
    return [labels[c] if c >= 0 else None for c in codes]


def test_every_transformer_area_and_hv_customer_is_a_unit_of_its_normal_feeder() -> None:
    base = customer_base_from_network(network_from_raw(small_raw()))
    # tests/grid/small.py: TA1 at A2, TA2 at A4, TA3 at A6 (F1); TA4 at C2 (F2); TA5 at B3 (F3);
    # HV1 at A3 (F1); T1 between A4 and B4 is normally open.
    assert base.unit_id == ("TA1", "TA2", "TA3", "TA4", "TA5", "HV1")
    assert base.is_hv.tolist() == [False] * 5 + [True]
    assert base.customers.tolist() == [40, 35, 20, 50, 30, 1]
    assert base.load_kva.tolist() == [200.0] * 5 + [1000.0]
    assert _labels(base, "feeder", "feeder_ids") == ["F1", "F1", "F1", "F2", "F3", "F1"]
    assert _labels(base, "substation", "substation_ids") == ["SA"] * 4 + ["SB", "SA"]
    assert _labels(base, "grid_cell", "grid_cell_ids") == ["G1"] * 6
    assert _labels(base, "village", "village_names") == [
        "王庄村",
        "李村",
        "李村",
        "城关",
        "张营",
        None,
    ]


def test_the_feeder_is_the_normal_one_even_when_switched_now() -> None:
    rows = small_rows()
    # today: K1 open and the tie T1 closed, so A3/A4 (TA2, HV1) are fed from F3 now
    for switch in rows["switches"]:
        if switch["id"] == "K1":
            switch["present_state"] = "open"
        if switch["id"] == "T1":
            switch["present_state"] = "closed"
    network = network_from_raw(small_raw(rows))
    now = Topology.build(network.graph_arrays(), network.closed_edges())
    assert network.feeders.id[now.feeder_of(int(network.transformer_areas.node[1]))] == "F3"
    base = customer_base_from_network(network)
    assert _labels(base, "feeder", "feeder_ids")[1] == "F1"
    assert _labels(base, "feeder", "feeder_ids")[5] == "F1"


def test_a_unit_no_feeder_supplies_gets_the_pseudo_feeder_and_its_busbar_substation() -> None:
    rows = small_rows()
    rows["transformer_areas"][0]["node"] = "A0"  # TA1 on the busbar of SA
    base = customer_base_from_network(network_from_raw(small_raw(rows)))
    assert _labels(base, "feeder", "feeder_ids")[0] == NO_FEEDER
    assert _labels(base, "substation", "substation_ids")[0] == "SA"


BASE_CSV = """unit_id,customers,kva,feeder,substation,grid_cell,village,kind
OLD1,120,315,F9,S9,G9,旧村
OLD2,1,800,F9,S9,,,hv
"""


def _read(text: str) -> CustomerBase:
    return parse_customer_base(csv.reader(io.StringIO(text)), source="base.csv")


def test_a_customer_base_csv_parses_and_merges_after_the_network_units() -> None:
    extra = _read(BASE_CSV.replace("旧村\n", "旧村,ta\n"))
    assert extra.unit_id == ("OLD1", "OLD2")
    assert extra.customers.tolist() == [120, 1]
    assert extra.is_hv.tolist() == [False, True]
    assert _labels(extra, "grid_cell", "grid_cell_ids") == ["G9", None]
    network = customer_base_from_network(network_from_raw(small_raw()))
    merged = merge_bases(network, extra, source="base.csv")
    assert merged.unit_id[-2:] == ("OLD1", "OLD2")
    feeders = ["F1", "F1", "F1", "F2", "F3", "F1", "F9", "F9"]
    assert _labels(merged, "feeder", "feeder_ids") == feeders
    assert int(merged.customers.sum()) == 176 + 121
    assert np.array_equal(merged.load_kva[-2:], [315.0, 800.0])


def test_bad_base_rows_are_all_named() -> None:
    text = """unit_id,customers,kva,feeder,substation,grid_cell,village
U1,-1,315,F9,S9,,
U1,10,big,F9,,,
,3,10,F9,S9,,
"""
    with pytest.raises(CsvRowsError) as caught:
        _read(text)
    assert {(p.row, p.field) for p in caught.value.problems} == {
        (2, "customers"),
        (3, "unit_id"),  # repeats row 2
        (3, "kva"),
        (3, "substation"),
        (4, "unit_id"),
    }


def test_a_base_csv_unit_already_in_the_network_is_refused() -> None:
    network = customer_base_from_network(network_from_raw(small_raw()))
    with pytest.raises(CsvRowsError, match="TA1"):
        merge_bases(network, _read(BASE_CSV.replace("OLD1", "TA1")), source="base.csv")
