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

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from openoms.errors import InputError
from openoms.settings import STATUTORY_NOTICE_DAYS

__all__ = [
    "PLANNED_TRANSITIONS",
    "STATUTORY_NOTICE_DAYS",
    "IllegalPlannedTransitionError",
    "NoticeCheck",
    "NoticeTooLateError",
    "PlannedState",
    "check_notice_lead_time",
    "planned_transition",
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
