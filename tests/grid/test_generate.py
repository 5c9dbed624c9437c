"""The synthetic county: deterministic, shipped as generated, realistic, radial, consistent."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from openoms.grid.generate import DEFAULT_SEED, CountyOptions, _areas, generate_county, main
from openoms.grid.generate._county import County
from openoms.grid.generate._draw import Draw
from openoms.grid.generate._names import township_stems
from openoms.grid.load import check_raw
from openoms.grid.native import read_csv_folder, read_json_document, write_csv_folder
from openoms.grid.records import RawNetwork
from openoms.grid.schema import (
    TABLES,
    TABLES_BY_NAME,
    DetectorKind,
    FieldType,
    SensitiveCategory,
    SwitchKind,
)

STANDARD_KVA = {50.0, 100.0, 200.0, 315.0, 400.0, 500.0, 630.0}
PYTHON_TYPES = {
    FieldType.STRING: str,
    FieldType.REFERENCE: str,
    FieldType.CHOICE: str,
    FieldType.FLOAT: float,
    FieldType.INTEGER: int,
    FieldType.BOOLEAN: bool,
}


@pytest.fixture(scope="module")
def county() -> RawNetwork:
    return generate_county()


def rows(raw: RawNetwork, table: str) -> list[dict[str, Any]]:
    return raw.tables[table].rows


def ties_per_feeder(raw: RawNetwork) -> Counter[str]:
    feeder_of = {n["id"]: str(n["id"]).rsplit("-", 1)[0] for n in rows(raw, "nodes")}
    count: Counter[str] = Counter({str(f["id"]): 0 for f in rows(raw, "feeders")})
    for s in rows(raw, "switches"):
        if s["normal_state"] == "open":
            count[feeder_of[s["from_node"]]] += 1
            count[feeder_of[s["to_node"]]] += 1
    return count


# --- determinism and the shipped files --------------------------------------------------------


def test_same_seed_gives_the_same_network(county: RawNetwork) -> None:
    again = generate_county(seed=DEFAULT_SEED)
    assert again.tables.keys() == county.tables.keys()
    for name, table in county.tables.items():
        assert again.tables[name].rows == table.rows, name
        assert again.tables[name].locations == table.locations, name


def test_another_seed_gives_another_network(county: RawNetwork) -> None:
    other = generate_county(seed=DEFAULT_SEED + 1)
    assert rows(other, "nodes") != rows(county, "nodes")
    assert rows(other, "transformer_areas") != rows(county, "transformer_areas")


def _shipped_files(folder: str) -> Iterator[Path]:
    with as_file(files("openoms") / "data" / folder) as path:
        yield from sorted(path.glob("*.csv"))


def test_shipped_sample_county_is_a_fresh_generation(county: RawNetwork, tmp_path: Path) -> None:
    write_csv_folder(county, tmp_path)
    shipped = list(_shipped_files("sample_county"))
    assert [p.name for p in shipped] == sorted(p.name for p in tmp_path.glob("*.csv"))
    for path in shipped:
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), (
            f"{path.name} differs: run python -m openoms.grid.generate "
            "--out src/openoms/data/sample_county (never edit it by hand)"
        )


def test_every_row_is_located_at_the_generator(county: RawNetwork) -> None:
    for table in county.tables.values():
        for row, location in zip(table.rows, table.locations, strict=True):
            assert location.source == f"generator:{DEFAULT_SEED}"
            assert location.element == row.get("id", f"{row.get('unit')} IOA {row.get('ioa')}")


# --- the format ---------------------------------------------------------------------------------


def test_rows_use_exactly_the_schema_fields_and_types(county: RawNetwork) -> None:
    assert set(county.tables) == set(TABLES_BY_NAME)
    for spec in TABLES:
        names = [f.name for f in spec.fields]
        for row in rows(county, spec.name):
            assert list(row) == names, spec.name
            for f in spec.fields:
                value = row[f.name]
                if value is None:
                    assert not f.required, (spec.name, row["id"], f.name)
                    continue
                assert type(value) is PYTHON_TYPES[f.type], (spec.name, row["id"], f.name)
                if f.choices:
                    assert value in f.choices
                if f.minimum is not None:
                    assert value >= f.minimum
                if f.exclusive_minimum is not None:
                    assert value > f.exclusive_minimum


def test_ids_are_unique_across_all_tables(county: RawNetwork) -> None:
    ids = [row["id"] for table in county.tables.values() for row in table.rows if "id" in row]
    assert len(ids) == len(set(ids))


def test_every_reference_resolves_to_a_table_it_may_refer_to(county: RawNetwork) -> None:
    ids = {name: {row.get("id") for row in table.rows} for name, table in county.tables.items()}
    for spec in TABLES:
        for f in spec.fields:
            if f.type is not FieldType.REFERENCE:
                continue
            for row in rows(county, spec.name):
                value = row[f.name]
                if value is not None:
                    assert any(value in ids[t] for t in f.references), (spec.name, f.name, value)


def test_it_loads_with_no_problem(county: RawNetwork) -> None:
    result = check_raw(county)
    assert result.problems == ()
    assert result.network is not None


def test_the_shipped_folder_loads_with_no_problem() -> None:
    with as_file(files("openoms") / "data" / "sample_county") as path:
        result = check_raw(read_csv_folder(path))
    assert result.problems == ()


# --- realism --------------------------------------------------------------------------------------


def test_size_is_that_of_a_county(county: RawNetwork) -> None:
    assert len(rows(county, "substations")) == 3
    assert 20 <= len(rows(county, "feeders")) <= 24
    assert 3_000 <= len(rows(county, "sections")) <= 6_000
    assert 1_000 <= len(rows(county, "transformer_areas")) <= 1_500
    assert 60 <= len(rows(county, "hv_customers")) <= 100
    assert 20 <= len(rows(county, "sensitive_customers")) <= 40
    assert 8 <= len(rows(county, "grid_cells")) <= 12


def test_names_read_like_a_chinese_county(county: RawNetwork) -> None:
    assert {s["name"] for s in rows(county, "substations")} >= {"城关变", "柏山变", "宁郭变"}
    for f in rows(county, "feeders"):
        assert re.fullmatch(r"10kV (城关|柏山|宁郭)[ⅠⅡⅢⅣⅤⅥⅦⅧ]线", str(f["name"])), f["name"]
    for cell in rows(county, "grid_cells"):
        assert re.fullmatch(r".+供电所抢修[一二三四五六七八九十]班", str(cell["crew"]))
    assert re.fullmatch(r"CG-F\d\d-S\d{4}", str(rows(county, "sections")[0]["id"]))


def test_sections_are_100_to_400_m_of_realistic_conductors(county: RawNetwork) -> None:
    conductors = Counter(s["conductor"] for s in rows(county, "sections"))
    assert {"JKLYJ-240", "JKLYJ-150", "JKLYJ-95", "YJV22-3×300"} <= set(conductors)
    trunk_and_branches = [s for s in rows(county, "sections") if "联络线" not in str(s["name"])]
    lengths = [s["length_km"] for s in trunk_and_branches]
    assert 0.2 <= statistics.median(lengths) <= 0.3
    assert sum(0.1 <= km <= 0.4 for km in lengths) > 0.9 * len(lengths)
    for s in rows(county, "sections"):
        assert s["kind"] == ("cable" if str(s["conductor"]).startswith("YJV") else "overhead")


def test_transformer_areas_are_in_villages_or_on_town_streets(county: RawNetwork) -> None:
    areas = rows(county, "transformer_areas")
    assert {a["rated_kva"] for a in areas} <= STANDARD_KVA
    rural = [a for a in areas if a["village"] is not None]
    town = [a for a in areas if a["village"] is None]
    assert all(a["street"] is None for a in rural)
    assert all(a["street"] is not None and a["township"] == "城关镇" for a in town)
    assert all(30 <= a["lv_customers"] <= 50 for a in rural)
    assert statistics.mean(a["lv_customers"] for a in town) > 80
    villages = {a["village"] for a in rural}
    assert all(re.fullmatch(r"\w+村", str(v)) for v in villages)
    assert 10 <= len({a["township"] for a in areas}) <= 15
    township_of: dict[str, str] = {}
    for a in rural:  # a village lies in one township
        assert township_of.setdefault(a["village"], a["township"]) == a["township"]


def test_hv_and_sensitive_customers(county: RawNetwork) -> None:
    hv = rows(county, "hv_customers")
    assert all(315 <= h["contracted_kva"] <= 4000 for h in hv)
    importance = Counter(h["importance"] for h in hv)
    assert importance["class_1"] >= 1
    assert importance["class_2"] >= 1
    sensitive = rows(county, "sensitive_customers")
    categories = {s["category"] for s in sensitive}
    assert categories >= {
        SensitiveCategory.HOSPITAL,
        SensitiveCategory.NURSING_HOME,
        SensitiveCategory.SCHOOL,
        SensitiveCategory.WATER_WORKS,
        SensitiveCategory.LIVESTOCK_FARM,
        SensitiveCategory.HOME_MEDICAL,
    }
    nursing_96 = [s for s in sensitive if s["people"] == 96]
    assert len(nursing_96) == 1
    assert nursing_96[0]["category"] == "nursing_home"
    assert str(nursing_96[0]["name"]).endswith("敬老院")
    suppliers = {str(s["supplied_by"])[:3] for s in sensitive}
    assert suppliers == {"TA-", "HV-"}


def test_every_switch_and_detector_kind_is_there(county: RawNetwork) -> None:
    switches = rows(county, "switches")
    assert {s["kind"] for s in switches} == {k.value for k in SwitchKind}
    detectors = rows(county, "detectors")
    assert {d["kind"] for d in detectors} == {k.value for k in DetectorKind}
    assert all(s["present_state"] is None for s in switches)


def test_each_feeder_starts_with_a_remote_breaker_and_its_relay(county: RawNetwork) -> None:
    switches = {s["id"]: s for s in rows(county, "switches")}
    relays = {d["branch"] for d in rows(county, "detectors") if d["kind"] == "relay"}
    busbars = {s["busbar_node"] for s in rows(county, "substations")}
    for f in rows(county, "feeders"):
        head = switches[f["head"]]
        assert head["kind"] == "breaker"
        assert head["remote"] is True
        assert head["from_node"] in busbars
        assert f["head"] in relays
    assert len(relays) == len(rows(county, "feeders"))


def test_remote_switches_have_an_ftu_or_dtu(county: RawNetwork) -> None:
    units = {d["branch"] for d in rows(county, "detectors") if d["kind"] in ("ftu", "dtu")}
    remote = {s["id"] for s in rows(county, "switches") if s["remote"] and s["kind"] != "breaker"}
    assert remote == units


def test_every_feeder_has_a_tie_and_most_have_two(county: RawNetwork) -> None:
    ties = [s for s in rows(county, "switches") if s["normal_state"] == "open"]
    assert all(s["kind"] == "load_break_switch" for s in ties)
    count = ties_per_feeder(county)
    assert min(count.values()) >= 1
    assert sum(n >= 2 for n in count.values()) > len(count) / 2


def test_coordinates_cover_about_40_by_30_km_around_the_county_town(county: RawNetwork) -> None:
    lon = [n["lon_deg"] for n in rows(county, "nodes")]
    lat = [n["lat_deg"] for n in rows(county, "nodes")]
    assert min(lon) > 112.9
    assert max(lon) < 113.5
    assert min(lat) > 35.0
    assert max(lat) < 35.4
    assert 30 <= (max(lon) - min(lon)) * 91.0 <= 50  # km per degree of longitude at 35.2°N
    assert 20 <= (max(lat) - min(lat)) * 110.9 <= 40
    assert all(n["grid_cell"] is not None for n in rows(county, "nodes"))


# --- topology -------------------------------------------------------------------------------------


def closed_graph(raw: RawNetwork) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(n["id"] for n in rows(raw, "nodes"))
    for s in rows(raw, "sections"):
        graph.add_edge(s["from_node"], s["to_node"], id=s["id"])
    for s in rows(raw, "switches"):
        if s["normal_state"] == "closed":
            graph.add_edge(s["from_node"], s["to_node"], id=s["id"])
    return graph


def test_normal_state_is_radial_with_one_tree_per_substation(county: RawNetwork) -> None:
    graph = closed_graph(county)
    edges = len(rows(county, "sections")) + sum(
        s["normal_state"] == "closed" for s in rows(county, "switches")
    )
    assert graph.number_of_edges() == edges  # no parallel branches
    assert nx.is_forest(graph)
    busbars = {s["busbar_node"] for s in rows(county, "substations")}
    trees = list(nx.connected_components(graph))
    assert len(trees) == len(busbars)  # every node is reached from a busbar
    assert all(len(tree & busbars) == 1 for tree in trees)


def test_each_feeder_is_the_subtree_below_its_breaker(county: RawNetwork) -> None:
    graph = closed_graph(county)
    switches = {s["id"]: s for s in rows(county, "switches")}
    for f in rows(county, "feeders"):
        head = switches[f["head"]]
        graph.remove_edge(head["from_node"], head["to_node"])
        below = nx.node_connected_component(graph, head["to_node"])
        assert {str(n).rsplit("-", 1)[0] for n in below} == {f["id"]}


# --- scale, options and the command ---------------------------------------------------------------


def test_it_scales_to_tens_of_thousands_of_sections() -> None:
    # substations=40, feeders_per_substation=12 gives about 90,000 sections in a few seconds
    raw = generate_county(seed=1, substations=12, feeders_per_substation=10)
    assert len(rows(raw, "feeders")) == 120
    assert len(rows(raw, "sections")) > 15_000
    ids = [row["id"] for table in raw.tables.values() for row in table.rows if "id" in row]
    assert len(ids) == len(set(ids))
    assert min(ties_per_feeder(raw).values()) >= 1
    assert nx.is_forest(closed_graph(raw))


def test_a_small_county_from_options() -> None:
    raw = generate_county(seed=7, substations=1, feeders_per_substation=3,
                          options=CountyOptions(townships=3, grid_cells=2))  # fmt: skip
    assert len(rows(raw, "feeders")) == 3
    assert len(rows(raw, "grid_cells")) == 2
    assert check_raw(raw).problems == ()


def test_taken_village_names_get_the_next_number(monkeypatch: pytest.MonkeyPatch) -> None:
    county = County(1, 1, 1, CountyOptions())
    monkeypatch.setattr(_areas, "village_name", lambda draw: "李庄")  # every draw is taken
    made = [county.villages[_areas._new_village(county)].name for _ in range(12)]
    assert made == [
        "李庄村",
        *(f"李庄{digit}村" for digit in "二三四五六七八九十"),
        "李庄11村",
        "李庄12村",
    ]
    assert county.villages[-1].stem == "李庄12"  # what a branch is named after
    monkeypatch.setattr(_areas, "village_name", lambda draw: "小李村")
    assert county.villages[_areas._new_village(county)].name == "小李村"
    assert county.villages[_areas._new_village(county)].name == "小李二村"


def test_past_483_townships_the_stems_take_a_direction() -> None:
    stems = township_stems(Draw(1), 1000)
    assert stems[:483] == township_stems(Draw(1), 483)  # a smaller county is named as before
    assert len({stem for stem, _ in stems}) == 1000
    assert stems[483] == ("东城关", "DCG")
    raw = generate_county(seed=2, substations=2, feeders_per_substation=1,
                          options=CountyOptions(townships=700, grid_cells=3))  # fmt: skip
    assert check_raw(raw).problems == ()


# A county of about 200,000 nodes, made in a child process so that a generator that never
# finishes fails the test instead of hanging it; it prints what the test checks.
_LARGE_COUNTY = """
import json, re, time
from openoms.grid.generate import generate_county
cpu = time.process_time()
raw = generate_county(seed=11, substations=80, feeders_per_substation=12)
cpu = time.process_time() - cpu
named = ("substations", "feeders", "grid_cells", "transformer_areas", "hv_customers",
         "sensitive_customers")
