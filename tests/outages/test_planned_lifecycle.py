"""The planned-outage lifecycle over every pair of states, and the notice lead time.

The lead-time cases are hand-derived around one moment, ``NOW`` = 2026-12-03 10:00 in
Beijing time (UTC+8, no summer time), with the default rules: 8 days of notice, 24 hours for
temporary maintenance to important users.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from openoms.errors import InputError
from openoms.outages.planned import (
    PLANNED_TRANSITIONS,
    IllegalPlannedTransitionError,
    NoticeCheck,
    NoticeTooLateError,
    PlannedState,
    check_notice_lead_time,
    planned_transition,
)
from openoms.settings import Settings
from tests.lifecycle_checks import assert_exhaustive, check_pair, every_pair, without_way_out

P = PlannedState

# The expected table, written out by hand (rows: from; columns: allowed to).
EXPECTED: dict[PlannedState, set[PlannedState]] = {
    P.DRAFT: {P.APPROVED, P.CANCELLED},
    P.APPROVED: {P.NOTIFIED, P.IN_PROGRESS, P.POSTPONED, P.CANCELLED},
    P.NOTIFIED: {P.IN_PROGRESS, P.POSTPONED, P.CANCELLED},
    P.IN_PROGRESS: {P.COMPLETED},
    P.POSTPONED: {P.APPROVED, P.CANCELLED},
    P.COMPLETED: set(),
    P.CANCELLED: set(),
}


@pytest.mark.parametrize(("current", "target"), every_pair(P))
def test_every_pair(current: PlannedState, target: PlannedState) -> None:
    check_pair(
        planned_transition,
        current,
        target,
        EXPECTED,
        refused=IllegalPlannedTransitionError,
        says=f"a planned outage cannot go from {current} to {target}",
    )


def test_the_table_is_the_expected_one() -> None:
    """Every state is reached from draft, none stays put, each reaches completed or
    cancelled, and those two are the only final states."""
    assert_exhaustive(
        PLANNED_TRANSITIONS, EXPECTED, initial={P.DRAFT}, terminal={P.COMPLETED, P.CANCELLED}
    )
    assert without_way_out(PLANNED_TRANSITIONS) == {P.COMPLETED, P.CANCELLED}


def test_a_postponed_outage_is_approved_again_and_runs_to_completion() -> None:
    path = [P.DRAFT, P.APPROVED, P.NOTIFIED, P.POSTPONED, P.APPROVED, P.NOTIFIED]
    path += [P.IN_PROGRESS, P.COMPLETED]
    state = path[0]
    for target in path[1:]:
        state = planned_transition(state, target)
    assert state is P.COMPLETED


def test_work_once_started_is_neither_cancelled_nor_postponed() -> None:
    for target in (P.CANCELLED, P.POSTPONED):
        with pytest.raises(IllegalPlannedTransitionError, match="allowed from in_progress: "):
            planned_transition(P.IN_PROGRESS, target)


SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)


def _check(starts_at: datetime, *, temporary: bool = False, days: int = 8) -> NoticeCheck:
    return check_notice_lead_time(
        starts_at,
        now=NOW,
        notice_days=days,
        temporary_notice_hours=24,
        temporary=temporary,
        zone=SHANGHAI,
    )


def test_a_start_six_days_23_hours_ahead_is_refused_naming_start_deadline_and_rule() -> None:
    # 12-03 10:00 → 12-10 09:00 is 7 days less 1 hour = 6 d 23 h < 8 d. The deadline is the
    # start less 8 days: 12-02 09:00, a day and an hour before now.
    with pytest.raises(NoticeTooLateError) as caught:
        _check(datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI))
    text = str(caught.value)
    assert "停电开始时间 2026-12-10 09:00 距现在仅 6 天 23 小时" in text
    assert "通知截止时间 2026-12-02 09:00 已过" in text
    assert "计划停电须提前 8 天公告（法定至少 7 天）" in text
    assert "The outage starts at 2026-12-10 09:00, only 6 d 23 h from now" in text
    assert "the notice deadline 2026-12-02 09:00 has passed" in text
    assert "must be announced 8 days ahead (statutory minimum 7 days)" in text
    assert text.index("停电") < text.index("The outage")  # zh-CN first
    assert caught.value.deadline == datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
    assert caught.value.rule == "planned"
    assert isinstance(caught.value, InputError)  # the API answers 422


def test_a_start_eight_days_23_hours_ahead_is_accepted() -> None:
    # 12-03 10:00 → 12-12 09:00 is 9 days less 1 hour = 8 d 23 h ≥ 8 d; the notice must go
    # out by 12-12 09:00 less 8 days = 12-04 09:00.
    check = _check(datetime(2026, 12, 12, 9, 0, tzinfo=SHANGHAI))
    assert check == NoticeCheck(
        rule="planned",
        notice=timedelta(days=8),
        lead=timedelta(days=8, hours=23),
        deadline=datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI),
        flagged=False,
    )


def test_exactly_the_notice_is_enough_and_a_minute_less_is_not() -> None:
    # now + 8 d = 12-11 10:00: the deadline is now itself, which has not passed.
    assert _check(datetime(2026, 12, 11, 10, 0, tzinfo=SHANGHAI)).lead == timedelta(days=8)
    with pytest.raises(NoticeTooLateError, match="通知截止时间 2026-12-03 09:59 已过"):
        _check(datetime(2026, 12, 11, 9, 59, tzinfo=SHANGHAI))


def test_the_utility_rule_is_a_setting() -> None:
    # With 10 days, the 8 d 23 h start above is refused; its deadline is 12-12 09:00 less
    # 10 days = 12-02 09:00.
    with pytest.raises(NoticeTooLateError, match="通知截止时间 2026-12-02 09:00 已过"):
        _check(datetime(2026, 12, 12, 9, 0, tzinfo=SHANGHAI), days=10)
    # With the statutory 7 days, the 6 d 23 h start is still an hour short (deadline 12-03
    # 09:00), and 12-10 10:00 (7 d exactly) is accepted.
    with pytest.raises(NoticeTooLateError, match="deadline 2026-12-03 09:00 has passed"):
        _check(datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI), days=7)
    assert not _check(datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI), days=7).flagged


def test_no_rule_below_the_statutory_seven_days() -> None:
    with pytest.raises(InputError, match="statutory minimum is 7 days"):
        _check(datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI), days=6)
    assert Settings().planned_notice_days == 8
    assert Settings().temporary_notice_hours == 24
    assert Settings(planned_notice_days=7).planned_notice_days == 7
    with pytest.raises(ValueError, match="planned_notice_days is 6, below the statutory minimum"):
        Settings(planned_notice_days=6)


def test_temporary_maintenance_with_24_hours_is_accepted_and_flagged() -> None:
    # 6 d 23 h fails the 8-day rule but keeps the 24 h one: accepted as temporary, the
    # deadline being 12-10 09:00 less 24 h = 12-09 09:00.
    check = _check(datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI), temporary=True)
    assert check == NoticeCheck(
        rule="temporary",
        notice=timedelta(hours=24),
        lead=timedelta(days=6, hours=23),
        deadline=datetime(2026, 12, 9, 9, 0, tzinfo=SHANGHAI),
        flagged=True,
    )
    # Exactly 24 h (12-04 10:00) is enough; the flag is only for what needs the short rule.
    assert _check(datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI), temporary=True).flagged
    assert not _check(datetime(2026, 12, 12, 9, 0, tzinfo=SHANGHAI), temporary=True).flagged


def test_temporary_maintenance_under_24_hours_is_refused_naming_the_24_hour_rule() -> None:
    # 12-04 09:59 is 23 h 59 min away (shown as 23 h, minutes dropped); deadline 12-03 09:59.
    with pytest.raises(NoticeTooLateError) as caught:
        _check(datetime(2026, 12, 4, 9, 59, tzinfo=SHANGHAI), temporary=True)
    text = str(caught.value)
    assert "距现在仅 23 小时，通知截止时间 2026-12-03 09:59 已过" in text
    assert "临时检修须提前 24 小时通知重要用户" in text
    assert "temporary maintenance must tell important users 24 h ahead" in text
    assert caught.value.rule == "temporary"


def test_times_are_shown_in_the_zone_given_and_a_past_start_is_called_past() -> None:
    # 12-10 09:00 Beijing time is 12-10 01:00 UTC; its 8-day deadline 12-02 01:00 UTC.
    with pytest.raises(NoticeTooLateError) as caught:
        check_notice_lead_time(
            datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI),
            now=NOW,
            notice_days=8,
            temporary_notice_hours=24,
            zone=ZoneInfo("UTC"),
        )
    assert "starts at 2026-12-10 01:00" in str(caught.value)
    assert "deadline 2026-12-02 01:00" in str(caught.value)
    with pytest.raises(NoticeTooLateError, match="2026-12-03 09:00 已过，") as past:
        _check(datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI), temporary=True)
    assert "already past" in str(past.value)
