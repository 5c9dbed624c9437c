"""Problems found in network data, and the error that carries them all.

Validation collects every problem before failing (power-grid-model's two levels:
``validate_*`` returns the list, ``load_*`` raises :class:`InvalidNetworkError` holding it).
Each problem names where it is (file and row, or source object), the table, the field and the
element id, and reads as a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from openoms.errors import InputError
from openoms.grid.records import Location

__all__ = ["InvalidNetworkError", "Problem", "ProblemKind", "Severity"]


class ProblemKind(StrEnum):
    MISSING_TABLE = "missing_table"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    BAD_VALUE = "bad_value"
    NOT_A_CHOICE = "not_a_choice"
    OUT_OF_RANGE = "out_of_range"  # negative lengths, zero or negative ratings
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_REFERENCE = "unknown_reference"
    SECTION_WITHOUT_ENDS = "section_without_ends"
    FEEDER_WITHOUT_SOURCE = "feeder_without_source"
    CLOSED_LOOP = "closed_loop"
    ISLAND_WITHOUT_SOURCE = "island_without_source"
    DEAD_IN_NORMAL_STATE = "dead_in_normal_state"
    SUBSTATION_WITHOUT_FEEDER = "substation_without_feeder"
    DUPLICATE_POINT = "duplicate_point"  # an IOA twice in one telecontrol unit
    UNKNOWN_POINT = "unknown_point"  # a point name of no point table
    POINT_TYPE_MISMATCH = "point_type_mismatch"  # a flag on a measured-value ASDU type
    POINT_ELEMENT_MISMATCH = "point_element_mismatch"  # a breaker point on a detector, …


class Severity(StrEnum):
    ERROR = "error"  # the network is not loaded
    WARNING = "warning"  # loaded; worth a look


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the data, and where it is."""

    kind: ProblemKind
    table: str
    location: Location
    message: str
    field: str | None = None
    element_id: str | None = None
    devices: tuple[str, ...] = ()  # the devices of a loop or an island
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = str(self.location)
        if self.field is not None:
            where += f", field {self.field}"
        if self.element_id is not None and self.element_id not in where:
            where += f" ({self.element_id})"
        return f"{self.severity}: {where}: {self.message}"

    def matches(
        self,
        kind: ProblemKind,
        *,
        table: str | None = None,
        field: str | None = None,
        element_id: str | None = None,
        row: int | None = None,
    ) -> bool:
        """True when this problem is of ``kind`` and every given detail agrees."""
        return (
            self.kind is kind
            and (table is None or self.table == table)
            and (field is None or self.field == field)
            and (element_id is None or self.element_id == element_id)
            and (row is None or self.location.row == row)
        )


class InvalidNetworkError(InputError):
    """A network with errors; holds every problem found (errors and warnings)."""

    def __init__(self, name: str, problems: Sequence[Problem]) -> None:
        self.name = name
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        shown = "\n".join(f"  {p}" for p in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"network {name!r} has {len(errors)} error(s):\n{shown}{more}")

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)