names = {t: [row["name"] for row in raw.tables[t].rows] for t in named}
ids = [row["id"] for table in raw.tables.values() for row in table.rows if "id" in row]
villages = {row["village"] for row in raw.tables["transformer_areas"].rows if row["village"]}
print(json.dumps({
    "cpu_s": cpu,
    "nodes": len(raw.tables["nodes"].rows),
    "rows": {t: len(v) for t, v in names.items()},
    "distinct_names": {t: len(set(v)) for t, v in names.items()},
    "ids": len(ids),
    "distinct_ids": len(set(ids)),
    "villages": len(villages),
    "numbered_villages": sum(bool(re.search("[二三四五六七八九十0-9]村$", v)) for v in villages),
}))
"""


@pytest.mark.slow  # about 5 s of CPU
def test_a_large_county_is_made_in_bounded_time_with_unique_names() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LARGE_COUNTY],
        capture_output=True,
        text=True,
        timeout=300,  # a loaded machine; the CPU time is what is bounded below
        check=True,
    )
    found = json.loads(done.stdout)
    assert 180_000 < found["nodes"] < 240_000
    assert found["cpu_s"] < 60  # linear: ~5 s of CPU; a million nodes take ~30 s
    assert found["distinct_names"] == found["rows"]  # a village's areas: 李庄村3号台区
    assert found["distinct_ids"] == found["ids"]
    assert found["villages"] > 5_000
    assert found["numbered_villages"] > 0  # some drawn names were taken: 李庄二村


def test_impossible_options_are_refused() -> None:
    with pytest.raises(ValueError, match="grid_cells"):
        generate_county(options=CountyOptions(townships=12, grid_cells=20))
    with pytest.raises(ValueError, match="at least 1"):
        generate_county(substations=0)


def test_command_writes_csv_and_json(tmp_path: Path) -> None:
    args = ["--seed", "3", "--substations", "1", "--feeders-per-substation", "2"]
    assert main(["--out", str(tmp_path / "csv"), *args]) == 0
    assert main(["--out", str(tmp_path / "json"), "--format", "json", *args]) == 0
    from_csv = read_csv_folder(tmp_path / "csv")
    from_json = read_json_document(tmp_path / "json" / "network.json")
    expected = generate_county(seed=3, substations=1, feeders_per_substation=2)
    for name, table in expected.tables.items():
        assert len(from_csv.tables[name]) == len(table) == len(from_json.tables[name])


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--substations", "0"], "argument --substations: 0 is less than 1"),
        (["--feeders-per-substation", "x"], "--feeders-per-substation: 'x' is not a whole number"),
    ],
)
def test_a_bad_count_is_one_usage_error_not_a_traceback(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), *argv])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert said in error
    assert "Traceback" not in error
    assert not any(tmp_path.iterdir())  # nothing half-written
