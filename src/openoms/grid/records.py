"""Network records: the tables as they arrive, before they are checked.

Every way a network comes in (the CSV folder, the JSON document, a pandapower net, the sample
generator) produces a :class:`RawNetwork`: table name → rows of field values, each row with
the :class:`Location` it came from, so that any problem found later can name the file and row
(or the source object) and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Location", "RawNetwork", "RawTable"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value came from: a file and row, or an object of another model.

    ``row`` is the line number in a CSV file (the header is line 1, so the first data row is
    row 2, as a spreadsheet shows it), or the index in a JSON array, or ``None`` for sources
    without rows (a pandapower element is named by ``element``).
    """

    source: str
    row: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        parts = [self.source]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.element is not None:
            parts.append(f"({self.element})")
        return " ".join(parts)


@dataclass(slots=True)
class RawTable:
    """The rows of one table as read: strings from CSV, JSON values, or Python values."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)

    def append(self, row: dict[str, Any], location: Location) -> None:
        self.rows.append(row)
        self.locations.append(location)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(slots=True)
class RawNetwork:
    """All tables of one network as read, keyed by table name (see :mod:`.schema`)."""

    name: str
    tables: dict[str, RawTable] = field(default_factory=dict)

    def table(self, name: str) -> RawTable:
        """The table called ``name``, created empty if it is not there yet."""
        if name not in self.tables:
            self.tables[name] = RawTable(name)
        return self.tables[name]

    def add(self, table: str, row: dict[str, Any], location: Location) -> None:
        self.table(table).append(row, location)
