"""The reliability engine: IEEE 1366 and DL/T 836 indices of a period, with major event days,
breakdowns, worst-served feeders and units, and what was saved.

Pure and vectorised: the rows are grouped into (event, unit) pairs once (``_pairs``), and every
index is a ``np.bincount`` over the pairs (``ieee``, ``dlt836``, ``med``, ``breakdown``). An
interruption belongs to the period, the day and the month in which it began (local time of
``Settings.tz``), even when it crosses midnight or the period's end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from openoms.errors import InputError
from openoms.reliability._pairs import Pairs, build_pairs, zone
from openoms.reliability.breakdown import Grouping, grouping
from openoms.reliability.data import (
    Avoided,
    CustomerBase,
    Interruptions,
    ReliabilityArgumentError,
    ReliabilityDataError,
    RestoredBy,
)
from openoms.reliability.dlt836 import DLT_INDEX_NAMES, DltTable, dlt_table
from openoms.reliability.ieee import IeeeTable, ieee_table
from openoms.reliability.med import MedThreshold, daily_saidi, major_event_days, med_threshold
from openoms.reliability.ranking import over_n, unit_totals_of, worst_feeders, worst_units

__all__ = [
    "MED_RECOMMENDED_YEARS",
    "UNIT_ASSUMPTION",
    "Breakdown",
    "ReliabilityResult",
    "Settings",
    "UnknownReliabilityIndexError",
    "compute",
]

I64 = NDArray[np.int64]
DAYS = ("all", "med", "excluding_med")


class UnknownReliabilityIndexError(InputError, KeyError):
    """An index name that :meth:`ReliabilityResult.index` does not know; ``known`` lists them."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no index {name!r}; known: {', '.join(known)}")
        self.name = name
        self.known = tuple(known)

    def __str__(self) -> str:  # the sentence, not KeyError's repr of it
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings of the engine; every one is reported with the result."""

    sustained_threshold_s: float = 300.0  # IEEE 1366: sustained if longer than 5 min
    sustained_operator: Literal[">", ">="] = ">"
    short_interruption_s: float = 180.0  # DL/T 836: ignore interruptions ≤ this; 0 counts all
    med_ddof: int = 1  # standard deviation of ln(daily SAIDI): n − 1 by default
    med_history_years: int = 5
    # CEMIn / CEMSMIn: customers with MORE THAN n interruptions; several levels (1, 2, 3) give
    # cemi_1, cemi_2, cemi_3 as well, and ``cemi_n`` is the first
    cemi_n: int | tuple[int, ...] = 3
    tz: str = "Asia/Shanghai"  # days and months are local to the utility
    celid_threshold_h: float = 8.0  # CELID: interruptions of at least this many hours
    worst_n: int = 10  # rows in the worst-served lists

    def __post_init__(self) -> None:
        if not np.isfinite(self.sustained_threshold_s) or self.sustained_threshold_s < 0:
            raise _bad_setting("sustained_threshold_s", str(self.sustained_threshold_s))
        if self.sustained_operator not in (">", ">="):
            raise _bad_setting("sustained_operator", repr(self.sustained_operator))
        if not np.isfinite(self.short_interruption_s) or self.short_interruption_s < 0:
            raise _bad_setting("short_interruption_s", str(self.short_interruption_s))
        for name in ("med_ddof", "worst_n"):
            if getattr(self, name) < 0:
                raise _bad_setting(name, f"must be 0 or more, got {getattr(self, name)}")
        levels = (self.cemi_n,) if isinstance(self.cemi_n, int) else tuple(self.cemi_n)
        if not levels or any(not isinstance(n, int) or n < 0 for n in levels):
            raise _bad_setting("cemi_n", f"whole numbers 0 or more, got {self.cemi_n!r}")
        if len(set(levels)) != len(levels):
            raise _bad_setting("cemi_n", f"a level given twice: {self.cemi_n!r}")
        if self.med_history_years < 1:
            raise _bad_setting("med_history_years", "must be 1 or more")
        if not np.isfinite(self.celid_threshold_h) or self.celid_threshold_h <= 0:
            raise _bad_setting("celid_threshold_h", f"must be > 0, got {self.celid_threshold_h}")
        zone(self.tz)

    @property
    def cemi_levels(self) -> tuple[int, ...]:
        """The n of CEMIn / CEMSMIn, the headline ``cemi_n`` first."""
        return (self.cemi_n,) if isinstance(self.cemi_n, int) else tuple(self.cemi_n)


MED_RECOMMENDED_YEARS = 5
"""IEEE 1366-2012 4.5: T_MED from five years of daily SAIDI; fewer carry a caveat."""

UNIT_ASSUMPTION = (
    "CN, CAIFI, CTAIDI, CEMIn, CEMSMIn and CELID count customers per unit as if a unit's "
    "events hit the same customers as far as possible (the history gives how many of a "
    "unit's customers each event hit, not which): CN is then the fewest distinct customers "
    "possible and CEMIn = the (n+1)-th largest event's customers, never more than CN / N_T; "
    "exact when every event takes a unit's whole customers"
)


def _bad_setting(name: str, message: str) -> ReliabilityArgumentError:
    return ReliabilityArgumentError(f"Settings.{name}", f"Settings.{name}: {message}")


@dataclass(frozen=True, slots=True, eq=False)
class Breakdown:
    """IEEE 1366 and DL/T 836 indices per group of a breakdown."""

    grouping: Grouping
    ieee: IeeeTable
    dlt: DltTable

    def columns(self) -> dict[str, NDArray[Any]]:
        """Every index as an array over the groups (NaN where undefined)."""
        out: dict[str, NDArray[Any]] = {
            "customers": self.ieee.customers,
            "customers_interrupted": self.ieee.customers_interrupted,
            "customer_minutes": self.ieee.customer_minutes,
            "customers_distinct": self.ieee.customers_distinct,
            "momentary_interruptions": self.ieee.momentary,
            "momentary_events": self.ieee.momentary_events,
            "users": self.dlt.users,
            "users_off": self.dlt.users_off.sum(axis=1),
            "user_hours": self.dlt.user_hours.sum(axis=1),
        }
        return out | self.ieee.indices() | self.dlt.indices()

    def rows(self) -> list[dict[str, Any]]:
        """JSON-ready rows of the groups that have customers or interruptions."""
        g = self.grouping
        busy = (g.customers > 0) | (g.users > 0) | (self.ieee.customers_interrupted > 0)
        busy |= self.dlt.users_off.sum(axis=1) > 0
        out = []
        for index in np.flatnonzero(busy):
            row: dict[str, Any] = dict(zip(g.dims, g.label(int(index)), strict=True))
            row |= self.ieee.row(int(index)) | self.dlt.row(int(index))
            out.append(row)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ReliabilityResult:
    """Everything :func:`compute` found for one period; :meth:`as_dict` is JSON-ready."""

    start: int
    end: int
    settings: Settings
    ieee: dict[str, IeeeTable]  # "all", "med", "excluding_med"; one group each
    dlt: DltTable  # one group
    med: MedThreshold | None
    med_note: str | None  # why there is no threshold
    med_days: tuple[str, ...]  # ISO dates, local
    breakdown: Breakdown | None
    worst_feeders: tuple[dict[str, Any], ...]
    worst_units: tuple[dict[str, Any], ...]
    over_n: dict[str, Any]
    avoided: dict[str, Any]
    counts: dict[str, int]  # rows, events, units interrupted in the period
    warnings: tuple[str, ...] = ()  # no customer base, no records: the indices are null
    med_caveat: str | None = None  # T_MED from less than five years of history

    @property
    def no_data(self) -> bool:
        """No customer base or no interruption record in the period: no index is known."""
        return int(self.ieee["all"].customers[0]) <= 0 or self.counts["rows"] == 0

    @property
    def period_hours(self) -> float:
        return (self.end - self.start) / 3600.0

    def index(self, name: str, days: str = "all") -> float | None:
        """One system index by name (``saifi``, ``aihc1_h``, ...); ``days`` for IEEE ones."""
        table: dict[str, Any] = self.ieee[days].row(0) | self.dlt.row(0)
        if name not in table:
            raise UnknownReliabilityIndexError(name, sorted(table))
        value: float | None = None if self.no_data and name in self._index_names() else table[name]
        return value

    def _index_names(self) -> frozenset[str]:
        return frozenset(self.ieee["all"].indices()) | frozenset(DLT_INDEX_NAMES)

    def _shown(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with every index null when there is no data (counts are kept)."""
        if not self.no_data:
            return row
        names = self._index_names()
        return {k: None if k in names else v for k, v in row.items()}

    def as_dict(self) -> dict[str, Any]:
        def iso(second: int) -> str:
            return datetime.fromtimestamp(second, UTC).isoformat().replace("+00:00", "Z")

        splits = self.dlt.splits(0)
        if self.no_data:
            splits = {k: v | {"aihc_h": None, "aitc": None} for k, v in splits.items()}
        settings = asdict(self.settings)
        settings["cemi_n"] = list(self.settings.cemi_levels)
        return {
            "period": {"start": iso(self.start), "end": iso(self.end), "hours": self.period_hours},
            "settings": settings,
            "warnings": list(self.warnings),
            "counts": dict(self.counts),
            "unit_assumption": UNIT_ASSUMPTION,
            "med": None if self.med is None else self.med.as_dict(),
            "med_note": self.med_note,
            "med_caveat": self.med_caveat,
            "med_days": list(self.med_days),
            "ieee1366": {days: self._shown(self.ieee[days].row(0)) for days in DAYS},
            "dlt836": self._shown(self.dlt.row(0)) | {"splits": splits},
            "breakdown": None
            if self.breakdown is None
            else {
                "by": list(self.breakdown.grouping.dims),
                "rows": [self._shown(row) for row in self.breakdown.rows()],
            },
            "worst_feeders": list(self.worst_feeders),
            "worst_units": list(self.worst_units),
            "over_n": self.over_n,
            "avoided": self.avoided,
        }


