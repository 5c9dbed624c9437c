"""The notice as a value: the merge rule of overlapping subjects, and the templates of every
channel (zh-CN and English, local time, corrections and cancellations read as such)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openoms.errors import InputError
from openoms.i18n import Lang
from openoms.outages.notice_texts import WEIBO_MAX_CHARS, RenderOptions, render_notice
from openoms.outages.notices import (
    NoticeAction,
    NoticeChannel,
    NoticeSubject,
    merge_clusters,
    quiet_hours_end,
    view_of,
)

DAY = datetime(2026, 12, 11, tzinfo=UTC)  # 08:00 on 11 December in Asia/Shanghai
OPTIONS = RenderOptions(timezone="Asia/Shanghai", signature_zh="城关供电公司")


def subject(
    ref: str,
    start_h: float,
    end_h: float | None,
    *,
    action: str = "new",
    kind: str = "planned",
    villages: tuple[str, ...] = ("王庄村",),
    line: str | None = "10kV城关线",
) -> NoticeSubject:
    """A subject on TA1 from ``start_h`` to ``end_h`` hours after 00:00 UTC on 11 December."""
    return NoticeSubject(
        ref=ref,
        kind=kind,
        action=action,
        revision=1,
        starts_at=DAY + timedelta(hours=start_h),
        ends_at=None if end_h is None else DAY + timedelta(hours=end_h),
        element_ids=("TA1",),
        villages=villages,
        streets=("幸福路",),
        line=line,
        reason_zh="线路检修",
        reason_en="line maintenance",
    )


def refs(clusters: list[tuple[NoticeSubject, ...]]) -> list[list[str]]:
    return [[s.ref for s in c] for c in clusters]


class TestMergeRule:
    def test_overlapping_windows_merge_and_a_gap_separates(self) -> None:
        # a 0-4 h and b 2-8 h overlap; c 8-10 h touches b's end (one outage to the people
        # there); d 11-12 h starts after a one-hour gap: a notice of its own.
        found = merge_clusters(
            [subject("d", 11, 12), subject("c", 8, 10), subject("b", 2, 8), subject("a", 0, 4)]
        )
        assert refs(found) == [["a", "b", "c"], ["d"]]

    def test_overlap_is_transitive_through_a_long_window(self) -> None:
        # a 0-10 h covers b 1-2 h and c 9-11 h, though b and c do not overlap each other.
        found = merge_clusters([subject("c", 9, 11), subject("b", 1, 2), subject("a", 0, 10)])
        assert refs(found) == [["a", "b", "c"]]

    def test_a_window_without_an_end_takes_everything_after_its_start(self) -> None:
        found = merge_clusters(
            [subject("late", 30, 31), subject("open", 5, None), subject("x", 0, 1)]
        )
        assert refs(found) == [["x"], ["open", "late"]]

    def test_cancelled_and_restored_subjects_take_no_part(self) -> None:
        found = merge_clusters(
            [
                subject("a", 0, 4),
                subject("b", 2, 8, action="cancelled"),
                subject("c", 3, 5, action="restored"),
            ]
        )
        assert refs(found) == [["a"]]

    def test_the_merged_view_is_the_union(self) -> None:
        a = subject("a", 0, 4, villages=("王庄村", "李村"))
        b = subject("b", 2, 8, villages=("李村", "张营"), line="10kV甲Ⅰ线")
        view = view_of([a, b])
        assert view.starts_at == DAY
        assert view.ends_at == DAY + timedelta(hours=8)
        assert view.villages == ("王庄村", "李村", "张营")  # each once, in order
        assert view.lines == ("10kV城关线", "10kV甲Ⅰ线")
        assert view.reasons_zh == ("线路检修",)
        assert view.refs == ("a@1", "b@1")
        assert view.action is NoticeAction.NEW
        assert view_of([a, subject("open", 3, None)]).ends_at is None

    def test_a_fault_makes_the_merged_notice_a_fault_notice(self) -> None:
        view = view_of([subject("a", 0, 4), subject("f", 1, 2, kind="fault")])
        assert view.kind == "fault"

    def test_a_bad_subject_is_refused_with_its_ref(self) -> None:
        with pytest.raises(InputError, match="'x': kind 'storm' is not one of"):
            subject("x", 0, 1, kind="storm")
        with pytest.raises(InputError, match="ends_at is before starts_at"):
            subject("x", 2, 1)


def text(
    view_subjects: list[NoticeSubject], channel: NoticeChannel, lang: Lang, **kw: object
) -> str:
    view = view_of(view_subjects, **kw)  # type: ignore[arg-type]
    rendered = render_notice(view, channel, lang=lang, options=OPTIONS)
    return f"{rendered.title}\n{rendered.body}"


class TestTemplates:
    def test_sms_in_chinese_shows_local_time_and_names(self) -> None:
        # 00:00-10:00 UTC is 08:00-18:00 in Asia/Shanghai (UTC+8), the same day.
        body = text([subject("a", 0, 10)], NoticeChannel.SMS, Lang.ZH, account="1001")
        assert body.strip() == (
            "【城关供电公司】停电通知：尊敬的客户（户号1001）：因线路检修，定于12月11日08:00至"
            "18:00对10kV城关线停电作业，停电范围：王庄村（幸福路）。如有疑问请拨打95598。"
        )
        assert "TA1" not in body  # never an internal id

    def test_sms_in_english(self) -> None:
        body = text([subject("a", 0, 10)], NoticeChannel.SMS, Lang.EN)
        assert "11 Dec 08:00 to 18:00" in body
        assert "for line maintenance" in body
        assert body.strip().startswith("[Power Supply Company] Planned power outage:")

    def test_a_window_over_midnight_names_both_days(self) -> None:
        # 14:00 UTC on the 11th to 02:00 UTC on the 12th: 22:00 on the 11th to 10:00 on the 12th.
        body = text([subject("a", 14, 26)], NoticeChannel.EMAIL, Lang.ZH)
        assert "12月11日22:00至12月12日10:00" in body

    def test_a_correction_reads_as_one(self) -> None:
        zh = text([subject("a", 0, 10)], NoticeChannel.SMS, Lang.ZH, action=NoticeAction.CHANGED)
        assert "停电通知（更正）" in zh
        assert "原通知作废，以本通知为准" in zh
        en = text([subject("a", 0, 10)], NoticeChannel.SMS, Lang.EN, action=NoticeAction.CHANGED)
        assert "Correction:" in en
        assert "This replaces the earlier notice." in en

    def test_a_cancellation_reads_as_one(self) -> None:
        cancelled = subject("a", 0, 10, action="cancelled")
        zh = text([cancelled], NoticeChannel.SMS, Lang.ZH)
        assert "停电取消通知" in zh
        assert "原定于12月11日08:00至18:00的10kV城关线停电已取消" in zh
        en = text([cancelled], NoticeChannel.BROADCAST, Lang.EN)
        assert "planned for 11 Dec 08:00 to 18:00 is cancelled" in en

    def test_a_fault_notice_gives_the_expected_restoration(self) -> None:
        known = text([subject("f", 0, 3, kind="fault")], NoticeChannel.SMS, Lang.ZH)
        assert "故障停电通知" in known
        assert "预计12月11日11:00恢复供电" in known
        unknown = text([subject("f", 0, None, kind="fault")], NoticeChannel.SMS, Lang.EN)
        assert "restoration time not yet known" in unknown

    def test_restored(self) -> None:
        body = text(
            [subject("f", 0, 3, kind="fault", action="restored")], NoticeChannel.SMS, Lang.ZH
        )
        assert "王庄村（幸福路）已于12月11日11:00恢复供电" in body

    def test_email_has_a_subject_and_the_facts(self) -> None:
        view = view_of([subject("a", 0, 10)], account="1001")
        mail = render_notice(view, NoticeChannel.EMAIL, lang=Lang.ZH, options=OPTIONS)
        assert mail.title == "停电通知：12月11日08:00至18:00"
        assert "线路：10kV城关线" in mail.body
        assert "原因：线路检修" in mail.body

    def test_robot_markdown_and_feishu_text(self) -> None:
        view = view_of([subject("a", 0, 10)])
        md = render_notice(view, NoticeChannel.WECOM, lang=Lang.ZH, options=OPTIONS).body
        assert md.startswith("### 停电通知\n")
        assert "> **范围**：王庄村（幸福路）" in md
        plain = render_notice(view, NoticeChannel.FEISHU, lang=Lang.ZH, options=OPTIONS).body
        assert "**" not in plain
        assert "#" not in plain

    def test_weibo_fits_140_characters_by_naming_fewer_places(self) -> None:
        many = tuple(f"第{i:02d}村" for i in range(1, 31))
        post = text([subject("a", 0, 10, villages=many)], NoticeChannel.WEIBO, Lang.ZH).strip()
        assert len(post) <= WEIBO_MAX_CHARS
        assert post.startswith("#停电通知# ")
        assert "第01村" in post
        assert "等30处" in post  # the rest counted, not dropped silently

    def test_broadcast_announcement(self) -> None:
        body = text([subject("a", 0, 10)], NoticeChannel.BROADCAST, Lang.ZH)
        assert "各位听众、观众：城关供电公司停电通知。" in body


class TestQuietHours:
    QUIET = (22 * 60, 7 * 60)  # 22:00-07:00 local

    def test_inside_before_midnight_ends_next_morning(self) -> None:
        # 15:30 UTC = 23:30 local on the 11th; quiet until 07:00 local on the 12th = 23:00 UTC.
        at = DAY + timedelta(hours=15, minutes=30)
        assert quiet_hours_end(at, self.QUIET, timezone="Asia/Shanghai") == DAY + timedelta(
            hours=23
        )

    def test_inside_after_midnight_ends_the_same_morning(self) -> None:
        # 20:00 UTC = 04:00 local on the 12th; quiet until 07:00 local = 23:00 UTC on the 11th.
        at = DAY + timedelta(hours=20)
        assert quiet_hours_end(at, self.QUIET, timezone="Asia/Shanghai") == DAY + timedelta(
            hours=23
        )

    def test_the_boundaries(self) -> None:
        # 14:00 UTC = 22:00 local: quiet starts; 23:00 UTC = 07:00 local: quiet is over.
        assert quiet_hours_end(DAY + timedelta(hours=14), self.QUIET, timezone="Asia/Shanghai")
        assert (
            quiet_hours_end(DAY + timedelta(hours=23), self.QUIET, timezone="Asia/Shanghai") is None
        )
        assert (
            quiet_hours_end(
                DAY + timedelta(hours=13, minutes=59), self.QUIET, timezone="Asia/Shanghai"
            )
            is None
        )

    def test_none_or_empty_windows(self) -> None:
        assert quiet_hours_end(DAY, None, timezone="Asia/Shanghai") is None
        assert quiet_hours_end(DAY, (60, 60), timezone="Asia/Shanghai") is None
