"""Duty rosters: import all or nothing with named problems; who is on duty; the fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from openoms.store import roster
from openoms.store.roster import RosterError, RosterProblem

CELLS = {"GC-01", "GC-02"}
HEADER = "grid_cell,crew,person,phone,starts_at,ends_at,fallback\n"
GOOD = (
    HEADER
    + "GC-01,抢修一班,王建国,13800000001,2025-01-15T08:00,2025-01-15T20:00,no\n"
    + "GC-01,抢修二班,李卫东,13800000002,2025-01-15T20:00,2025-01-16T08:00,no\n"
    + "GC-01,城关供电所,张所长,+86 138 0000 0009,,,yes\n"
)


def _write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_on_duty_by_time_and_the_fallback(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with sessions.begin() as session:
        roster.import_roster(session, _write(tmp_path, GOOD), grid_cells=CELLS)
    with sessions() as session:
        # 2025-01-15T08:00 Shanghai = 00:00 UTC; 12:00 UTC = 20:00 Shanghai (shift change).
        at_9 = datetime(2025, 1, 15, 1, 0, tzinfo=UTC)
        assert [c.person for c in roster.on_duty(session, "GC-01", at_9)] == ["王建国"]
        change = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
        assert [c.person for c in roster.on_duty(session, "GC-01", change)] == ["李卫东"]
        before = datetime(2025, 1, 14, 23, 59, tzinfo=UTC)  # 07:59 Shanghai: no shift
        fallback = roster.on_duty(session, "GC-01", before)
        assert [(c.person, c.phone, c.is_fallback) for c in fallback] == [
            ("张所长", "13800000009", True)
        ]
        assert roster.on_duty(session, "GC-02", at_9) == []  # no roster for the cell
        assert "13800000009" not in repr(fallback)
        assert "138****0009" in repr(fallback)


def test_every_problem_is_named_and_nothing_is_imported(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        roster.import_roster(session, _write(tmp_path, GOOD, "old.csv"), grid_cells=CELLS)
    bad = _write(
        tmp_path,
        HEADER
        + "GC-01,抢修一班,王建国,13800000001,2025-01-15T08:00,2025-01-15T20:00,no\n"  # row 2
        + "GC-01,抢修三班,赵六,13800000003,2025-01-15T19:00,2025-01-15T21:00,no\n"  # 3 overlap
        + "GC-09,抢修一班,钱七,13800000004,2025-01-15T08:00,2025-01-15T20:00,no\n"  # 4 cell
        + "GC-02,抢修一班,孙八,1380000,2025-01-15T08:00,2025-01-15T20:00,no\n"  # 5 phone
        + "GC-02,抢修一班,周九,13800000005,2025-01-15T20:00,2025-01-15T08:00,no\n"  # 6 ends
        + "GC-02,抢修一班,吴十,13800000006,tomorrow,2025-01-15T08:00,maybe\n"  # 7 two fields
        + "GC-01,,,13800000007,,,yes\n",  # 8 crew, person
    )
    with pytest.raises(RosterError) as info, sessions.begin() as session:
        roster.import_roster(session, bad, grid_cells=CELLS)
    name = str(bad)
    problems = info.value.problems
    assert [(p.row, p.field) for p in problems] == [
        (3, "starts_at"),
        (4, "grid_cell"),
        (5, "fallback"),  # GC-02 has no fallback (named at its first row); by field name
        (5, "phone"),
        (6, "ends_at"),
        (7, "fallback"),
        (7, "starts_at"),
        (8, "crew"),
        (8, "person"),
    ]
    assert all(p.file == name for p in problems)
    assert RosterProblem(name, 4, "grid_cell", "unknown grid cell 'GC-09'") in problems
    assert "overlaps the shift of 抢修一班 on row 2" in str(problems[0])
    assert f"{name}:5: phone:" in str(info.value)
    assert "1380000'" not in str(info.value)  # the bad number is masked too
    with sessions() as session:  # the old roster is untouched
        assert [c.person for c in roster.list_roster(session)] == ["王建国", "李卫东", "张所长"]


def test_missing_columns_and_a_missing_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "grid_cell,crew,person\nGC-01,a,b\n")
    with pytest.raises(RosterError) as info:
        roster.parse_roster(path, grid_cells=CELLS)
    assert [(p.row, p.field) for p in info.value.problems] == [
        (1, "phone"),
        (1, "starts_at"),
        (1, "ends_at"),
        (1, "fallback"),
    ]
    with pytest.raises(RosterError, match=r"nope\.csv"):
        roster.parse_roster(tmp_path / "nope.csv", grid_cells=CELLS)


def test_a_person_cannot_have_overlapping_shifts(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + "GC-01,抢修一班,王建国,13800000001,2025-01-15T08:00,2025-01-15T20:00,no\n"
        + "GC-01,抢修一班,王建国,13800000001,2025-01-15T12:00+08:00,2025-01-15T22:00+08:00,no\n"
        + "GC-01,抢修一班,李卫东,13800000002,2025-01-15T08:00,2025-01-15T20:00,no\n"
        + "GC-01,所,张,13800000009,,,yes\n",
    )
    with pytest.raises(RosterError) as info:
        roster.parse_roster(path, grid_cells=CELLS)
    assert [(p.row, p.field) for p in info.value.problems] == [(3, "starts_at")]
    assert "王建国 already has an overlapping shift on row 2" in str(info.value)


def test_reimport_replaces_only_the_cells_in_the_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    other = HEADER + "GC-02,二网格,钱七,13800000020,,,yes\n"
    with sessions.begin() as session:
        roster.import_roster(session, _write(tmp_path, GOOD, "a.csv"), grid_cells=CELLS)
        roster.import_roster(session, _write(tmp_path, other, "b.csv"), grid_cells=CELLS)
        roster.import_roster(
            session,
            _write(tmp_path, HEADER + "GC-01,新,新所长,13800000010,,,yes\n", "c.csv"),
            grid_cells=CELLS,
        )
    with sessions() as session:
        assert [(c.grid_cell, c.person) for c in roster.list_roster(session)] == [
            ("GC-01", "新所长"),
            ("GC-02", "钱七"),
        ]


def test_the_sample_county_roster_imports(sessions: sessionmaker[Session]) -> None:
    path = Path(str(files("openoms").joinpath("data", "sample_county_roster.csv")))
    cells = {f"GC-{i:02d}" for i in range(1, 11)}
    with sessions.begin() as session:
        contacts = roster.import_roster(session, path, grid_cells=cells)
    # 10 cells × (7 days × 2 shifts + 1 fallback) = 150 rows
    assert len(contacts) == 150
    with sessions() as session:
        # Wednesday 2025-01-15 10:00 Shanghai: one person on the day shift of each cell
        at = datetime(2025, 1, 15, 2, 0, tzinfo=UTC)
        for cell in sorted(cells):
            duty = roster.on_duty(session, cell, at)
            assert len(duty) == 1
            assert not duty[0].is_fallback
