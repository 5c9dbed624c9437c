"""Historical interruptions from a CSV file: one row per (event, unit, restoration step).

The documented format is in ``docs/reliability.md`` ("Import and report"). Pure: it takes the
rows as :func:`csv.reader` yields them (the caller opens the file) and a
:class:`~openoms.reliability.data.CustomerBase`, and returns :class:`HistoryRows`, from which
:meth:`HistoryRows.interruptions` and :meth:`HistoryRows.avoided` give the engine's inputs.

All-or-nothing: every problem in the file (bad value, unknown unit, step before the start, two
starts or two classes within one event, more customers restored than the unit has) is
collected with its row number and raised as one :class:`~openoms.reliability.rows.CsvRowsError`.

A momentary interruption of several reclosing operations is one row with ``operations`` = k
(default 1; only on momentary rows): it becomes k rows of the same event and unit, so MAIFI
counts k customer momentary interruptions per customer and MAIFIe one event.

Rows are read in chunks (:data:`CHUNK_ROWS`); each chunk's columns are parsed by numpy at
once, so the cost per row is a few dictionary look-ups and the :mod:`csv` module's parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.reliability.data import CustomerBase, OutageClass, RestoredBy
from openoms.reliability.history_rows import HistoryRows, concat_rows
from openoms.reliability.rows import (
    CsvRowsError,
    RowProblem,
    parse_int_column,
    parse_time_column,
    utility_zone,
)

__all__ = [
    "CHUNK_ROWS",
    "CLASS_NAMES",
    "HISTORY_COLUMNS",
    "RESTORED_BY_NAMES",
    "HistoryRows",
    "concat_rows",
    "parse_history",
]

CHUNK_ROWS = 100_000
HISTORY_COLUMNS: Final = ("event_id", "unit_id", "customers", "start", "step_end", "cause")
"""Required columns; plus ``class`` or ``planned``, and optionally ``restored_by``,
``avoided_hours`` and ``operations``."""
_OPTIONAL: Final = ("class", "planned", "restored_by", "avoided_hours", "operations")

CLASS_NAMES: Final[dict[str, OutageClass]] = {
    "fault_internal": OutageClass.FAULT_INTERNAL,
    "fault": OutageClass.FAULT_INTERNAL,
    "内部故障": OutageClass.FAULT_INTERNAL,
    "故障停电": OutageClass.FAULT_INTERNAL,
    "fault_external": OutageClass.FAULT_EXTERNAL,
    "外部故障": OutageClass.FAULT_EXTERNAL,
    "planned": OutageClass.PLANNED,
    "计划停电": OutageClass.PLANNED,
    "temporary": OutageClass.TEMPORARY,
    "临时停电": OutageClass.TEMPORARY,
    "load_limiting": OutageClass.LOAD_LIMITING,
    "限电": OutageClass.LOAD_LIMITING,
}
_PLANNED: Final = {
    "yes": OutageClass.PLANNED,
    "y": OutageClass.PLANNED,
    "true": OutageClass.PLANNED,
    "1": OutageClass.PLANNED,
    "是": OutageClass.PLANNED,
    "no": OutageClass.FAULT_INTERNAL,
    "n": OutageClass.FAULT_INTERNAL,
    "false": OutageClass.FAULT_INTERNAL,
    "0": OutageClass.FAULT_INTERNAL,
    "否": OutageClass.FAULT_INTERNAL,
}
RESTORED_BY_NAMES: Final[dict[str, RestoredBy]] = {
    "": RestoredBy.REPAIR,
    "repair": RestoredBy.REPAIR,
    "switching": RestoredBy.REPAIR,
    "automatic": RestoredBy.AUTOMATIC,
    "flisr": RestoredBy.AUTOMATIC,
    "live_line": RestoredBy.LIVE_LINE,
}

Int64s = NDArray[np.int64]


@dataclass
class _Columns:
    """The text of one chunk, column by column."""

    rows: list[int]
    values: dict[str, list[str]]


def _header_problems(header: list[str], source: str) -> list[RowProblem]:
    missing = [c for c in HISTORY_COLUMNS if c not in header]
    if "class" not in header and "planned" not in header:
        missing.append("class (or planned)")
    unknown = [c for c in header if c not in (*HISTORY_COLUMNS, *_OPTIONAL)]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if not (missing or unknown or repeated):
        return []
    detail = "; ".join(
        part
        for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"unknown {', '.join(unknown)}" if unknown else "",
            f"repeated {', '.join(repeated)}" if repeated else "",
        )
        if part
    )
    expected = f"the columns {', '.join(HISTORY_COLUMNS)}, class or planned; {detail}"
    return [RowProblem(source, 1, "header", ",".join(header), expected)]


class _Parser:
    def __init__(
        self,
        base: CustomerBase,
        header: list[str],
        *,
        source: str,
        tz: str,
        sustained_threshold_s: float = 300.0,
        sustained_operator: str = ">",
    ) -> None:
        self.base = base
        self.sustained_threshold_s = sustained_threshold_s
        self.sustained_operator = sustained_operator
        self.source = source
        self.zone = utility_zone(tz)
        self.header = header
        self.units = {u: i for i, u in enumerate(base.unit_id)}
        self.events: dict[str, int] = {}
        self.causes: dict[str, int] = {}
        self.problems: list[RowProblem] = []
        self.parts: list[dict[str, NDArray[np.generic]]] = []

    def add(self, chunk: _Columns) -> None:
        source, problems, v = self.source, self.problems, chunk.values
        rows = np.array(chunk.rows, dtype=np.int64)

        def bad(i: int, field: str, value: str, expected: str) -> None:
            problems.append(RowProblem(source, int(rows[i]), field, value, expected))

        event = _dense(v["event_id"], self.events)
        if "" in self.events:
            for i in np.flatnonzero(event == self.events[""]).tolist():
                bad(i, "event_id", "", "an event id")
        units = self.units
        known = {u: units.get(u, -1) for u in dict.fromkeys(v["unit_id"])}
        unit = np.fromiter(map(known.__getitem__, v["unit_id"]), np.int64, len(rows))
        for i in np.flatnonzero(unit < 0).tolist():
            bad(i, "unit_id", v["unit_id"][i], "a transformer area or HV customer of the base")
        customers = self._ints(v["customers"], "customers", rows)
        have = self.base.customers[np.maximum(unit, 0)]
        for i in np.flatnonzero((unit >= 0) & (customers > have)).tolist():
            bad(i, "customers", v["customers"][i], f"at most {have[i]} (the unit's customers)")
        start = self._times(v["start"], "start", rows)
        end = self._times(v["step_end"], "step_end", rows)
        for i in np.flatnonzero(end < start).tolist():
            bad(i, "step_end", v["step_end"][i], f"a time not before the start {v['start'][i]}")
        if "class" in v:
            outage_class = self._codes(v["class"], CLASS_NAMES, "class", rows)
        else:
            outage_class = self._codes(v["planned"], _PLANNED, "planned", rows)
        cause = _dense(v["cause"], self.causes)
        if "" in self.causes:
            for i in np.flatnonzero(cause == self.causes[""]).tolist():
                bad(i, "cause", "", "a cause category")
        restored_by = self._codes(
            v.get("restored_by", [""] * len(rows)), RESTORED_BY_NAMES, "restored_by", rows
        )
        avoided = self._avoided(v.get("avoided_hours"), restored_by, rows)
        operations = self._operations(v.get("operations"), end - start, rows)
        self.parts.append(
            {
                "event": event,
                "unit": unit,
                "customers": customers,
                "start": start,
                "end": end,
                "outage_class": outage_class,
                "cause": cause,
                "restored_by": restored_by,
                "avoided_hours": avoided,
                "operations": operations,
                "source_row": rows,
            }
        )

    def _operations(self, values: list[str] | None, seconds: Int64s, rows: Int64s) -> Int64s:
        """Reclosing operations of a momentary row: a whole number ≥ 1, empty = 1; more than
        1 only where the row is momentary (``step_end − start`` not sustained)."""
        if values is None:
            return np.ones(len(rows), dtype=np.int64)
        text = [x or "1" for x in values]
        found: list[RowProblem] = []
        out = parse_int_column(
            text, source=self.source, field="operations", first_row=0, minimum=1, problems=found
        )
        self.problems.extend(_renumber(found, rows))
        limit = self.sustained_threshold_s
        sustained = seconds >= limit if self.sustained_operator == ">=" else seconds > limit
        word = "at least" if self.sustained_operator == ">=" else "longer than"
        for i in np.flatnonzero((out > 1) & sustained).tolist():
            self.problems.append(
                RowProblem(
                    self.source,
                    int(rows[i]),
                    "operations",
                    values[i],
                    f"1 on a sustained row ({int(seconds[i])} s, {word} {limit:g} s): several "
                    "reclosing operations only on a momentary row",
                )
            )
        return out

    def _ints(self, values: list[str], field: str, rows: Int64s) -> Int64s:
        found: list[RowProblem] = []
        out = parse_int_column(
            values, source=self.source, field=field, first_row=0, minimum=0, problems=found
        )
        self.problems.extend(_renumber(found, rows))
        return out

    def _times(self, values: list[str], field: str, rows: Int64s) -> Int64s:
        found: list[RowProblem] = []
        out = parse_time_column(
            values, zone=self.zone, source=self.source, field=field, first_row=0, problems=found
        )
        self.problems.extend(_renumber(found, rows))
        return out

    def _codes(
        self, values: list[str], names: Mapping[str, int], field: str, rows: Int64s
    ) -> NDArray[np.int8]:
        codes = {x: names.get(x.lower(), -1) for x in dict.fromkeys(values)}
        out = np.fromiter(map(codes.__getitem__, values), np.int8, len(values))
        for i in np.flatnonzero(out < 0).tolist():
            expected = " / ".join(sorted({k for k in names if k}))
            self.problems.append(RowProblem(self.source, int(rows[i]), field, values[i], expected))
        return np.maximum(out, 0).astype(np.int8)

    def _avoided(
        self, values: list[str] | None, restored_by: NDArray[np.int8], rows: Int64s
    ) -> NDArray[np.float64]:
        if values is None:
            return np.zeros(len(rows), dtype=np.float64)
        out = np.zeros(len(rows), dtype=np.float64)
        for i, text in enumerate(values):
            if not text:
                continue
            try:
                hours = float(text)
            except ValueError:
                hours = -1.0
            if not (np.isfinite(hours) and hours >= 0):
                self.problems.append(
                    RowProblem(self.source, int(rows[i]), "avoided_hours", text, "hours ≥ 0")
                )
            elif hours > 0 and restored_by[i] == RestoredBy.REPAIR:
                self.problems.append(
                    RowProblem(
                        self.source,
                        int(rows[i]),
                        "avoided_hours",
                        text,
                        "avoided hours only on rows restored_by automatic or live_line",
                    )
                )
            else:
                out[i] = hours
        return out

    def finish(self) -> HistoryRows:
        columns = {
            name: np.concatenate([p[name] for p in self.parts])
            if self.parts
            else np.zeros(0, dtype=np.int64)
            for name in (
                "event",
                "unit",
                "customers",
                "start",
                "end",
                "outage_class",
                "cause",
                "restored_by",
                "avoided_hours",
                "operations",
                "source_row",
            )
        }
        if not self.problems:
            self._check_events(columns)
        if self.problems:
            raise CsvRowsError(self.source, self.problems)
        operations = columns.pop("operations").astype(np.int64)
        if len(operations) and int(operations.max()) > 1:  # one row per reclosing operation
            columns = {name: np.repeat(c, operations) for name, c in columns.items()}
        return HistoryRows(
            event=columns["event"].astype(np.int64),
            event_ids=tuple(self.events),
            unit=columns["unit"].astype(np.int64),
            customers=columns["customers"].astype(np.int64),
            start=columns["start"].astype(np.int64),
            end=columns["end"].astype(np.int64),
            outage_class=columns["outage_class"].astype(np.int8),
            cause=columns["cause"].astype(np.int64),
            cause_names=tuple(self.causes),
            restored_by=columns["restored_by"].astype(np.int8),
            avoided_hours=columns["avoided_hours"].astype(np.float64),
            source_row=columns["source_row"].astype(np.int64),
        )

    def _check_events(self, c: dict[str, NDArray[np.generic]]) -> None:
        """One start and one class per event; per (event, unit), no more customers restored
        than the unit has."""
        event = c["event"].astype(np.int64)
        n_events = len(self.events)
        first = np.full(n_events, -1, dtype=np.int64)
        positions = np.arange(len(event), dtype=np.int64)
        first[event[::-1]] = positions[::-1]  # the first row of each event wins
        rows = c["source_row"].astype(np.int64)
        for field, label in (("start", "start"), ("outage_class", "class")):
            column = c[field]
            for i in np.flatnonzero(column != column[first[event]]).tolist():
                j = int(first[event[i]])
                self.problems.append(
                    RowProblem(
                        self.source,
                        int(rows[i]),
                        label,
                        _shown(field, int(column[i])),
                        f"the {label} of the event's first row (row {int(rows[j])}): "
                        f"{_shown(field, int(column[j]))}",
                    )
                )
        unit = c["unit"].astype(np.int64)
        key = event * max(len(self.base), 1) + unit
        pairs, inverse = np.unique(key, return_inverse=True)
        total = np.bincount(inverse, weights=c["customers"].astype(np.float64))
        capacity = self.base.customers[pairs % max(len(self.base), 1)]
        order = np.argsort(inverse, kind="stable")  # the rows of each pair, in file order
        bounds = np.searchsorted(inverse[order], np.arange(len(pairs) + 1))
        for pair in np.flatnonzero(total > capacity).tolist():
            members = order[bounds[pair] : bounds[pair + 1]]
            i = int(members[-1])
            self.problems.append(
                RowProblem(
                    self.source,
                    int(rows[i]),
                    "customers",
                    str(int(total[pair])),
                    f"at most {int(capacity[pair])} customers of {self.base.unit_id[unit[i]]} "
                    f"restored over the event's steps (rows "
                    f"{', '.join(str(int(rows[m])) for m in members[:10])})",
                )
            )


def _dense(values: list[str], codes: dict[str, int]) -> Int64s:
    """Codes of ``values``, new ones numbered on in order of first appearance."""
    for value in dict.fromkeys(values):
        codes.setdefault(value, len(codes))
    return np.fromiter(map(codes.__getitem__, values), np.int64, len(values))


def _shown(field: str, value: int) -> str:
    if field == "outage_class":
        return OutageClass(value).name.lower()
    return np.datetime_as_string(np.datetime64(value, "s"), timezone="UTC")


def _renumber(problems: list[RowProblem], rows: Int64s) -> list[RowProblem]:
    """Problems found at chunk positions, with the file's row numbers."""
    return [RowProblem(p.source, int(rows[p.row]), p.field, p.value, p.expected) for p in problems]


