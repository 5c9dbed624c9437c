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
from typing import Any, Final, TypeVar

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
    "feeder_names",
    "import_history_file",
    "parse_levels",
    "parse_period",
    "run_reliability",
    "targets_of",
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
    previous: ReliabilityResult | None = None  # the same dates a year before, by feeder


def engine_settings(settings: Settings, **overrides: Any) -> EngineSettings:
    """The engine's settings from the service's (TOML / environment), with ``overrides`` (engine
    field names; ``None`` keeps the configured value) from the CLI or the API. A value the
    engine refuses is an :class:`InputError` naming the setting."""
    values: dict[str, Any] = {
        "sustained_threshold_s": settings.sustained_threshold_min * 60.0,
        "sustained_operator": settings.reliability_sustained_operator,
        "short_interruption_s": settings.reliability_short_interruption_s,
        "med_ddof": settings.reliability_med_ddof,
        "med_history_years": settings.reliability_med_history_years,
        "cemi_n": tuple(settings.reliability_cemi),
        "tz": settings.timezone,
        "celid_threshold_h": settings.reliability_celid_threshold_h,
        "worst_n": settings.reliability_worst_n,
    }
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise InputError(f"unknown reliability setting(s): {', '.join(unknown)}")
    values |= {k: v for k, v in overrides.items() if v is not None}
    if isinstance(values["cemi_n"], list):
        values["cemi_n"] = tuple(values["cemi_n"])
    return EngineSettings(**values)


def parse_levels(text: str | None, what: str) -> tuple[int, ...] | None:
    """``1,2,3`` → (1, 2, 3): the CEMIn levels of ``--cemi`` / ``?cemi=``; ``None`` stays."""
    if text is None:
        return None
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        levels = ()
    if not levels or any(n < 0 for n in levels) or len(set(levels)) != len(levels):
        raise InputError(f"{what}: {text!r}: whole numbers ≥ 0, comma separated, each once")
    return levels


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
    engine: EngineSettings | None = None,
    med_threshold_min: float | None = None,
    with_previous: bool = False,
) -> ReliabilityRun:
    """Indices of [start, end) over the chosen rows, with the T_MED from the years before
    (or ``med_threshold_min``); ``engine`` overrides the configured engine settings.
    ``with_monthly`` also computes the period by month, ``with_previous`` the same period a
    year earlier (for the report's year-on-year comparison)."""
    if by is not None and by not in BY_CHOICES:
        raise InputError(f"by: {by!r} is not one of {', '.join(BY_CHOICES)}")
    engine = engine_settings(settings) if engine is None else engine
    before = _year_before(start, end, engine.tz) if with_previous else None
    base = history.history_base(session, customer_base_from_network(network))
    since = (start if before is None else before[0]) - int(engine.med_history_years * 366 * 86_400)
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

    def period(first: int, stop: int, by: str | None) -> ReliabilityResult:
        return compute(
            interruptions,
            base,
            start=first,
            end=stop,
            settings=engine,
            by=by,
            med_threshold=med_threshold_min,
            avoided=avoided,
        )

    result = period(start, end, by)
    monthly = None if not with_monthly else result if by == "month" else period(start, end, "month")
    previous = None if before is None else period(*before, "feeder")
    return ReliabilityRun(result, monthly, base, rows, tuple(notes), previous)


def feeder_names(network: Network) -> dict[str, tuple[str, str]]:
    """Feeder id → (feeder name, its substation's name), for the report."""
    feeders, stations = network.feeders, network.substations
    return {
        fid: (str(feeders.name[i]) or fid, str(stations.name[int(feeders.substation[i])]))
        for i, fid in enumerate(feeders.id)
    }


def targets_of(settings: Settings) -> dict[str, float]:
    """The reliability targets configured (SAIDI minutes, SAIFI, RS-1 %), for the report."""
    given = {
        "saidi_min": settings.reliability_target_saidi_min,
        "saifi": settings.reliability_target_saifi,
        "rs1_pct": settings.reliability_target_rs1_pct,
    }
    return {k: v for k, v in given.items() if v is not None}


def _year_before(start: int, end: int, tz: str) -> tuple[int, int]:
    """The same local dates one year earlier (29 February → 28 February)."""
    zone = utility_zone(tz)

    def back(second: int) -> int:
        local = datetime.fromtimestamp(second, zone)
        try:
            return int(local.replace(year=local.year - 1).timestamp())
        except ValueError:
            return int(local.replace(year=local.year - 1, day=28).timestamp())

    return back(start), back(end)


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
            reader,
            known,
            source=path.name,
            tz=settings.timezone,
            sustained_threshold_s=settings.sustained_threshold_min * 60.0,
            sustained_operator=settings.reliability_sustained_operator,
            progress=progress,
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
