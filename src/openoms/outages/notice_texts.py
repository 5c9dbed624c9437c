"""The templates of customer notices: one text per channel, in zh-CN and English.

:func:`render_notice` turns a :class:`~openoms.outages.notices.NoticeView` into the title
and body of one channel: ``sms`` (short, signed 【…】 as carriers require), ``email``
(subject and body), the group robots (``wecom`` / ``dingtalk`` markdown, ``feishu`` plain
text), ``weibo`` (a post of at most 140 characters: the lists of places are shortened to
fit) and ``broadcast`` (a TV / radio announcement). Times are shown in the utility's zone;
only names people know appear (villages, streets, the line), never internal ids. A
correction (``changed``) says it replaces the earlier notice; a cancellation says the
outage will not happen. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from openoms.i18n import Lang, join_list
from openoms.outages.notices import NoticeAction, NoticeChannel, NoticeKind, NoticeView

__all__ = ["WEIBO_MAX_CHARS", "RenderOptions", "Rendered", "lang_of", "render_notice"]

WEIBO_MAX_CHARS: Final = 140

_A, _K = NoticeAction, NoticeKind

_LABELS: Final[dict[tuple[NoticeKind, NoticeAction], tuple[str, str]]] = {
    (_K.PLANNED, _A.NEW): ("停电通知", "Planned power outage"),
    (_K.PLANNED, _A.CHANGED): ("停电通知（更正）", "Planned outage: correction"),
    (_K.PLANNED, _A.CANCELLED): ("停电取消通知", "Planned outage cancelled"),
    (_K.PLANNED, _A.RESTORED): ("恢复供电通知", "Power restored"),
    (_K.TEMPORARY, _A.NEW): ("临时停电通知", "Temporary power outage"),
    (_K.TEMPORARY, _A.CHANGED): ("临时停电通知（更正）", "Temporary outage: correction"),
    (_K.TEMPORARY, _A.CANCELLED): ("临时停电取消通知", "Temporary outage cancelled"),
    (_K.TEMPORARY, _A.RESTORED): ("恢复供电通知", "Power restored"),
    (_K.FAULT, _A.NEW): ("故障停电通知", "Power cut (fault)"),
    (_K.FAULT, _A.CHANGED): ("故障停电通知（更新）", "Power cut (fault): update"),
    (_K.FAULT, _A.CANCELLED): ("故障停电通知（撤回）", "Power cut notice withdrawn"),
    (_K.FAULT, _A.RESTORED): ("恢复供电通知", "Power restored"),
}


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How notices are signed and where times are shown (from the settings)."""

    timezone: str = "Asia/Shanghai"
    signature_zh: str = "供电公司"
    signature_en: str = "Power Supply Company"
    hotline: str = "95598"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One channel's text: ``title`` (e-mail subject, robot title; may be empty) and body."""

    title: str
    body: str


def lang_of(value: str) -> Lang:
    """``zh-CN`` / ``zh`` → Chinese, ``en`` → English."""
    return Lang.EN if value.lower().startswith("en") else Lang.ZH


def _time(at: datetime, zone: ZoneInfo, lang: Lang, *, date: bool = True) -> str:
    local = at.astimezone(zone)
    if lang is Lang.ZH:
        return f"{local.month}月{local.day}日{local:%H:%M}" if date else f"{local:%H:%M}"
    return f"{local.day} {local:%b} {local:%H:%M}" if date else f"{local:%H:%M}"


def _window(view: NoticeView, zone: ZoneInfo, lang: Lang) -> str:
    start = _time(view.starts_at, zone, lang)
    if view.ends_at is None:
        return f"{start}起" if lang is Lang.ZH else f"from {start}"
    same_day = view.starts_at.astimezone(zone).date() == view.ends_at.astimezone(zone).date()
    end = _time(view.ends_at, zone, lang, date=not same_day)
    return f"{start}至{end}" if lang is Lang.ZH else f"{start} to {end}"


