"""Validation catches each kind of bad input, names where it is, and never half-loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openoms.grid.load import check_raw, load_network, network_from_raw
from openoms.grid.native import read_csv_folder, write_csv_folder, write_json_document
from openoms.grid.problems import InvalidNetworkError, Problem, ProblemKind, Severity
from tests.grid.small import small_raw, small_rows

Rows = dict[str, list[dict[str, Any]]]


def _problems(rows: Rows) -> tuple[Problem, ...]:
    result = check_raw(small_raw(rows))
    if result.errors:
        assert result.network is None, "a network with errors must not be built"
    return result.problems


def _row(rows: Rows, table: str, element_id: str) -> dict[str, Any]:
    return next(r for r in rows[table] if r["id"] == element_id)


def test_the_small_network_is_clean() -> None:
    result = check_raw(small_raw())
    assert result.problems == ()
    assert result.network is not None


def test_unknown_reference_names_file_row_and_field() -> None:
    rows = small_rows()
    _row(rows, "sections", "s2")["to_node"] = "A44"
    problems = _problems(rows)
    [p] = [p for p in problems if p.kind is ProblemKind.UNKNOWN_REFERENCE]
    assert p.matches(
        ProblemKind.UNKNOWN_REFERENCE, table="sections", field="to_node", element_id="s2", row=3
    )
    assert "'A44' is not a known node" in str(p)
    assert "small/sections.csv row 3" in str(p)


def test_reference_to_the_wrong_kind_of_element() -> None:
    rows = small_rows()
    _row(rows, "transformer_areas", "TA1")["node"] = "s1"
    [p] = _problems(rows)
    assert p.matches(ProblemKind.UNKNOWN_REFERENCE, field="node", element_id="TA1")
    assert "is a section, not a node" in p.message


def test_duplicate_ids_across_tables() -> None:
    rows = small_rows()
    rows["nodes"].append({"id": "s1", "kind": "pole"})  # a node named like a section
    problems = _problems(rows)
    assert any(
        p.matches(ProblemKind.DUPLICATE_ID, table="sections", element_id="s1") for p in problems
    )
    [dup] = [p for p in problems if p.kind is ProblemKind.DUPLICATE_ID]
    assert "already used by node at small/nodes.csv row 16" in dup.message


@pytest.mark.parametrize(("end", "value"), [("from_node", None), ("to_node", "A1")])
def test_section_without_ends(end: str, value: str | None) -> None:
    rows = small_rows()
    _row(rows, "sections", "s1")[end] = value
    problems = _problems(rows)
    assert any(
        p.matches(
            ProblemKind.SECTION_WITHOUT_ENDS, table="sections", element_id="s1", field=end, row=2
        )
        for p in problems
    ), problems


def test_feeder_without_source() -> None:
    rows = small_rows()
    _row(rows, "feeders", "F2")["head"] = "K1"
    [p] = [p for p in _problems(rows) if p.severity is Severity.ERROR]
    assert p.matches(
        ProblemKind.FEEDER_WITHOUT_SOURCE, table="feeders", field="head", element_id="F2", row=3
    )
    assert "not the busbar 'A0' of substation 'SA'" in p.message


def test_closed_loop_inside_a_feeder_names_its_devices() -> None:
    rows = small_rows()
    rows["switches"].append(
        {
            "id": "K9",
            "from_node": "A2",
            "to_node": "A5",
            "kind": "disconnector",
            "normal_state": "closed",
        }
    )
    [p] = _problems(rows)
    assert p.kind is ProblemKind.CLOSED_LOOP
    assert set(p.devices) == {"s1", "s3", "K9"}
    assert "a closed loop" in p.message


def test_closed_tie_is_a_parallel_between_sources() -> None:
    rows = small_rows()
    _row(rows, "switches", "T1")["normal_state"] = "closed"
    [p] = _problems(rows)
    assert p.kind is ProblemKind.CLOSED_LOOP
    assert set(p.devices) == {"CB1", "s1", "K1", "s2", "T1", "s7", "s6", "s5", "CB3"}
    assert "parallel between sources" in p.message


def test_island_with_load_but_no_source() -> None:
    rows = small_rows()
    rows["nodes"] += [{"id": "X1"}, {"id": "X2"}]
    rows["sections"].append({"id": "sx", "from_node": "X1", "to_node": "X2", "length_km": 0.4})
    rows["transformer_areas"].append(
        {"id": "TAX", "node": "X2", "rated_kva": 100, "lv_customers": 10}
    )
    [p] = _problems(rows)
    assert p.matches(
        ProblemKind.ISLAND_WITHOUT_SOURCE, table="transformer_areas", element_id="TAX", row=7
    )
    assert "2 node(s) (X1, X2)" in p.message


def test_load_dead_in_normal_state_is_a_warning_and_still_loads() -> None:
    rows = small_rows()
    _row(rows, "switches", "K1")["normal_state"] = "open"
    result = check_raw(small_raw(rows))
    assert result.network is not None
    [p] = result.problems
    assert p.severity is Severity.WARNING
    assert p.kind is ProblemKind.DEAD_IN_NORMAL_STATE
    assert set(p.devices) == {"TA2", "HV1"}


@pytest.mark.parametrize(
    ("table", "element_id", "field", "value", "kind"),
    [
        ("sections", "s3", "length_km", -0.5, ProblemKind.OUT_OF_RANGE),
        ("transformer_areas", "TA3", "rated_kva", 0, ProblemKind.OUT_OF_RANGE),
        ("transformer_areas", "TA3", "lv_customers", -4, ProblemKind.OUT_OF_RANGE),
        ("hv_customers", "HV1", "contracted_kva", -10.0, ProblemKind.OUT_OF_RANGE),
        ("sections", "s3", "length_km", "1,2", ProblemKind.BAD_VALUE),
        ("sections", "s3", "kind", "overhed", ProblemKind.NOT_A_CHOICE),
        ("switches", "K1", "remote", "maybe", ProblemKind.BAD_VALUE),
        ("switches", "K1", "normal_state", None, ProblemKind.MISSING_FIELD),
        ("sections", "s3", "colour", "red", ProblemKind.UNKNOWN_FIELD),
    ],
)
def test_bad_field_values(
    table: str, element_id: str, field: str, value: object, kind: ProblemKind
) -> None:
    rows = small_rows()
    _row(rows, table, element_id)[field] = value
    problems = _problems(rows)
    assert any(
        p.matches(kind, table=table, field=field, element_id=element_id) for p in problems
    ), problems


def test_every_problem_is_collected_before_failing() -> None:
    rows = small_rows()
    _row(rows, "sections", "s3")["length_km"] = -1
    _row(rows, "sections", "s2")["to_node"] = "nowhere"
    _row(rows, "switches", "T1")["normal_state"] = "closed"
    rows["nodes"].append({"id": "A1"})
    with pytest.raises(InvalidNetworkError) as caught:
        network_from_raw(small_raw(rows))
    kinds = {p.kind for p in caught.value.errors}
    assert kinds == {
        ProblemKind.OUT_OF_RANGE,
        ProblemKind.UNKNOWN_REFERENCE,
        ProblemKind.DUPLICATE_ID,
    }
    assert "3 error(s)" in str(caught.value)  # the loop is broken by the unknown node


def test_csv_folder_errors_name_the_file_and_line(tmp_path: Path) -> None:
    write_csv_folder(small_raw(), tmp_path)
    lines = (tmp_path / "sections.csv").read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace("1,0.13", "-2,0.13")  # s4 (line 5) gets a negative length
    (tmp_path / "sections.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidNetworkError) as caught:
        load_network(tmp_path)
    [p] = caught.value.errors
    assert p.matches(
        ProblemKind.OUT_OF_RANGE, table="sections", field="length_km", element_id="s4", row=5
    )
    assert str(tmp_path / "sections.csv") + " row 5" in str(p)


def test_csv_and_json_round_trip(tmp_path: Path) -> None:
    write_csv_folder(small_raw(), tmp_path / "csv")
    write_json_document(small_raw(), tmp_path / "small.json")
    from_csv = load_network(tmp_path / "csv")
    from_json = load_network(tmp_path / "small.json")
    for net in (from_csv, from_json):
        assert net.switches.id == ("CB1", "CB2", "CB3", "K1", "FU1", "T1")
        assert net.transformer_areas.lv_customers.sum() == 175
        assert net.sensitive_customers.people.tolist() == [96]
    assert read_csv_folder(tmp_path / "csv").tables["nodes"].rows[0]["kind"] == "busbar"


def test_missing_required_table_is_named() -> None:
    rows = small_rows()
    rows["sections"] = []
    problems = _problems(rows)
    assert any(p.matches(ProblemKind.MISSING_TABLE, table="sections") for p in problems)


def test_a_network_without_switches_loads() -> None:
    rows = small_rows()
    rows["switches"] = []
    rows["detectors"] = []
    rows["nodes"] = [n for n in rows["nodes"] if n["id"] in {"A0", "A1", "A2"}]
    rows["sections"] = [
        {"id": "s1", "from_node": "A0", "to_node": "A1", "length_km": 1.0},
        {"id": "s2", "from_node": "A1", "to_node": "A2", "length_km": 1.0},
    ]
    rows["substations"] = rows["substations"][:1]
    rows["feeders"] = [{"id": "F1", "substation": "SA", "head": "s1"}]
    rows["transformer_areas"] = rows["transformer_areas"][:1]
    rows["hv_customers"], rows["sensitive_customers"] = [], []
    result = check_raw(small_raw(rows))
    assert result.problems == ()
    assert result.network is not None
    assert result.network.n_edges == 2
