"""The planned-outage lifecycle as data, and the notice lead time it must keep.

```
draft → approved → notified → in_progress → completed
```
A planner books the work as a ``draft`` with its window; a dispatcher approves it; the
notice to the customers moves it to ``notified``; the opening of its isolation switch inside
the window starts it (``in_progress``, from ``approved`` too, should the notice have gone
out by other means), and the return of supply completes it. Until it starts it may be
``cancelled`` or ``postponed``; a postponed outage is approved again with a new window.
``completed`` and ``cancelled`` are final. Fault outages keep their own lifecycle
(:mod:`openoms.outages.lifecycle`).

The notice lead time (:func:`check_notice_lead_time`): the start of the work must lie at
least the utility's rule (a setting, 8 days by default, never below the statutory 7) after
the moment it is approved or booked; temporary maintenance that must tell important users
24 hours ahead is accepted under that shorter rule and flagged as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from openoms.errors import InputError
from openoms.settings import STATUTORY_NOTICE_DAYS

__all__ = [
    "OPEN_PLANNED_STATES",
    "PLANNED_TRANSITIONS",
    "PUBLIC_PLANNED_STATES",
    "STATUTORY_NOTICE_DAYS",
    "WORK_TYPE_ZH",
    "AreaLoad",
    "IllegalPlannedTransitionError",
    "MethodComparison",
    "MethodFigures",
    "NoticeCheck",
    "NoticeTooLateError",
    "PlannedState",
    "PlannedStateChange",
    "PlannedWork",
    "WorkType",
    "check_notice_lead_time",
    "compare_methods",
    "planned_transition",
    "windows_overlap",
]


class PlannedState(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    NOTIFIED = "notified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"


P = PlannedState

PLANNED_TRANSITIONS: Final[dict[PlannedState, frozenset[PlannedState]]] = {
    P.DRAFT: frozenset({P.APPROVED, P.CANCELLED}),
    P.APPROVED: frozenset({P.NOTIFIED, P.IN_PROGRESS, P.POSTPONED, P.CANCELLED}),
    P.NOTIFIED: frozenset({P.IN_PROGRESS, P.POSTPONED, P.CANCELLED}),
    P.IN_PROGRESS: frozenset({P.COMPLETED}),
    P.POSTPONED: frozenset({P.APPROVED, P.CANCELLED}),
    P.COMPLETED: frozenset(),
    P.CANCELLED: frozenset(),
}
"""Allowed next states of each planned state. Work once started is not called off or put off:
it ends, with supply restored, as ``completed``."""

OPEN_PLANNED_STATES: Final = frozenset({P.APPROVED, P.NOTIFIED, P.IN_PROGRESS})
"""States in which the switching of the work, inside its window, starts it."""
PUBLIC_PLANNED_STATES: Final = frozenset({P.APPROVED, P.NOTIFIED, P.IN_PROGRESS, P.POSTPONED})
"""States shown on the public page (a draft is the planner's own until approved)."""


class WorkType(StrEnum):
    """What the work is; ``temporary`` maintenance may keep the shorter notice rule."""

    MAINTENANCE = "maintenance"  # 计划检修
    CONSTRUCTION = "construction"  # 工程施工 (new line, reconstruction, connection)
    TEMPORARY = "temporary"  # 临时检修
    TESTING = "testing"  # 预防性试验


WORK_TYPE_ZH: Final = {
    WorkType.MAINTENANCE: "计划检修",
    WorkType.CONSTRUCTION: "工程施工",
    WorkType.TEMPORARY: "临时检修",
    WorkType.TESTING: "预防性试验",
}


@dataclass(frozen=True, slots=True)
class PlannedStateChange:
    from_state: PlannedState | None
    to_state: PlannedState
    at: datetime
    actor: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedWork:
    """A planned outage as booked: the work, its window, its switching and who it puts off.

    ``areas`` are the transformer areas and HV customers the work leaves off once its
    switching is done (``summary`` has the counts, villages, streets, sensitive customers,
    energy not supplied and the comparison with live-line work and temporary supply).
    ``revision`` goes up with every change customers must hear of (a new window): notices
    carry it, so a correction is never mistaken for the first notice. ``outage_id`` is the
    outage record the switching made once the work started.
    """

    id: int
    state: PlannedState
    revision: int
    network_version_id: int
    work_type: WorkType
    reason: str
    crews: tuple[str, ...]
    work_on: tuple[str, ...]  # the sections / devices worked on
    opened: tuple[str, ...]  # the switches opened to isolate the work
    switching: tuple[dict[str, Any], ...]  # the whole switching, in order
    starts_at: datetime
    ends_at: datetime
    feeder_id: str | None
    element_ids: tuple[str, ...]  # transformer areas and HV customers off
    customers: int  # LV customers and HV customers off
    summary: dict[str, Any]
    notice: dict[str, Any]  # rule, notice, deadline (ISO 8601), flagged
    outage_id: int | None
    created_by: str
    created_at: datetime
    history: tuple[PlannedStateChange, ...] = field(default=())

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600.0


def windows_overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """Two windows ``[start, end)`` share some time (touching ends do not overlap)."""
    return a[0] < b[1] and b[0] < a[1]


# -- live-line work and temporary supply against the outage ---------------------------------


@dataclass(frozen=True, slots=True)
class AreaLoad:
    """One transformer area or HV customer the work would put off."""

    element_id: str
    customers: int
    load_kw: float  # NaN when unknown
    sensitive: bool  # a sensitive customer (nursing home, hospital, water works) is behind it


@dataclass(frozen=True, slots=True)
class MethodFigures:
    method: str  # outage / live_line / temporary_supply
    customers_off: int
    customer_hours: float
    energy_not_supplied_kwh: float
    sensitive_off: int
    supplied_by_generator: tuple[str, ...] = ()  # temporary supply: the areas a generator holds


@dataclass(frozen=True, slots=True)
class MethodComparison:
    """The outage against the two ways of keeping customers on, for the planner."""

    hours: float
    outage: MethodFigures
    live_line: MethodFigures
    temporary_supply: MethodFigures

    def saved(self, method: str) -> tuple[int, float]:
        """Customers and customer-hours ``method`` keeps on compared with the outage."""
        other = self.live_line if method == "live_line" else self.temporary_supply
        return (
            self.outage.customers_off - other.customers_off,
            round(self.outage.customer_hours - other.customer_hours, 3),
        )

    def as_dict(self) -> dict[str, Any]:
        def one(f: MethodFigures) -> dict[str, Any]:
            return {
                "customers_off": f.customers_off,
                "customer_hours": round(f.customer_hours, 2),
                "energy_not_supplied_kwh": round(f.energy_not_supplied_kwh, 1),
                "sensitive_off": f.sensitive_off,
                "supplied_by_generator": list(f.supplied_by_generator),
            }

        live_c, live_h = self.saved("live_line")
        temp_c, temp_h = self.saved("temporary_supply")
        return {
            "hours": round(self.hours, 3),
            "outage": one(self.outage),
            "live_line": one(self.live_line) | {"saves_customers": live_c, "saves_hours": live_h},
            "temporary_supply": one(self.temporary_supply)
            | {"saves_customers": temp_c, "saves_hours": temp_h},
        }


def _figures(method: str, areas: Sequence[AreaLoad], hours: float) -> MethodFigures:
    customers = sum(a.customers for a in areas)
    load = sum(a.load_kw for a in areas if a.load_kw == a.load_kw)  # NaN: unknown, not 0
    return MethodFigures(
        method,
        customers,
        customers * hours,
        load * hours,
        sum(1 for a in areas if a.sensitive),
    )


def compare_methods(
    areas: Sequence[AreaLoad],
    *,
    hours: float,
    generators: int,
    generator_kw: float,
    live_line_off: Sequence[str] = (),
) -> MethodComparison:
    """The outage, live-line work and temporary supply in customers and customer-hours.

    - outage: every area in ``areas`` is off for the whole window;
    - live-line work: the line stays energised; only the areas in ``live_line_off`` (work
      that cannot be done live, such as replacing their own transformer) are off;
    - temporary supply: ``generators`` mobile generators of ``generator_kw`` each hold one
      transformer area or HV customer whose load fits: sensitive customers first, then the
      most customers per kW of load (an area of unknown load is not given a generator). The
      rest is off.

    Customer-hours = customers off × the window's hours (the whole window: switching time
    is not subtracted). Energy not supplied = load off × hours, from the areas' recorded load.
    """
    if hours <= 0:
        raise InputError(f"the work's window must last some time, not {hours:g} h")
    live_off = set(live_line_off)
    fits = [
        a for a in areas if a.load_kw == a.load_kw and 0 < a.load_kw <= generator_kw
    ]  # NaN or zero load: no generator is sized on a guess
    fits.sort(key=lambda a: (not a.sensitive, -a.customers / a.load_kw, a.element_id))
    held = {a.element_id for a in fits[: max(generators, 0)]}
    temporary = _figures("temporary_supply", [a for a in areas if a.element_id not in held], hours)
    return MethodComparison(
        hours,
        _figures("outage", areas, hours),
        _figures("live_line", [a for a in areas if a.element_id in live_off], hours),
        MethodFigures(
            temporary.method,
            temporary.customers_off,
            temporary.customer_hours,
            temporary.energy_not_supplied_kwh,
            temporary.sensitive_off,
            tuple(sorted(held)),
        ),
    )


class IllegalPlannedTransitionError(InputError):
    """A state change the planned-outage lifecycle does not allow."""

    def __init__(self, current: PlannedState, target: PlannedState) -> None:
        allowed = ", ".join(sorted(PLANNED_TRANSITIONS[current])) or "none (final state)"
        super().__init__(
            f"a planned outage cannot go from {current} to {target}; "
            f"allowed from {current}: {allowed}"
        )
        self.current = current
        self.target = target


def planned_transition(current: PlannedState, target: PlannedState) -> PlannedState:
    """``target`` if the planned lifecycle allows ``current → target``, else raise."""
    if target not in PLANNED_TRANSITIONS[current]:
        raise IllegalPlannedTransitionError(current, target)
    return target


@dataclass(frozen=True, slots=True)
class NoticeCheck:
    """A start that keeps its notice: the rule it keeps and by how much."""

    rule: str  # "planned" (the utility's days) or "temporary" (hours to important users)
    notice: timedelta  # the lead time the rule asks for
    lead: timedelta  # the time from now to the start
    deadline: datetime  # the last moment the notice could go out under the rule
    flagged: bool  # accepted only as temporary maintenance under the shorter rule


def _shown(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _span_zh(span: timedelta) -> str:
    """Whole days and hours (minutes dropped): ``6 天 23 小时``, ``8 天``, ``0 小时``."""
    hours = int(span.total_seconds() // 3600)
    days, rest = divmod(hours, 24)
    return " ".join(
        [*([f"{days} 天"] if days else []), *([f"{rest} 小时"] if rest or not days else [])]
    )


def _span_en(span: timedelta) -> str:
    """Whole days and hours (minutes dropped): ``6 d 23 h``, ``8 d``, ``0 h``."""
    hours = int(span.total_seconds() // 3600)
    days, rest = divmod(hours, 24)
    return " ".join(
        [*([f"{days} d"] if days else []), *([f"{rest} h"] if rest or not days else [])]
    )


class NoticeTooLateError(InputError):
    """A planned outage whose start is closer than its notice lead time."""

    def __init__(
        self,
        *,
        starts_at: datetime,
        deadline: datetime,
        now: datetime,
        notice: timedelta,
        rule: str,
        zone: ZoneInfo,
    ) -> None:
        lead = starts_at - now
        if rule == "temporary":  # the rule in the hours it is set in
            hours = f"{notice.total_seconds() / 3600:g}"
            rule_zh = f"临时检修须提前 {hours} 小时通知重要用户"
            rule_en = f"temporary maintenance must tell important users {hours} h ahead"
        else:
            rule_zh = f"计划停电须提前 {notice.days} 天公告（法定至少 {STATUTORY_NOTICE_DAYS} 天）"
            rule_en = (
                f"a planned outage must be announced {notice.days} days ahead "
                f"(statutory minimum {STATUTORY_NOTICE_DAYS} days)"
            )
        start, last = _shown(starts_at, zone), _shown(deadline, zone)
        if lead > timedelta(0):
            when_zh, when_en = f"距现在仅 {_span_zh(lead)}", f"only {_span_en(lead)} from now"
        else:
            when_zh, when_en = "已过", "already past"
        super().__init__(
            f"停电开始时间 {start} {when_zh}，通知截止时间 {last} 已过：{rule_zh}。"
            f" / The outage starts at {start}, {when_en}; the notice deadline {last} has "
            f"passed: {rule_en}."
        )
        self.starts_at = starts_at
        self.deadline = deadline
        self.rule = rule
        self.notice = notice


def check_notice_lead_time(
    starts_at: datetime,
    *,
    now: datetime,
    notice_days: int,
    temporary_notice_hours: float,
    temporary: bool = False,
    zone: ZoneInfo,
) -> NoticeCheck:
    """The rule a start at ``starts_at`` keeps when approved (or booked) at ``now``.

    The start must lie at least ``notice_days`` after ``now`` (exactly that is enough);
    temporary maintenance (``temporary``) may instead keep ``temporary_notice_hours``, and is
    then flagged. Otherwise :class:`NoticeTooLateError` names the start, the deadline and the
    rule, in zh-CN and English, in local time (``zone``).
    """
    if notice_days < STATUTORY_NOTICE_DAYS:
        raise InputError(
            f"the notice of a planned outage cannot be {notice_days} days: "
            f"the statutory minimum is {STATUTORY_NOTICE_DAYS} days"
        )
    lead = starts_at - now
    notice = timedelta(days=notice_days)
    if lead >= notice:
        return NoticeCheck("planned", notice, lead, starts_at - notice, flagged=False)
    if not temporary:
        raise NoticeTooLateError(
            starts_at=starts_at,
            deadline=starts_at - notice,
            now=now,
            notice=notice,
            rule="planned",
            zone=zone,
        )
    short = timedelta(hours=temporary_notice_hours)
    if lead >= short:
        return NoticeCheck("temporary", short, lead, starts_at - short, flagged=True)
    raise NoticeTooLateError(
        starts_at=starts_at,
        deadline=starts_at - short,
        now=now,
        notice=short,
        rule="temporary",
        zone=zone,
    )