def _names(items: Sequence[str], lang: Lang, limit: int | None) -> str:
    if limit is None or len(items) <= limit:
        return join_list(list(items), lang)
    shown = join_list(list(items[:limit]), lang)
    rest = len(items) - limit
    return f"{shown}等{len(items)}处" if lang is Lang.ZH else f"{shown} and {rest} more"


def _area(view: NoticeView, lang: Lang, limit: int | None = None) -> str:
    places = _names(view.villages, lang, limit)
    streets = _names(view.streets, lang, limit)
    if places and streets:
        return f"{places}（{streets}）" if lang is Lang.ZH else f"{places} ({streets})"
    if places or streets:
        return places or streets
    if view.lines:
        line = join_list(list(view.lines), lang)
        return f"{line}供电范围" if lang is Lang.ZH else f"the area supplied by {line}"
    return "相关区域" if lang is Lang.ZH else "the areas concerned"


def _line(view: NoticeView, lang: Lang) -> str:
    return join_list(list(view.lines), lang)


def _reason(view: NoticeView, lang: Lang) -> str:
    reasons = view.reasons_zh if lang is Lang.ZH else view.reasons_en
    return ("；" if lang is Lang.ZH else "; ").join(reasons)


def _eta(view: NoticeView, zone: ZoneInfo, lang: Lang) -> str:
    if view.ends_at is None:
        return "恢复时间待定" if lang is Lang.ZH else "restoration time not yet known"
    at = _time(view.ends_at, zone, lang)
    return f"预计{at}恢复供电" if lang is Lang.ZH else f"expected back by {at}"


def _sentence(view: NoticeView, zone: ZoneInfo, lang: Lang, *, limit: int | None) -> str:
    """The one sentence every channel says: what, when, where, why."""
    area = _area(view, lang, limit)
    line = _line(view, lang)
    reason = _reason(view, lang)
    when = _window(view, zone, lang)
    if lang is Lang.ZH:
        on_line = line if line.endswith(("线", "线路")) else f"{line}线路" if line else ""
        because = f"因{reason}，" if reason else ""
        if view.action is _A.CANCELLED:
            return f"原定于{when}的{on_line}停电已取消，届时{area}正常供电。"
        if view.action is _A.RESTORED:
            back = _time(view.ends_at or view.starts_at, zone, lang)
            return f"{area}已于{back}恢复供电，感谢您的理解与支持。"
        if view.kind is _K.FAULT:
            text = (
                f"{on_line}发生故障，{area}自{_time(view.starts_at, zone, lang)}起停电，"
                f"抢修人员正在处理，{_eta(view, zone, lang)}。"
            )
        else:
            text = f"{because}定于{when}对{on_line or '相关线路'}停电作业，停电范围：{area}。"
        if view.action is _A.CHANGED:
            text = f"原停电通知有变更，现更正为：{text}原通知作废，以本通知为准。"
        return text
    on_line = f" on {line}" if line else ""
    because = f" for {reason}" if reason else ""
    if view.action is _A.CANCELLED:
        return f"The power outage{on_line} planned for {when} is cancelled; {area} stays on supply."
    if view.action is _A.RESTORED:
        back = _time(view.ends_at or view.starts_at, zone, lang)
        return f"Power is back in {area} since {back}. Thank you for your patience."
    if view.kind is _K.FAULT:
        text = (
            f"A fault{on_line} has cut the power in {area} since "
            f"{_time(view.starts_at, zone, lang)}; crews are working on it, "
            f"{_eta(view, zone, lang)}."
        )
    else:
        text = f"Power will be off{on_line} {when}{because}. Area: {area}."
    if view.action is _A.CHANGED:
        text = f"Correction: {text} This replaces the earlier notice."
    return text


