"""The reliability workflow shared by the CLI, the API and the report: the customer base,
the rows of a period (imported history and OpenOMS's own outage records) and the engine.

The engine looks back ``med_history_years`` before the period for the major-event-day
threshold, so the rows are read from that far back.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final, TypeVar

from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.grid.model import Network
from openoms.grid.textfile import TextFileError, csv_problem, open_text
from openoms.reliability.base import (
    customer_base_from_network,
    merge_bases,
    parse_customer_base,
    subset_base,
)
from openoms.reliability.data import CustomerBase
from openoms.reliability.history_csv import parse_history
from openoms.reliability.history_rows import HistoryRows, concat_rows
from openoms.reliability.indices import ReliabilityResult, compute
from openoms.reliability.indices import Settings as EngineSettings
from openoms.reliability.rows import utility_zone
from openoms.settings import Settings
from openoms.store import history

__all__ = [
    "BY_CHOICES",
    "EARLIEST_DAY",
    "LATEST_DAY",
    "EmptyHistoryError",
    "ReliabilityRun",
    "Source",
    "engine_settings",
    "import_history_file",
    "parse_period",
    "run_reliability",
]

BY_CHOICES = ("feeder", "substation", "grid_cell", "village", "cause", "month", "class", "planned")
EARLIEST_DAY: Final = date(1900, 1, 1)
LATEST_DAY: Final = date(2200, 1, 1)
"""The days a period may start or end on (the engine and the database count in seconds
from 1970; the breakdown by month and the MED history reach past either end)."""

_T = TypeVar("_T")


class EmptyHistoryError(InputError):
    """A history file with a header and no rows: nothing to import."""


class Source(StrEnum):
    """Which rows count: imported history, outage records, or both (the default)."""

    BOTH = "both"
    HISTORY = "history"
    RECORDS = "records"


@dataclass(frozen=True, slots=True, eq=False)
class ReliabilityRun:
    result: ReliabilityResult
    monthly: ReliabilityResult | None  # the same period by month (the report's trend)
    base: CustomerBase
    rows: HistoryRows  # everything read, history window included
    notes: tuple[str, ...]  # open outages, skipped units: said with the figures


def engine_settings(settings: Settings) -> EngineSettings:
    return EngineSettings(
        sustained_threshold_s=settings.sustained_threshold_min * 60.0, tz=settings.timezone
    )


def _day(text: str, tz: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text) if "T" in text else None
        if parsed is None:
            parsed = datetime.combine(date.fromisoformat(text), time())
    except ValueError as exc:
        raise InputError(f"{what}: {text!r} is not a date (YYYY-MM-DD) or ISO time") from exc
    if not EARLIEST_DAY <= parsed.date() <= LATEST_DAY:
        raise InputError(
            f"{what}: {text!r} is out of range: a day from {EARLIEST_DAY} to {LATEST_DAY}"
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utility_zone(tz))


def parse_period(start: str | None, end: str | None, *, tz: str, now: datetime) -> tuple[int, int]:
    """``[start, end)`` in UTC seconds from dates in the utility's zone; ``end`` defaults to
    the start of tomorrow, ``start`` to one year before ``end``. A day that is not a date, or
    outside :data:`EARLIEST_DAY` … :data:`LATEST_DAY`, is an :class:`InputError` naming the
    parameter (``--from`` / ``--to``)."""
    zone = utility_zone(tz)
    if end is None:
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        stop = datetime.combine(tomorrow, time(), zone)
    else:
        stop = _day(end, tz, "--to")
    if start is None:
        try:
            first = stop.replace(year=stop.year - 1)
        except ValueError:  # 29 February
            first = stop.replace(year=stop.year - 1, day=28)
    else:
        first = _day(start, tz, "--from")
    if stop <= first:
        raise InputError(f"period: --to ({stop.isoformat()}) must be after --from ({first})")
    return int(first.timestamp()), int(stop.timestamp())


def run_reliability(
    session: Session,
    network: Network,
    *,
    start: int,
    end: int,
    settings: Settings,
    now: datetime,
    by: str | None = None,
    source: Source = Source.BOTH,
    with_monthly: bool = False,
) -> ReliabilityRun:
    """Indices of [start, end) over the chosen rows, with the T_MED from the years before;
    ``with_monthly`` also computes the period by month (for the report)."""
    if by is not None and by not in BY_CHOICES:
        raise InputError(f"by: {by!r} is not one of {', '.join(BY_CHOICES)}")
    engine = engine_settings(settings)
    base = history.history_base(session, customer_base_from_network(network))
    since = start - int(engine.med_history_years * 366 * 86_400)
    parts, notes = [], []
    if source is not Source.RECORDS:
        parts.append(history.load_history(session, base, start=since, end=end))
    if source is not Source.HISTORY:
        found = history.interruptions_from_outages(session, base, start=since, end=end, now=now)
        parts.append(found.rows)
        if found.open_rows:
            notes.append(
                f"{found.open_rows} area(s) still off are counted up to "
                f"{min(now, datetime.fromtimestamp(end, now.tzinfo)).isoformat()}"
            )
        if found.unknown_units:
            notes.append(
                f"{len(found.unknown_units)} area(s) of outage records are not in the network "
                f"and were left out: {', '.join(found.unknown_units[:10])}"
            )
    rows = concat_rows(parts)
    interruptions, avoided = rows.interruptions(), rows.avoided()
    result = compute(
        interruptions, base, start=start, end=end, settings=engine, by=by, avoided=avoided
    )
    monthly = (
        None
        if not with_monthly
        else result
        if by == "month"
        else compute(
            interruptions, base, start=start, end=end, settings=engine, by="month", avoided=avoided
        )
    )
    return ReliabilityRun(result, monthly, base, rows, tuple(notes))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_csv(path: Path, encoding: str | None, parse: Callable[[Iterator[list[str]]], _T]) -> _T:
    """``parse`` of the rows of the CSV file ``path``, read in ``encoding`` (default UTF-8
    or GBK / GB18030, detected). A file that is not text, or not CSV (an unterminated quote,
    a field past the size limit), is one line naming the file and line."""
    with open_text(path, encoding) as stream:
        reader = csv.reader(stream, strict=True)
        try:
            return parse(reader)
        except csv.Error as exc:
            raise TextFileError(path, csv_problem(exc), line=reader.line_num) from exc


def import_history_file(
    session: Session,
    network: Network,
    path: Path,
    *,
    settings: Settings,
    actor: str,
    now: datetime,
    base_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    encoding: str | None = None,
) -> history.ImportInfo:
    """Parse ``path`` (and a customer-base CSV) and store it in ``session``'s transaction.

    Both files are read in ``encoding``, by default UTF-8 or GBK / GB18030 (detected). A file
    without rows is an :class:`EmptyHistoryError`; nothing is stored then, nor when anything
    else fails."""
    known = history.history_base(session, customer_base_from_network(network))
    new_units = None
    if base_path is not None:
        given = _read_csv(
            base_path,
            encoding,
            lambda reader: parse_customer_base(reader, source=base_path.name),
        )
        fresh = [u not in set(known.unit_id) for u in given.unit_id]
        if any(fresh):
            new_units = subset_base(given, fresh)
            known = merge_bases(known, new_units, source=base_path.name)
    rows = _read_csv(
        path,
        encoding,
        lambda reader: parse_history(
            reader, known, source=path.name, tz=settings.timezone, progress=progress
        ),
    )
    if len(rows) == 0:
        raise EmptyHistoryError(f"{path.name}: no rows after the header; nothing imported")
    return history.import_history(
        session,
        rows,
        known,
        source=path.name,
        content_sha256=file_sha256(path),
        timezone=settings.timezone,
        actor=actor,
        now=now,
        new_units=new_units,
        base_source=None if base_path is None else base_path.name,
    )