def _history_start(start: int, settings: Settings) -> int:
    local = datetime.fromtimestamp(start, zone(settings.tz))
    year = local.year - settings.med_history_years
    day = min(local.day, 28) if (local.month, local.day) == (2, 29) else local.day
    return int(local.replace(year=year, day=day).timestamp())


_YEAR_S = 365.25 * 86_400
_SLACK_S = 31 * 86_400


def _med(
    rows: Interruptions, base: CustomerBase, *, start: int, settings: Settings, given: float | None
) -> tuple[MedThreshold | None, str | None, str | None]:
    """T_MED, why there is none, and the caveat when it rests on less than five years."""
    if given is not None:
        if not np.isfinite(given) or given <= 0:
            raise ReliabilityArgumentError(
                "med_threshold",
                f"med_threshold: must be a positive number of minutes, got {given}",
            )
        return MedThreshold(t_med_min=float(given)), None, None
    keep = (rows.start >= _history_start(start, settings)) & (rows.start < start)
    history = _pairs(rows, base, keep, settings)
    _, values = daily_saidi(history, int(base.customers.sum()))
    first = int(rows.start[keep].min()) if keep.any() else start
    years = (start - first) / _YEAR_S  # from the first history record to the period
    if values.size <= settings.med_ddof:
        note = (
            f"no major event days: {values.size} history day(s) with SAIDI > 0 in the "
            f"{settings.med_history_years} year(s) before the period, need more than "
            f"{settings.med_ddof}"
        )
        return None, note, None
    threshold = med_threshold(values, ddof=settings.med_ddof)
    threshold = replace(threshold, history_years=round(years, 2))
    caveat = None
    # the first interruption rarely falls on the window's first day: a month's slack
    late = first - _history_start(start, settings) > _SLACK_S
    if late or settings.med_history_years < MED_RECOMMENDED_YEARS:
        caveat = (
            f"T_MED rests on {threshold.n_days} day(s) with SAIDI > 0 over {years:.2f} year(s) "
            f"of history (the first record {years:.2f} years before the period, looking back "
            f"at most {settings.med_history_years}); IEEE 1366 4.5 uses five years, so the "
            "major event days are provisional"
        )
    return threshold, None, caveat