def _label(view: NoticeView, lang: Lang) -> str:
    zh, en = _LABELS[(view.kind, view.action)]
    return zh if lang is Lang.ZH else en


def render_notice(
    view: NoticeView, channel: NoticeChannel, *, lang: Lang, options: RenderOptions
) -> Rendered:
    """The text of ``view`` on ``channel`` in ``lang``."""
    zone = ZoneInfo(options.timezone)
    zh = lang is Lang.ZH
    label = _label(view, lang)
    signature = options.signature_zh if zh else options.signature_en
    greet = ""
    if view.account:
        greet = f"尊敬的客户（户号{view.account}）：" if zh else f"Dear customer ({view.account}): "
    hotline = f"如有疑问请拨打{options.hotline}。" if zh else f"Questions: call {options.hotline}."
    if channel is NoticeChannel.SMS:
        head = f"【{signature}】{label}：" if zh else f"[{signature}] {label}: "
        gap = "" if zh else " "
        text = f"{head}{greet}{_sentence(view, zone, lang, limit=5)}{gap}{hotline}"
        return Rendered("", text)
    if channel is NoticeChannel.WEIBO:
        return Rendered("", _weibo(view, zone, lang, label))
    if channel is NoticeChannel.BROADCAST:
        sentence = _sentence(view, zone, lang, limit=None)
        if zh:
            body = (
                f"各位听众、观众：{signature}{label}。{sentence}请相关用户提前做好准备。{hotline}"
            )
        else:
            body = f"Announcement from {signature}, {label.lower()}. {sentence} {hotline}"
        return Rendered(label, body)
    title = (
        f"{label}：{_window(view, zone, lang)}" if zh else f"{label}: {_window(view, zone, lang)}"
    )
    facts = _facts(view, zone, lang)
    sentence = _sentence(view, zone, lang, limit=None)
    if channel is NoticeChannel.EMAIL:
        lines = [greet.rstrip() or ("尊敬的客户：" if zh else "Dear customer,"), "", sentence, ""]
        lines += [f"{k}：{v}" if zh else f"{k}: {v}" for k, v in facts]
        lines += ["", hotline, signature]
        return Rendered(title, "\n".join(lines))
    if channel is NoticeChannel.FEISHU:
        lines = [f"【{signature}】{label}" if zh else f"[{signature}] {label}", sentence]
        lines += [f"{k}：{v}" if zh else f"{k}: {v}" for k, v in facts]
        return Rendered(title, "\n".join(lines))
    # WeCom and DingTalk robots: markdown
    lines = [f"### {label}", sentence, ""]
    lines += [f"> **{k}**：{v}" if zh else f"> **{k}**: {v}" for k, v in facts]
    lines += ["", f"{signature}"]
    return Rendered(title, "\n".join(lines))


def _facts(view: NoticeView, zone: ZoneInfo, lang: Lang) -> list[tuple[str, str]]:
    zh = lang is Lang.ZH
    facts = [("停电时间" if zh else "When", _window(view, zone, lang))]
    if view.lines:
        facts.append(("线路" if zh else "Line", _line(view, lang)))
    facts.append(("范围" if zh else "Area", _area(view, lang)))
    if view.kind is _K.FAULT and view.action in (_A.NEW, _A.CHANGED):
        facts.append(("预计恢复" if zh else "Expected back", _eta(view, zone, lang)))
    elif _reason(view, lang):
        facts.append(("原因" if zh else "Reason", _reason(view, lang)))
    return facts


def _weibo(view: NoticeView, zone: ZoneInfo, lang: Lang, label: str) -> str:
    """At most 140 characters where possible: fewer places named until it fits."""
    tag = f"#{label}# "
    most = max(len(view.villages), len(view.streets), 1)
    text = ""
    for limit in (None, *range(most - 1, 0, -1)):
        text = tag + _sentence(view, zone, lang, limit=limit)
        if len(text) <= WEIBO_MAX_CHARS:
            return text
    return text
