"""The clock settings of a telecontrol unit in the network data: ``clock`` (UTC or an IANA
zone) and ``clock_sync`` (may OpenOMS set the unit's clock), validated and read."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from openoms.grid import network_from_raw
from openoms.grid.load import check_raw, load_network
from openoms.grid.native import write_csv_folder
from openoms.grid.problems import InvalidNetworkError, ProblemKind
from openoms.ingest.iec104_points import unit_points
from tests.grid.small import small_raw
from tests.ingest.iec104_network import telecontrol_network, telecontrol_rows


def test_defaults_are_utc_and_synced() -> None:
    points = unit_points(telecontrol_network(), "U-RTU")
    assert (points.clock, points.zone, points.clock_sync) == ("UTC", UTC, True)


def test_a_zone_and_no_sync_survive_the_csv_round_trip(tmp_path: Path) -> None:
    rows = telecontrol_rows()
    rows["telecontrol_units"][2] |= {"clock": "Asia/Shanghai", "clock_sync": False}
    write_csv_folder(small_raw(rows), tmp_path)
    points = unit_points(load_network(tmp_path), "U-RTU")
    assert (points.clock, points.zone, points.clock_sync) == (
        "Asia/Shanghai",
        ZoneInfo("Asia/Shanghai"),
        False,
    )
    assert unit_points(load_network(tmp_path), "U-FTU").clock_sync is True


@pytest.mark.parametrize("clock", ["Beijing", "Asia/Peking/", "UTC+8", "../etc/passwd"])
def test_a_clock_that_is_no_zone_is_a_problem_naming_table_row_and_field(clock: str) -> None:
    rows = telecontrol_rows()
    rows["telecontrol_units"][1]["clock"] = clock
    problems = check_raw(small_raw(rows)).errors
    (problem,) = [p for p in problems if p.table == "telecontrol_units"]
    assert problem.matches(ProblemKind.BAD_VALUE, table="telecontrol_units", field="clock", row=3)
    assert repr(clock) in problem.message
    assert "IANA" in problem.message
    assert "telecontrol_units.csv row 3, field clock" in str(problem)
    with pytest.raises(InvalidNetworkError, match="field clock"):
        network_from_raw(small_raw(rows))
