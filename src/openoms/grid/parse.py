"""Field-level checks: turn raw rows into typed rows, collecting every problem.

Strings from CSV and values from JSON or Python importers go through the same rules, taken
from the declarations in :mod:`.schema`. A row with a bad value keeps ``None`` in that field
so that the checks after this one (references, topology) still see the rest of the row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from openoms.grid.problems import Problem, ProblemKind
from openoms.grid.records import Location, RawNetwork
from openoms.grid.schema import TABLES, Field, FieldType, TableSpec

__all__ = ["ParsedNetwork", "ParsedTable", "parse_network"]

_TRUE = frozenset({"true", "1", "yes", "y", "t", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "否"})
_BRANCH_TABLES = frozenset({"sections", "switches"})
_END_FIELDS = frozenset({"from_node", "to_node"})


@dataclass(slots=True)
class ParsedTable:
    """Typed rows of one table; ``rows[i]`` has every declared field (``None`` if empty)."""

    spec: TableSpec
    rows: list[dict[str, Any]]
    locations: list[Location]

    def column(self, name: str) -> list[Any]:
        return [row[name] for row in self.rows]


@dataclass(slots=True)
class ParsedNetwork:
    name: str
    tables: dict[str, ParsedTable]


class _BadValueError(Exception):
    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _BadValueError(ProblemKind.BAD_VALUE, f"{value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _BadValueError(ProblemKind.BAD_VALUE, f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise _BadValueError(ProblemKind.BAD_VALUE, f"{value!r} is not a finite number")
    return number


def _to_int(value: Any) -> int:
    number = _to_float(value)
    if number != int(number):
        raise _BadValueError(ProblemKind.BAD_VALUE, f"{value!r} is not a whole number")
    return int(number)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _BadValueError(ProblemKind.BAD_VALUE, f"{value!r} is not true or false")


def _convert(field: Field, value: Any) -> Any:
    match field.type:
        case FieldType.STRING | FieldType.REFERENCE:
            if isinstance(value, (dict, list)):
                raise _BadValueError(ProblemKind.BAD_VALUE, f"{value!r} is not text")
            return str(value)
        case FieldType.CHOICE:
            text = str(value).strip()
            if text not in field.choices:
                raise _BadValueError(
                    ProblemKind.NOT_A_CHOICE,
                    f"{value!r} is not one of {', '.join(field.choices)}",
                )
            return text
        case FieldType.BOOLEAN:
            return _to_bool(value)
        case FieldType.INTEGER:
            number: float | int = _to_int(value)
        case FieldType.FLOAT:
            number = _to_float(value)
    unit = f" {field.unit}" if field.unit else ""
    if field.minimum is not None and number < field.minimum:
        raise _BadValueError(
            ProblemKind.OUT_OF_RANGE, f"{number:g}{unit} is below the minimum {field.minimum:g}"
        )
    if field.exclusive_minimum is not None and number <= field.exclusive_minimum:
        raise _BadValueError(
            ProblemKind.OUT_OF_RANGE,
            f"{number:g}{unit} must be greater than {field.exclusive_minimum:g}",
        )
    if field.maximum is not None and number > field.maximum:
        raise _BadValueError(
            ProblemKind.OUT_OF_RANGE, f"{number:g}{unit} is above the maximum {field.maximum:g}"
        )
    return number


def _parse_table(spec: TableSpec, raw: RawNetwork, problems: list[Problem]) -> ParsedTable:
    table = raw.tables.get(spec.name)
    parsed = ParsedTable(spec, [], [])
    if table is None:
        return parsed
    names = {f.name for f in spec.fields}
    for values, location in zip(table.rows, table.locations, strict=True):
        element_id = values.get("id")
        element = str(element_id) if element_id not in (None, "") else None
        for key in values:
            if key not in names:
                problems.append(
                    Problem(
                        ProblemKind.UNKNOWN_FIELD,
                        spec.name,
                        location,
                        f"unknown field {key!r}; {spec.name} has {', '.join(sorted(names))}",
                        field=key,
                        element_id=element,
                    )
                )
        row: dict[str, Any] = {}
        for field in spec.fields:
            value = values.get(field.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if field.required:
                    ends = spec.name in _BRANCH_TABLES and field.name in _END_FIELDS
                    problems.append(
                        Problem(
                            ProblemKind.SECTION_WITHOUT_ENDS if ends else ProblemKind.MISSING_FIELD,
                            spec.name,
                            location,
                            f"{field.name} is required"
                            + (": a branch needs two ends" if ends else ""),
                            field=field.name,
                            element_id=element,
                        )
                    )
                row[field.name] = field.default
                continue
            try:
                row[field.name] = _convert(field, value)
            except _BadValueError as bad:
                problems.append(
                    Problem(
                        bad.kind,
                        spec.name,
                        location,
                        bad.message,
                        field=field.name,
                        element_id=element,
                    )
                )
                row[field.name] = None
        parsed.rows.append(row)
        parsed.locations.append(location)
    return parsed


def parse_network(raw: RawNetwork) -> tuple[ParsedNetwork, list[Problem]]:
    """Check every field of every row; return the typed tables and the problems found."""
    problems: list[Problem] = []
    for spec in TABLES:
        if spec.required and not raw.tables.get(spec.name):
            problems.append(
                Problem(
                    ProblemKind.MISSING_TABLE,
                    spec.name,
                    Location(raw.name, element=spec.file_name),
                    f"table {spec.name} is required and has no rows",
                )
            )
    tables = {spec.name: _parse_table(spec, raw, problems) for spec in TABLES}
    return ParsedNetwork(raw.name, tables), problems
