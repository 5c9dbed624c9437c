"""The customer notice as a domain value, and the rule that merges overlapping ones.

A :class:`NoticeSubject` is what a notice is about: one revision of a planned outage,
temporary maintenance or a fault outage, with the areas it cuts (transformer areas and HV
customers, and the villages, streets and line people know) and its window. The planned-
outage and fault workflows build subjects; the notice service publishes them.

**The merge rule** (:func:`merge_clusters`): on one transformer area (or HV customer),
subjects whose windows overlap or touch are one outage to the people there, so they get
one notice covering all of them: from the earliest start to the latest end, every line,
village, street and reason named once. Overlap is transitive (a chain of overlapping
windows is one cluster); a window without an end lasts until further notice and overlaps
everything after its start. Subjects on different areas never merge, and windows with a gap
between them stay separate notices. Cancelled subjects and restored faults take no part.

:func:`view_of` turns a cluster into the :class:`NoticeView` that the templates of
:mod:`openoms.outages.notice_texts` render. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from openoms.errors import InputError

__all__ = [
    "NoticeAction",
    "NoticeChannel",
    "NoticeKind",
    "NoticeSubject",
    "NoticeView",
    "is_active",
    "merge_clusters",
    "quiet_hours_end",
    "subject_key",
    "view_of",
]


class NoticeKind(StrEnum):
    PLANNED = "planned"
    TEMPORARY = "temporary"
    FAULT = "fault"


class NoticeAction(StrEnum):
    NEW = "new"
    CHANGED = "changed"  # a correction of an earlier notice
    CANCELLED = "cancelled"
    RESTORED = "restored"  # supply is back (a fault, or work that ended)


class NoticeChannel(StrEnum):
    """Every channel a notice is rendered for. ``sms`` and ``email`` reach one customer;
    the group robots and the media feed get one message per notice."""

    SMS = "sms"
    EMAIL = "email"
    WECOM = "wecom"  # WeChat Work group robot
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    WEIBO = "weibo"  # a post the media desk publishes
    BROADCAST = "broadcast"  # a TV / radio announcement


PERSONAL_CHANNELS: Final = frozenset({NoticeChannel.SMS, NoticeChannel.EMAIL})
ROBOT_CHANNELS: Final = frozenset(
    {NoticeChannel.WECOM, NoticeChannel.DINGTALK, NoticeChannel.FEISHU}
)
MEDIA_CHANNELS: Final = frozenset({NoticeChannel.WEIBO, NoticeChannel.BROADCAST})

# Which kind a merged notice reads as: the most urgent of its subjects.
_URGENCY: Final = {NoticeKind.PLANNED: 0, NoticeKind.TEMPORARY: 1, NoticeKind.FAULT: 2}


@dataclass(frozen=True, slots=True)
class NoticeSubject:
    """What a notice is about, at one revision. Times are aware UTC."""

    ref: str  # "planned:12", "outage:5": what the notice is about
    kind: str  # "planned" | "temporary" | "fault"
    action: str  # "new" | "changed" | "cancelled" | "restored"
    revision: int  # increases with every change of the subject
    starts_at: datetime  # UTC
    ends_at: datetime | None  # UTC (for a fault: the estimated restoration, if known)
    element_ids: tuple[str, ...]  # transformer areas and HV customers affected
    villages: tuple[str, ...]
    streets: tuple[str, ...]
    line: str | None  # the feeder / line name people know (not an internal id)
    reason_zh: str
    reason_en: str

    def __post_init__(self) -> None:
        problems = []
        if not self.ref:
            problems.append("ref is empty")
        if self.kind not in NoticeKind.__members__.values():
            problems.append(f"kind {self.kind!r} is not one of {', '.join(NoticeKind)}")
        if self.action not in NoticeAction.__members__.values():
            problems.append(f"action {self.action!r} is not one of {', '.join(NoticeAction)}")
        if self.starts_at.tzinfo is None or (
            self.ends_at is not None and self.ends_at.tzinfo is None
        ):
            problems.append("times must be timezone-aware")
        elif self.ends_at is not None and self.ends_at < self.starts_at:
            problems.append("ends_at is before starts_at")
        if self.revision < 0:
            problems.append("revision is negative")
        if problems:
            raise InputError(f"notice subject {self.ref!r}: {'; '.join(problems)}")


def subject_key(subject: NoticeSubject) -> str:
    """``planned:12@3``: a subject at one revision."""
    return f"{subject.ref}@{subject.revision}"


def is_active(subject: NoticeSubject) -> bool:
    """Whether people are (or will be) off because of it: not cancelled nor restored."""
    return subject.action not in (NoticeAction.CANCELLED, NoticeAction.RESTORED)


def merge_clusters(subjects: Iterable[NoticeSubject]) -> list[tuple[NoticeSubject, ...]]:
    """The active subjects of one area grouped by overlapping (or touching) windows.

    Each cluster is sorted by start (then ref); clusters in time order. O(n log n).

    >>> from datetime import UTC
    >>> def at(h: int) -> datetime:
    ...     return datetime(2026, 12, 11, h, tzinfo=UTC)
    >>> def s(ref: str, a: int, b: int) -> NoticeSubject:
    ...     return NoticeSubject(ref, "planned", "new", 1, at(a), at(b), ("T1",), (), (), None,
    ...                          "", "")
    >>> found = merge_clusters([s("b", 10, 16), s("a", 8, 12), s("c", 17, 18)])
    >>> [[x.ref for x in c] for c in found]
    [['a', 'b'], ['c']]
    """
    active = sorted((s for s in subjects if is_active(s)), key=lambda s: (s.starts_at, s.ref))
    clusters: list[list[NoticeSubject]] = []
    reach: datetime | None = None  # the latest end of the cluster being built; None: open
    for subject in active:
        if clusters and (reach is None or subject.starts_at <= reach):
            clusters[-1].append(subject)
            if reach is not None:
                reach = None if subject.ends_at is None else max(reach, subject.ends_at)
        else:
            clusters.append([subject])
            reach = subject.ends_at
    return [tuple(c) for c in clusters]


@dataclass(frozen=True, slots=True)
class NoticeView:
    """What one message says: one subject, or a merged cluster of them, and how it reads."""

    kind: NoticeKind
    action: NoticeAction
    starts_at: datetime
    ends_at: datetime | None
    lines: tuple[str, ...]
    villages: tuple[str, ...]
    streets: tuple[str, ...]
    reasons_zh: tuple[str, ...]
    reasons_en: tuple[str, ...]
    refs: tuple[str, ...]  # subject_key of each subject covered
    account: str | None = None  # the customer's account, named in personal messages


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def view_of(
    subjects: Sequence[NoticeSubject],
    *,
    action: NoticeAction | None = None,
    account: str | None = None,
) -> NoticeView:
    """One view of ``subjects`` (a cluster, or one subject): the union of their windows and
    names. ``action`` defaults to the action of the only subject (``new`` for a cluster)."""
    if not subjects:
        raise InputError("a notice needs at least one subject")
    kind = max((NoticeKind(s.kind) for s in subjects), key=_URGENCY.__getitem__)
    ends = [s.ends_at for s in subjects]
    if action is None:
        action = NoticeAction(subjects[0].action) if len(subjects) == 1 else NoticeAction.NEW
    return NoticeView(
        kind=kind,
        action=action,
        starts_at=min(s.starts_at for s in subjects),
        ends_at=None if any(e is None for e in ends) else max(e for e in ends if e is not None),
        lines=_unique(s.line or "" for s in subjects),
        villages=_unique(v for s in subjects for v in s.villages),
        streets=_unique(v for s in subjects for v in s.streets),
        reasons_zh=_unique(s.reason_zh for s in subjects),
        reasons_en=_unique(s.reason_en for s in subjects),
        refs=tuple(subject_key(s) for s in subjects),
        account=account,
    )


def quiet_hours_end(
    at: datetime, quiet: tuple[int, int] | None, *, timezone: str
) -> datetime | None:
    """When the quiet hours that ``at`` falls in end (aware UTC), or None outside them.

    ``quiet`` is (start, end) in minutes of the local day; a window that crosses midnight
    (22:00-07:00) holds from the start to the end of the next day; start == end: none.

    >>> from datetime import UTC
    >>> quiet_hours_end(datetime(2026, 12, 10, 15, 30, tzinfo=UTC), (1320, 420),
    ...                 timezone="Asia/Shanghai")  # 23:30 local → 07:00 local = 23:00 UTC
    datetime.datetime(2026, 12, 10, 23, 0, tzinfo=datetime.timezone.utc)
    >>> quiet_hours_end(datetime(2026, 12, 10, 4, 0, tzinfo=UTC), (1320, 420),
    ...                 timezone="Asia/Shanghai") is None  # 12:00 local
    True
    """
    if quiet is None or quiet[0] == quiet[1]:
        return None
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = quiet
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if start < end:
        inside = start <= minute < end
        day = midnight
    else:
        inside = minute >= start or minute < end
        day = midnight + timedelta(days=1) if minute >= start else midnight
    if not inside:
        return None
    ends = datetime(day.year, day.month, day.day, end // 60, end % 60, tzinfo=zone)
    return ends.astimezone(at.tzinfo)