def _pairs(
    rows: Interruptions, base: CustomerBase, keep: NDArray[np.bool_], settings: Settings
) -> Pairs:
    return build_pairs(
        rows,
        base,
        keep=keep,
        tz=settings.tz,
        sustained_threshold_s=settings.sustained_threshold_s,
        sustained_operator=settings.sustained_operator,
        celid_threshold_s=settings.celid_threshold_h * 3600.0,
    )


def _avoided(avoided: Avoided | None, base: CustomerBase, start: int, end: int) -> dict[str, Any]:
    out: dict[str, Any] = {"automatic_customer_hours": 0.0, "live_line_customer_hours": 0.0}
    if avoided is None:
        return out
    if (bad := avoided.unit >= len(base)).any():
        rows = np.flatnonzero(bad).astype(np.int64)
        raise ReliabilityDataError(
            "Avoided", "unit", f"index out of range 0..{len(base) - 1}", rows
        )
    keep = (avoided.at >= start) & (avoided.at < end)
    hours = np.bincount(
        avoided.how[keep].astype(np.int64),
        weights=avoided.customers[keep] * avoided.hours[keep],
        minlength=len(RestoredBy),
    )
    out["automatic_customer_hours"] = float(hours[RestoredBy.AUTOMATIC])
    out["live_line_customer_hours"] = float(hours[RestoredBy.LIVE_LINE])
    return out