def parse_history(
    rows: Iterable[Sequence[str]],
    base: CustomerBase,
    *,
    source: str,
    tz: str = "Asia/Shanghai",
    sustained_threshold_s: float = 300.0,
    sustained_operator: str = ">",
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> HistoryRows:
    """Parse and check a history file given as CSV rows (header first).

    ``tz`` is the utility's zone, for times written without an offset; the sustained
    threshold and operator (the engine's settings) tell which rows are momentary, the only
    ones that may have ``operations`` > 1. ``progress`` is called
    with the number of rows read after each chunk. Raises one
    :class:`~openoms.reliability.rows.CsvRowsError` listing every problem.
    """
    iterator = iter(rows)
    header = [h.strip().lstrip("\ufeff") for h in next(iterator, [])]
    if problems := _header_problems(header, source):
        raise CsvRowsError(source, problems)
    parser = _Parser(
        base,
        header,
        source=source,
        tz=tz,
        sustained_threshold_s=sustained_threshold_s,
        sustained_operator=sustained_operator,
    )
    width = len(header)
    done = 0
    next_row = 2  # the header is row 1
    while chunk := list(islice(iterator, chunk_rows)):
        numbers = range(next_row, next_row + len(chunk))
        next_row += len(chunk)
        if any(len(row) != width for row in chunk):
            kept = [(n, row) for n, row in zip(numbers, chunk, strict=True) if len(row) == width]
            for n, row in zip(numbers, chunk, strict=True):
                if len(row) != width and any(cell.strip() for cell in row):  # blank: skipped
                    parser.problems.append(
                        RowProblem(source, n, "", ",".join(row), f"{width} fields like the header")
                    )
            numbers = [n for n, _ in kept]  # type: ignore[assignment]
            chunk = [row for _, row in kept]
        if chunk:
            transposed = zip(*chunk, strict=True)
            values = {
                name: list(map(str.strip, column))
                for name, column in zip(header, transposed, strict=True)
            }
            parser.add(_Columns(list(numbers), values))
        done += len(chunk)
        if progress is not None:
            progress(done)
    return parser.finish()
