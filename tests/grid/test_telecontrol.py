"""The telecontrol point table: optional, built into the model, every bad row named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openoms.grid import network_from_raw
from openoms.grid.load import check_raw, load_network
from openoms.grid.native import read_csv_folder, write_csv_folder
from openoms.grid.problems import ProblemKind
from openoms.grid.telecontrol import BREAKER_POINTS, REPORT_POINTS, PointValue
from openoms.ingest.points import POINTS, PointType
from tests.grid.small import small_raw, small_rows
from tests.ingest.iec104_network import telecontrol_rows

ROOT = Path(__file__).resolve().parents[2]


def test_networks_without_the_tables_stay_valid() -> None:
    net = network_from_raw(small_raw(small_rows()))
    assert net.telecontrol_units.id == ()
    assert len(net.telecontrol_points.ioa) == 0


def test_the_point_names_are_those_of_the_report_point_table() -> None:
    assert {p.name: p.type.value for p in POINTS} == {
        name: point.value.value for name, point in REPORT_POINTS.items()
    }
    assert {p.name for p in POINTS if p.ftu_only} == {
        name for name, point in REPORT_POINTS.items() if point.ftu_only
    }
    assert PointType.FLAG.value == PointValue.FLAG.value
    assert not set(BREAKER_POINTS) & set(REPORT_POINTS)


def test_the_point_table_is_built_into_the_model() -> None:
    net = network_from_raw(small_raw(telecontrol_rows()))
    units, points = net.telecontrol_units, net.telecontrol_points
    assert units.id == ("U-FTU", "U-FI", "U-RTU")
    assert units.port.tolist() == [2404, 2405, 2406]
    assert units.common_address.tolist() == [1, 2, 3]
    assert len(points.ioa) == 18
    # row 4 is K1's position on the FTU unit: a switch, so detector is -1
    assert (points.point[4], points.asdu_type[4]) == ("switch_closed", "double")
    assert points.detector[4] == -1
    assert net.switches.id[points.switch[4]] == "K1"
    assert points.element_id(net, 0) == "D2"
    assert points.scale[8] == 0.1  # active_power_kw, scaled
    assert points.scale[0] == 1.0  # the default
    assert net.locate("U-RTU")[1] == 2


def _problems(rows: dict[str, list[dict[str, Any]]]) -> list[Any]:
    return list(check_raw(small_raw(rows)).errors)


def test_bad_point_tables_are_named_by_file_row_and_field() -> None:
    rows = telecontrol_rows()
    points = rows["telecontrol_points"]
    points[1]["unit"] = "U-NONE"  # row 3: unknown unit
    points[2]["element"] = "D9"  # row 4: unknown element
    points[3]["ioa"] = 1  # row 5: IOA 1 of U-FTU again
    points[5]["point"] = "load_curent_a"  # row 7: misspelt
    points[6]["asdu_type"] = "single"  # row 8: a number on a flag type
    points[9]["point"] = "switch_closed"  # row 11: an FTU point on a fault indicator
    points[13]["point"] = "load_current_a"  # row 15: a report point on a switch
    points[14]["element"] = "K1"  # row 16: a breaker point on a load-break switch
    points[15]["element"] = "D2"  # row 17: a breaker point on a detector
    rows["telecontrol_units"][1]["port"] = 70000  # row 3 of the units
    problems = _problems(rows)
    expected = [
        (ProblemKind.UNKNOWN_REFERENCE, "telecontrol_points", "unit", 3),
        (ProblemKind.UNKNOWN_REFERENCE, "telecontrol_points", "element", 4),
        (ProblemKind.DUPLICATE_POINT, "telecontrol_points", "ioa", 5),
        (ProblemKind.UNKNOWN_POINT, "telecontrol_points", "point", 7),
        (ProblemKind.POINT_TYPE_MISMATCH, "telecontrol_points", "asdu_type", 8),
        (ProblemKind.POINT_ELEMENT_MISMATCH, "telecontrol_points", "element", 11),
        (ProblemKind.POINT_TYPE_MISMATCH, "telecontrol_points", "asdu_type", 15),  # on double
        (ProblemKind.POINT_ELEMENT_MISMATCH, "telecontrol_points", "element", 15),
        (ProblemKind.POINT_ELEMENT_MISMATCH, "telecontrol_points", "element", 16),
        (ProblemKind.POINT_ELEMENT_MISMATCH, "telecontrol_points", "element", 17),
        (ProblemKind.OUT_OF_RANGE, "telecontrol_units", "port", 3),
    ]
    for kind, table, field, row in expected:
        assert any(p.matches(kind, table=table, field=field, row=row) for p in problems), (
            kind,
            row,
            [str(p) for p in problems],
        )
    assert len(problems) == len(expected)
    shown = next(str(p) for p in problems if p.kind is ProblemKind.POINT_TYPE_MISMATCH)
    assert "small/telecontrol_points.csv row 8, field asdu_type" in shown
    assert "load_current_b is a number" in shown


def test_a_repeated_station_address_is_a_problem() -> None:
    rows = telecontrol_rows()
    rows["telecontrol_units"][1]["port"] = rows["telecontrol_units"][0]["port"]
    rows["telecontrol_units"][1]["common_address"] = 1
    (problem,) = _problems(rows)
    assert problem.matches(
        ProblemKind.DUPLICATE_POINT, table="telecontrol_units", field="common_address", row=3
    )
    assert "'U-FTU'" in problem.message


def test_csv_round_trip_keeps_the_point_table(tmp_path: Path) -> None:
    write_csv_folder(small_raw(telecontrol_rows()), tmp_path)
    net = load_network(tmp_path)
    assert len(net.telecontrol_points.ioa) == 18
    assert read_csv_folder(tmp_path).tables["telecontrol_points"].locations[0].row == 2


def test_the_sample_county_has_a_unit_per_ftu_dtu_site_and_per_substation() -> None:
    net = load_network(ROOT / "src/openoms/data/sample_county")
    kinds = net.detectors.kind
    sites = sum(k in ("ftu", "dtu") for k in kinds)
    units = net.telecontrol_units
    assert len(units.id) == sites + len(net.substations.id)  # 102 + 3
    assert units.port.tolist() == list(range(24040, 24040 + len(units.id)))
    assert set(units.host) == {"127.0.0.1"}
    # every relay's breaker has its five points on its substation's RTU
    relays = sum(k == "relay" for k in kinds)
    breaker_rows = [p for p in net.telecontrol_points.point if p in BREAKER_POINTS]
    reclosers_with_ftu = (len(breaker_rows) - 4 * relays) // 4
    assert len(breaker_rows) == 4 * (relays + reclosers_with_ftu)
