"""Row problems of the reliability CSV imports, and the column parsers they share.

Pure: the parsers take lists of the strings read from a file (the caller opens it) and return
numpy columns plus the problems found. Problems are collected, never raised one by one: a file
is refused as a whole with :class:`CsvRowsError`, which lists them (the first
:data:`SHOWN_PROBLEMS` in its message, all of them in ``problems``).

Each parser has a vectorised fast path (numpy parses a whole chunk of integers or ISO 8601
times at once) and falls back to a per-value parse of the chunk only to name what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from openoms.errors import InputError

__all__ = [
    "SHOWN_PROBLEMS",
    "CsvRowsError",
    "RowProblem",
    "parse_int_column",
    "parse_time_column",
    "utility_zone",
]

SHOWN_PROBLEMS = 50
"""How many problems the message of :class:`CsvRowsError` lists (``problems`` has them all)."""

Int64s = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad value: the file, its row number (the header is row 1), field, value, and
    what was expected instead."""

    source: str
    row: int
    field: str
    value: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.source}, row {self.row}" if self.row else self.source
        field = f", {self.field}" if self.field else ""
        return f"{where}{field}: {self.value!r}: {self.expected}"


class CsvRowsError(InputError):
    """A CSV file with bad rows; nothing of it was imported."""

    def __init__(self, source: str, problems: Sequence[RowProblem]) -> None:
        self.source = source
        self.problems = tuple(sorted(problems, key=lambda p: (p.row, p.field)))
        shown = "\n".join(f"  {p}" for p in self.problems[:SHOWN_PROBLEMS])
        more = len(self.problems) - SHOWN_PROBLEMS
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(
            f"{source}: {len(self.problems)} problem(s), nothing imported:\n{shown}{tail}"
        )


def utility_zone(tz: str) -> ZoneInfo:
    """The :class:`ZoneInfo` of ``tz``; a clear :class:`InputError` for an unknown name."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {tz!r} (an IANA name such as Asia/Shanghai)") from exc


def parse_int_column(
    values: Sequence[str],
    *,
    source: str,
    field: str,
    first_row: int,
    minimum: int,
    problems: list[RowProblem],
) -> Int64s:
    """Integers ≥ ``minimum``; a bad value adds a problem and reads as ``minimum``."""
    try:
        out = np.asarray(values, dtype=np.str_).astype(np.int64)
    except ValueError:
        out = np.empty(len(values), dtype=np.int64)
        for i, text in enumerate(values):
            try:
                out[i] = int(text)
            except ValueError:
                problems.append(
                    RowProblem(source, first_row + i, field, text, f"a whole number ≥ {minimum}")
                )
                out[i] = minimum
    for i in np.flatnonzero(out < minimum).tolist():
        problems.append(
            RowProblem(source, first_row + i, field, values[i], f"a whole number ≥ {minimum}")
        )
        out[i] = minimum
    return out


@lru_cache(maxsize=65536)
def _hour_offset_s(zone: ZoneInfo, local_hour: int) -> int:
    """UTC offset of ``zone`` at a local wall-clock hour (hours since 1970-01-01 00:00 local)."""
    wall = datetime.fromtimestamp(local_hour * 3600, UTC).replace(tzinfo=zone)
    offset = wall.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _offsets_from_suffix(suffix: NDArray[np.str_]) -> Int64s | None:
    """Seconds east of UTC from ``±HH:MM`` / ``Z`` suffixes, or ``None`` if any is neither."""
    n = len(suffix)
    out = np.zeros(n, dtype=np.int64)
    is_z = suffix == "Z"
    rest = ~is_z
    if not rest.any():
        return out
    text = suffix[rest]
    codes = np.char.str_len(text)
    if (codes != 6).any():
        return None
    chars = text.astype("U6").view(np.uint32).reshape(-1, 6)
    sign = chars[:, 0]
    digits = chars[:, [1, 2, 4, 5]].astype(np.int64) - ord("0")
    if not (
        np.isin(sign, [ord("+"), ord("-")]).all()
        and (chars[:, 3] == ord(":")).all()
        and ((digits >= 0) & (digits <= 9)).all()
    ):
        return None
    hours = digits[:, 0] * 10 + digits[:, 1]
    minutes = digits[:, 2] * 10 + digits[:, 3]
    if (hours > 23).any() or (minutes > 59).any():
        return None
    seconds = hours * 3600 + minutes * 60
    out[rest] = np.where(sign == ord("-"), -seconds, seconds)
    return out


def _fast_times(values: Sequence[str], zone: ZoneInfo) -> Int64s | None:
    """Whole-chunk parse of ``YYYY-MM-DD[T ]HH:MM:SS`` with an optional ``Z`` / ``±HH:MM``;
    ``None`` when any value has another shape (the caller parses value by value)."""
    if not values:
        return np.zeros(0, dtype=np.int64)
    text = np.asarray(values, dtype=np.str_)
    lengths = np.char.str_len(text)
    if not np.isin(lengths, [19, 20, 25]).all():
        return None
    head = text.astype("U19")
    separators = head.view(np.uint32).reshape(-1, 19)[:, 10]
    if not np.isin(separators, [ord("T"), ord(" ")]).all():
        return None
    try:
        local = head.astype("datetime64[s]").astype(np.int64)
    except ValueError:
        return None
    naive = lengths == 19
    aware = ~naive
    out = local.copy()
    if aware.any():
        offsets = _offsets_from_suffix(np.array([v[19:] for v in text[aware].tolist()]))
        if offsets is None:
            return None
        out[aware] = local[aware] - offsets
    if naive.any():
        hours = local[naive] // 3600
        unique, inverse = np.unique(hours, return_inverse=True)
        offsets = np.array([_hour_offset_s(zone, int(h)) for h in unique.tolist()], np.int64)
        out[naive] = local[naive] - offsets[inverse]
    return out


def _one_time(text: str, zone: ZoneInfo) -> int:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp())


def parse_time_column(
    values: Sequence[str],
    *,
    zone: ZoneInfo,
    source: str,
    field: str,
    first_row: int,
    problems: list[RowProblem],
) -> Int64s:
    """ISO 8601 times → seconds since the epoch UTC (fractions of a second dropped).

    A time with an offset (``+08:00``, ``Z``) is taken as written; a naive one is wall-clock
    time in ``zone``. A bad value adds a problem and reads as 0.
    """
    fast = _fast_times(values, zone)
    if fast is not None:
        return fast
    out = np.zeros(len(values), dtype=np.int64)
    for i, text in enumerate(values):
        try:
            out[i] = _one_time(text, zone)
        except ValueError:
            problems.append(
                RowProblem(
                    source,
                    first_row + i,
                    field,
                    text,
                    "an ISO 8601 time such as 2024-03-05T08:15:00+08:00 "
                    "(or without offset, in the utility's time zone)",
                )
            )
    return out