def compute(
    interruptions: Interruptions,
    base: CustomerBase,
    *,
    start: int,
    end: int,
    settings: Settings = Settings(),
    by: str | tuple[str, ...] | None = None,
    med_threshold: float | None = None,
    avoided: Avoided | None = None,
) -> ReliabilityResult:
    """Indices of the interruptions that began in [start, end) (UTC seconds).

    ``by`` names a breakdown (``"feeder"``, ``"substation"``, ``"grid_cell"``, ``"village"``,
    ``"cause"``, ``"month"``, ``"class"``, ``"planned"``) or a tuple of them. Without
    ``med_threshold`` (minutes), T_MED comes from the ``med_history_years`` before ``start``
    in ``interruptions``.
    """
    if end <= start:
        raise ReliabilityArgumentError(
            "period", f"period: end ({end}) must be after start ({start})"
        )
    interruptions.check_against(base)
    period = _pairs(
        interruptions, base, (interruptions.start >= start) & (interruptions.start < end), settings
    )
    n_t = int(base.customers.sum())
    minutes = np.array([(end - start) / 60.0])

    med, med_note, med_caveat = _med(
        interruptions, base, start=start, settings=settings, given=med_threshold
    )
    days, saidi = daily_saidi(period, n_t)
    med_day = np.zeros(0, dtype=np.int64) if med is None else major_event_days(days, saidi, med)
    on_med = np.zeros(len(period), dtype=np.bool_)
    if med_day.size:  # a lookup table over the period's days
        first_day = int(period.day.min())
        flag = np.zeros(int(period.day.max()) - first_day + 1, dtype=np.bool_)
        flag[med_day - first_day] = True
        on_med = flag[period.day - first_day]

    def system(group: NDArray[np.int32]) -> IeeeTable:
        return ieee_table(
            period,
            base,
            group=group,
            n_groups=1,
            customers=np.array([n_t]),
            kva=np.array([float(base.load_kva.sum())]),
            minutes=minutes,
            cemi_levels=settings.cemi_levels,
            celid_threshold_s=settings.celid_threshold_h * 3600.0,
            event_groups=1,
        )

    everything = np.zeros(len(period), dtype=np.int32)  # group numbers are int32
    ieee = {"all": system(everything)}
    if on_med.any():
        ieee["med"] = system(np.where(on_med, np.int32(0), np.int32(-1)))
        ieee["excluding_med"] = system(np.where(on_med, np.int32(-1), np.int32(0)))
    else:  # no major event day: nothing on MED days, everything without them
        ieee["med"] = system(np.full(len(period), -1, dtype=np.int32))
        ieee["excluding_med"] = ieee["all"]
    dlt = dlt_table(
        period,
        group=everything,
        n_groups=1,
        users=np.array([len(base)]),
        hours=minutes / 60.0,
        short_interruption_s=settings.short_interruption_s,
    )
    breakdown = None
    if by is not None:
        dims = (by,) if isinstance(by, str) else tuple(by)
        grouped = grouping(
            period,
            base,
            dims=dims,
            cause_names=interruptions.cause_names,
            start=start,
            end=end,
            tz=settings.tz,
        )
        breakdown = Breakdown(
            grouping=grouped,
            ieee=ieee_table(
                period,
                base,
                group=grouped.group,
                n_groups=grouped.n_groups,
                customers=grouped.customers,
                kva=grouped.kva,
                minutes=grouped.hours * 60.0,
                cemi_levels=settings.cemi_levels,
                celid_threshold_s=settings.celid_threshold_h * 3600.0,
                event_groups=grouped.event_groups,
            ),
            dlt=dlt_table(
                period,
                group=grouped.group,
                n_groups=grouped.n_groups,
                users=grouped.users,
                hours=grouped.hours,
                short_interruption_s=settings.short_interruption_s,
            ),
        )
    totals = unit_totals_of(period, base, settings.short_interruption_s)
    return ReliabilityResult(
        start=start,
        end=end,
        settings=settings,
        ieee=ieee,
        dlt=dlt,
        med=med,
        med_note=med_note,
        med_days=tuple(str(d) for d in med_day.astype("datetime64[D]")),
        breakdown=breakdown,
        worst_feeders=worst_feeders(totals, base, settings.worst_n),
        worst_units=worst_units(totals, base, settings.worst_n),
        over_n=over_n(totals, base, settings.cemi_levels[0], settings.worst_n)
        | {"customers": int(ieee["all"].cemi_customers[0, 0])},  # CEMIn's (nested) count
        avoided=_avoided(avoided, base, start, end),
        counts=_counts(period, interruptions, start, end),
        warnings=_warnings(n_t, interruptions, start, end),
        med_caveat=med_caveat,
    )


def _counts(period: Pairs, rows: Interruptions, start: int, end: int) -> dict[str, int]:
    """How much the period's figures rest on: rows, events (sustained, momentary-only) and
    units interrupted."""
    in_period = (rows.start >= start) & (rows.start < end)
    sustained = np.unique(period.event[period.ci > 0])
    touched = np.unique(period.event)
    return {
        "rows": int(np.count_nonzero(in_period)),
        "events": int(touched.size),
        "sustained_events": int(sustained.size),
        "momentary_only_events": int(touched.size - sustained.size),
        "units_interrupted": int(np.unique(period.unit).size),
    }


def _warnings(n_t: int, rows: Interruptions, start: int, end: int) -> tuple[str, ...]:
    out = []
    if n_t <= 0:
        out.append(
            "no customer base: no transformer area or HV customer with customers, so no index "
            "can be computed (null, not 0)"
        )
    if not ((rows.start >= start) & (rows.start < end)).any():
        out.append(
            "no interruption records in the period: a period without data cannot be told from "
            "a perfect one, so the indices are null, not SAIFI 0 and RS-1 100 %"
        )
    return tuple(out)
