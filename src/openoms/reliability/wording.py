"""What a reliability result rests on, said to people in zh-CN and English: the settings that
produced it, the data it counts, the warnings (no data is not perfect reliability), the caveat
of a major-event-day threshold from less than five years, and the per-unit assumption.

Pure text from :meth:`~openoms.reliability.indices.ReliabilityResult.as_dict`, shared by the
command's text output and the report, so both say the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "assumption_text",
    "caveat_text",
    "counts_text",
    "local_period",
    "period_text",
    "settings_text",
    "warning_texts",
]

_ZH = "zh"


def _say(lang: str, zh: str, en: str) -> str:
    return zh if lang == _ZH else en


def local_period(data: dict[str, Any]) -> tuple[str, str, int]:
    """First and last local day of the period (the end is exclusive), and its length in days,
    in the utility's zone (``settings.tz``)."""
    zone = ZoneInfo(data["settings"]["tz"])

    def local(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone)

    first, stop = local(data["period"]["start"]), local(data["period"]["end"])
    last = stop - timedelta(seconds=1)
    days = round((stop - first).total_seconds() / 86_400)
    return first.date().isoformat(), last.date().isoformat(), days


def period_text(data: dict[str, Any], lang: str) -> str:
    """``2024-03-01 — 2024-03-31 (Asia/Shanghai, 31 days)``."""
    first, last, days = local_period(data)
    tz = data["settings"]["tz"]
    zh = f"{first} 至 {last}（{tz}，{days} 天）"
    return _say(lang, zh, f"{first} — {last} ({tz}, {days} days)")


def settings_text(data: dict[str, Any], lang: str) -> str:
    """The engine settings of ``data`` in one sentence."""
    s = data["settings"]
    minutes = s["sustained_threshold_s"] / 60.0
    operator = s["sustained_operator"]
    levels = ",".join(str(n) for n in s["cemi_n"])
    med = data.get("med")
    if med is not None and med.get("alpha") is None:  # given, not computed
        med_zh = f"T_MED 给定 {med['t_med_min']:g} 分钟"
        med_en = f"T_MED given: {med['t_med_min']:g} min"
    else:
        med_zh = f"T_MED 取前 {s['med_history_years']} 年、β 自由度 ddof={s['med_ddof']}"
        med_en = f"T_MED from {s['med_history_years']} years before, β ddof={s['med_ddof']}"
    return _say(
        lang,
        f"设置：停电时间 {operator} {minutes:g} 分钟为持续停电（IEEE 1366）；DL/T 836 不计 ≤ "
        f"{s['short_interruption_s']:g} 秒的停电；{med_zh}；CEMIn n = {levels}；"
        f"CELID {s['celid_threshold_h']:g} 小时；时区 {s['tz']}",
        f"settings: sustained if duration {operator} {minutes:g} min (IEEE 1366); DL/T 836 "
        f"leaves out interruptions ≤ {s['short_interruption_s']:g} s; {med_en}; CEMIn "
        f"n = {levels}; CELID {s['celid_threshold_h']:g} h; time zone {s['tz']}",
    )


def counts_text(data: dict[str, Any], lang: str) -> str:
    """The customer base and how many records, events and customer-minutes the figures count."""
    ieee, dlt, c = data["ieee1366"]["all"], data["dlt836"], data["counts"]
    cmi = ieee["customer_minutes"]
    return _say(
        lang,
        f"用户基数：低压用户 {ieee['customers']:,} 户（IEEE 1366），DL/T 836 用户 "
        f"{dlt['users']:,} 户（台区 / 高压用户）；记录 {c['rows']:,} 行，"
        f"停电事件 {c['events']:,} 次（持续 {c['sustained_events']:,}，"
        f"仅瞬时 {c['momentary_only_events']:,}），涉及 "
        f"{c['units_interrupted']:,} 个台区 / 高压用户；持续停电用户·分钟 {cmi:,.0f}",
        f"customer base: {ieee['customers']:,} LV customers (IEEE 1366), {dlt['users']:,} DL/T 836 "
        f"users (transformer areas / HV customers); {c['rows']:,} records, {c['events']:,} events "
        f"({c['sustained_events']:,} sustained, {c['momentary_only_events']:,} momentary only) "
        f"on {c['units_interrupted']:,} units; {cmi:,.0f} sustained customer-minutes",
    )


def warning_texts(data: dict[str, Any], lang: str) -> list[str]:
    """Why the indices are null: no customer base, no record in the period."""
    out = []
    if data["ieee1366"]["all"]["customers"] <= 0:
        out.append(
            _say(
                lang,
                "无用户基数（没有有用户的台区或高压用户），各项指标无法计算（为空，不是 0）",
                "no customer base (no transformer area or HV customer with customers): no "
                "index can be computed (null, not 0)",
            )
        )
    if data["counts"]["rows"] == 0:
        out.append(
            _say(
                lang,
                "本期间没有停电记录：无法区分“没有停电”和“没有数据”，各项指标为空，"
                "而不是 SAIFI 0、RS-1 100 %",
                "no interruption records in the period: a period without data cannot be told "
                "from a perfect one, so the indices are null, not SAIFI 0 and RS-1 100 %",
            )
        )
    return out


def caveat_text(data: dict[str, Any], lang: str) -> str | None:
    """The caveat of a T_MED from less than five years of history (IEEE 1366-2012 4.5)."""
    if data.get("med_caveat") is None or data.get("med") is None:
        return None
    med, years = data["med"], data["med"]["history_years"]
    return _say(
        lang,
        f"重大事件日阈值仅依据 {med['n_days']} 个 SAIDI > 0 的日子、{years:.2f} 年的历史"
        f"（最多回看 {data['settings']['med_history_years']} 年；IEEE 1366 4.5 用 5 年），"
        "重大事件日为暂定",
        f"T_MED rests on {med['n_days']} day(s) with SAIDI > 0 over {years:.2f} year(s) of "
        f"history (looking back at most {data['settings']['med_history_years']}; IEEE 1366 4.5 "
        "uses five years): the major event days are provisional",
    )


def assumption_text(lang: str) -> str:
    """How customers of a unit are counted once (CN, CEMIn …)."""
    return _say(
        lang,
        "CN、CAIFI、CTAIDI、CEMIn、CELID 按台区估算：历史只记录每次停电影响台区内多少户、"
        "不记录哪几户，按“各次停电尽量影响同一批用户”计（CN 取单次最多户数，CEMIn 取第 n+1 "
        "大的一次，恒有 CEMIn ≤ CN / N_T）；整台区停电时为精确值",
        "CN, CAIFI, CTAIDI, CEMIn and CELID are estimated per unit: the history gives how many "
        "of a unit's customers each event hit, not which, so the events are taken to hit the "
        "same customers as far as possible (CN = the most in one event, CEMIn = the (n+1)-th "
        "largest event, so CEMIn ≤ CN / N_T); exact when events take whole units",
    )
