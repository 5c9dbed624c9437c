"""Duty rosters: who of which crew is on duty for a grid cell, and the cell's fallback.

A roster file is CSV (UTF-8, or GBK / GB18030: detected, or given), with the header
``grid_cell,crew,person,phone,starts_at,ends_at,fallback``. A shift row has both times
(ISO 8601; without an offset they are read in the utility's zone, default Asia/Shanghai);
a fallback row (``fallback`` = yes / true / 1) has neither. Every grid cell in the file
needs a fallback. Importing a file replaces the roster of the grid cells it names, and
only if the whole file is valid: every problem is listed with its file, row and field, and
nothing is written.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openoms.contacts.phone import BadPhoneError, mask_phone, normalize_phone
from openoms.errors import InputError
from openoms.grid.textfile import TextFileError, csv_problem, open_text
from openoms.store.tables import DutyShift

__all__ = [
    "COLUMNS",
    "Contact",
    "RosterError",
    "RosterProblem",
    "import_roster",
    "list_roster",
    "on_duty",
    "parse_roster",
]

COLUMNS: Final = ("grid_cell", "crew", "person", "phone", "starts_at", "ends_at", "fallback")
_TRUE: Final = {"yes", "true", "1", "y", "是"}
_FALSE: Final = {"", "no", "false", "0", "n", "否"}


@dataclass(frozen=True, slots=True)
class RosterProblem:
    """One thing wrong in a roster file, where it is, as a sentence."""

    file: str
    row: int  # 1 = the header line
    field: str
    message: str

    def __str__(self) -> str:
        if not self.row:  # the file as a whole
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.row}: {self.field}: {self.message}"


class RosterError(InputError):
    """A roster file with problems; nothing of it was imported."""

    def __init__(self, problems: list[RosterProblem]) -> None:
        if len(problems) == 1:
            super().__init__(f"roster not imported: {problems[0]}")
        else:
            lines = "\n".join(f"  {p}" for p in problems)
            super().__init__(f"roster not imported, {len(problems)} problem(s):\n{lines}")
        self.problems = problems


@dataclass(frozen=True, slots=True, repr=False)
class Contact:
    """A person to alert; the ``repr`` masks the phone."""

    grid_cell: str
    crew: str
    person: str
    phone: str
    starts_at: datetime | None
    ends_at: datetime | None
    is_fallback: bool

    def __repr__(self) -> str:
        return (
            f"Contact({self.grid_cell}, {self.crew}, {self.person}, {mask_phone(self.phone)}, "
            f"{'fallback' if self.is_fallback else f'{self.starts_at}–{self.ends_at}'})"
        )


def _time(text: str, zone: ZoneInfo) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def parse_roster(
    path: Path,
    *,
    grid_cells: Collection[str],
    timezone: str = "Asia/Shanghai",
    encoding: str | None = None,
) -> list[Contact]:
    """Read and check a roster file (in ``encoding``, default detected); raise
    :class:`RosterError` with every problem."""
    zone = ZoneInfo(timezone)
    name = str(path)
    problems: list[RosterProblem] = []
    contacts: list[tuple[int, Contact]] = []
    first_row: dict[str, int] = {}  # the cells named, even on rows with other problems
    with_fallback: set[str] = set()
    line = 1  # where the row being read starts
    try:
        with open_text(path, encoding) as handle:
            reader = csv.DictReader(handle, strict=True)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise RosterError(
                    [RosterProblem(name, 1, c, "column missing from the header") for c in missing]
                )
            line = reader.line_num + 1
            for n, record in enumerate(reader, start=2):
                cell = (record.get("grid_cell") or "").strip()
                first_row.setdefault(cell, n)
                if (record.get("fallback") or "").strip().lower() in _TRUE:
                    with_fallback.add(cell)
                contact = _row(name, n, record, grid_cells=grid_cells, zone=zone, problems=problems)
                if contact is not None:
                    contacts.append((n, contact))
                line = reader.line_num + 1
    except TextFileError as exc:
        raise RosterError([RosterProblem(name, exc.line or 0, "file", exc.reason)]) from exc
    except csv.Error as exc:
        raise RosterError([RosterProblem(name, line, "file", csv_problem(exc))]) from exc
    problems.extend(_overlaps(name, contacts))
    for cell, first in first_row.items():
        if cell in grid_cells and cell not in with_fallback:
            problems.append(
                RosterProblem(name, first, "fallback", f"grid cell {cell} has no fallback contact")
            )
    if problems:
        raise RosterError(sorted(problems, key=lambda p: (p.row, p.field)))
    return [c for _, c in contacts]


def _row(
    name: str,
    n: int,
    record: dict[str, str | None],
    *,
    grid_cells: Collection[str],
    zone: ZoneInfo,
    problems: list[RosterProblem],
) -> Contact | None:
    def value(column: str) -> str:
        return (record.get(column) or "").strip()

    before = len(problems)

    def bad(column: str, message: str) -> None:
        problems.append(RosterProblem(name, n, column, message))

    cell = value("grid_cell")
    if not cell:
        bad("grid_cell", "empty")
    elif cell not in grid_cells:
        bad("grid_cell", f"unknown grid cell {cell!r}")
    for column in ("crew", "person"):
        if not value(column):
            bad(column, "empty")
    phone = ""
    try:
        phone = normalize_phone(value("phone"))
    except BadPhoneError as exc:
        bad("phone", str(exc))
    flag = value("fallback").lower()
    if flag not in _TRUE | _FALSE:
        bad("fallback", f"{flag!r}: write yes or no")
    fallback = flag in _TRUE
    times: dict[str, datetime] = {}
    for column in ("starts_at", "ends_at"):
        text = value(column)
        if fallback and text:
            bad(column, "a fallback contact has no shift times: leave it empty")
        elif not fallback and not text:
            bad(column, "empty: a shift needs starts_at and ends_at")
        elif text:
            try:
                times[column] = _time(text, zone)
            except ValueError:
                bad(column, f"{text!r} is not an ISO 8601 time (2025-01-15T08:00)")
    if len(times) == 2 and times["ends_at"] <= times["starts_at"]:
        bad("ends_at", "the shift ends before it starts")
    if len(problems) > before:
        return None
    return Contact(
        grid_cell=cell,
        crew=value("crew"),
        person=value("person"),
        phone=phone,
        starts_at=times.get("starts_at"),
        ends_at=times.get("ends_at"),
        is_fallback=fallback,
    )


def _overlaps(name: str, contacts: list[tuple[int, Contact]]) -> list[RosterProblem]:
    """In a grid cell, two crews' shifts may not overlap, nor one person's shifts."""
    problems: list[RosterProblem] = []
    by_cell: dict[str, list[tuple[int, Contact]]] = defaultdict(list)
    for n, c in contacts:
        if not c.is_fallback:
            by_cell[c.grid_cell].append((n, c))
    for cell, shifts in by_cell.items():
        for i, (n1, a) in enumerate(shifts):
            for n2, b in shifts[i + 1 :]:
                assert a.starts_at and a.ends_at and b.starts_at and b.ends_at  # noqa: PT018
                if not (a.starts_at < b.ends_at and b.starts_at < a.ends_at):
                    continue
                if a.crew != b.crew:
                    problems.append(
                        RosterProblem(
                            name,
                            n2,
                            "starts_at",
                            f"grid cell {cell}: shift of {b.crew} overlaps the shift of "
                            f"{a.crew} on row {n1}",
                        )
                    )
                elif a.phone == b.phone:
                    problems.append(
                        RosterProblem(
                            name,
                            n2,
                            "starts_at",
                            f"grid cell {cell}: {b.person} already has an overlapping shift "
                            f"on row {n1}",
                        )
                    )
    return problems


def _contact(row: DutyShift) -> Contact:
    return Contact(
        grid_cell=row.grid_cell,
        crew=row.crew,
        person=row.person,
        phone=row.phone,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        is_fallback=row.is_fallback,
    )


def import_roster(
    session: Session,
    path: Path,
    *,
    grid_cells: Collection[str],
    timezone: str = "Asia/Shanghai",
    encoding: str | None = None,
) -> list[Contact]:
    """Check ``path`` and replace the roster of the grid cells it names (all or nothing)."""
    contacts = parse_roster(path, grid_cells=grid_cells, timezone=timezone, encoding=encoding)
    cells = sorted({c.grid_cell for c in contacts})
    session.execute(delete(DutyShift).where(DutyShift.grid_cell.in_(cells)))
    session.add_all(
        DutyShift(
            grid_cell=c.grid_cell,
            crew=c.crew,
            person=c.person,
            phone=c.phone,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            is_fallback=c.is_fallback,
        )
        for c in contacts
    )
    session.flush()
    return contacts


def on_duty(session: Session, grid_cell: str, at: datetime) -> list[Contact]:
    """The people on duty for ``grid_cell`` at ``at``; the cell's fallback if no one is.

    Empty only for a grid cell with no roster at all.
    """
    rows = session.scalars(
        select(DutyShift)
        .where(
            DutyShift.grid_cell == grid_cell,
            DutyShift.is_fallback.is_(False),
            DutyShift.starts_at <= at,
            DutyShift.ends_at > at,
        )
        .order_by(DutyShift.id)
    ).all()
    if not rows:
        rows = session.scalars(
            select(DutyShift)
            .where(DutyShift.grid_cell == grid_cell, DutyShift.is_fallback.is_(True))
            .order_by(DutyShift.id)
        ).all()
    return [_contact(row) for row in rows]


def list_roster(session: Session, *, grid_cell: str | None = None) -> list[Contact]:
    query = select(DutyShift).order_by(
        DutyShift.grid_cell, DutyShift.is_fallback, DutyShift.starts_at, DutyShift.id
    )
    if grid_cell is not None:
        query = query.where(DutyShift.grid_cell == grid_cell)
    return [_contact(row) for row in session.scalars(query)]
