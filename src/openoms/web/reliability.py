"""The console's reliability dashboard: SAIFI, SAIDI and RS-1 by month and by feeder, with
and without major event days, as SVG charts with their tables.

- ``/console/reliability?from=YYYY-MM-DD&to=YYYY-MM-DD``: the page (the console's login; no
  data in it);
- ``/console/parts/reliability``: the dashboard (HTML, the API's token, any role).

The figures are the reliability service's (:func:`openoms.service.reliability.
run_reliability`: imported history and outage records, T_MED from the years before, the
configured engine settings), for the period in the utility's zone (default: the year up to
today). "Without major event days" leaves out every interruption that began on a major event
day (IEEE 1366: an interruption belongs to the day it began), then computes the same
breakdowns again; DL/T 836 knows no major event days, so RS-1 without them is given for
comparison only.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from openoms.api.auth import Reader
from openoms.api.deps import ContextDep, SessionDep
from openoms.i18n import Lang
from openoms.reliability.data import Interruptions
from openoms.reliability.indices import ReliabilityResult, compute
from openoms.service.context import ServiceContext
from openoms.service.reliability import (
    ReliabilityRun,
    engine_settings,
    feeder_names,
    parse_period,
    run_reliability,
)
from openoms.web.charts import Series, bar_chart, line_chart, table
from openoms.web.console import CONSOLE_PATH, _lang, _shell
from openoms.web.console_panel import t
from openoms.web.html import Html, join, render
from openoms.web.pages import LangQuery

__all__ = ["Dashboard", "dashboard", "render_dashboard", "router"]

router = APIRouter()

ALL_COLOUR: Final = "#1f5fa8"
EX_COLOUR: Final = "#e8710a"
_NO_MED: Final = 1e12
"""T_MED (minutes) given for the breakdowns without major event days: none is found again."""
_FEEDERS_CHARTED: Final = 20

_TEXTS: Final[dict[str, dict[Lang, str]]] = {
    "title": {Lang.ZH: "供电可靠性", Lang.EN: "Reliability"},
    "period": {Lang.ZH: "统计期间", Lang.EN: "Period"},
    "from": {Lang.ZH: "开始日期", Lang.EN: "From"},
    "to": {Lang.ZH: "结束日期（不含）", Lang.EN: "To (exclusive)"},
    "show": {Lang.ZH: "统计", Lang.EN: "Show"},
    "all": {Lang.ZH: "全部日", Lang.EN: "All days"},
    "ex": {Lang.ZH: "剔除重大事件日", Lang.EN: "Without major event days"},
    "saifi": {Lang.ZH: "SAIFI（次/户）", Lang.EN: "SAIFI (per customer)"},
    "saidi": {Lang.ZH: "SAIDI（分钟/户）", Lang.EN: "SAIDI (minutes per customer)"},
    "rs1": {Lang.ZH: "RS-1 供电可靠率（%）", Lang.EN: "RS-1 (%)"},
    "by_month": {Lang.ZH: "按月", Lang.EN: "by month"},
    "by_feeder": {Lang.ZH: "按线路", Lang.EN: "by feeder"},
    "month": {Lang.ZH: "月份", Lang.EN: "Month"},
    "feeder": {Lang.ZH: "线路", Lang.EN: "Feeder"},
    "substation": {Lang.ZH: "变电站", Lang.EN: "Substation"},
    "system": {Lang.ZH: "全系统", Lang.EN: "System"},
    "index": {Lang.ZH: "指标", Lang.EN: "Index"},
    "med_days": {Lang.ZH: "重大事件日", Lang.EN: "Major event days"},
    "t_med": {Lang.ZH: "T_MED = {t} 分钟/日", Lang.EN: "T_MED = {t} minutes a day"},
    "no_med": {Lang.ZH: "无", Lang.EN: "none"},
    "no_data": {
        Lang.ZH: "本期间没有停电记录或没有用户基数：指标不可计算（不是 0）。",
        Lang.EN: "No interruption record or no customer base in the period: the indices are "
        "not defined (not 0).",
    },
    "chart_desc": {
        Lang.ZH: "柱状图，蓝色为全部日，橙色为剔除重大事件日；数值见下表。",
        Lang.EN: "Bars: blue all days, orange without major event days; the numbers are in "
        "the table below.",
    },
    "line_desc": {
        Lang.ZH: "折线图，蓝色为全部日，橙色为剔除重大事件日；数值见下表。",
        Lang.EN: "Lines: blue all days, orange without major event days; the numbers are in "
        "the table below.",
    },
    "feeders_note": {
        Lang.ZH: "图中为 SAIDI 最高的 {n} 条线路；表中为全部线路。",
        Lang.EN: "The chart shows the {n} feeders with the highest SAIDI; the table all of them.",
    },
    "notes": {Lang.ZH: "说明", Lang.EN: "Notes"},
}


def _t(key: str, lang: Lang, **values: object) -> str:
    text = _TEXTS[key][lang]
    return text.format(**values) if values else text


@dataclasses.dataclass(frozen=True, slots=True)
class Dashboard:
    """The figures the page draws: the run (all days) and the same breakdowns without the
    interruptions that began on a major event day."""

    run: ReliabilityRun
    by_feeder: ReliabilityResult
    month_ex: ReliabilityResult
    feeder_ex: ReliabilityResult


def _without_med_days(interruptions: Interruptions, med_days: set[str], zone: str) -> Interruptions:
    if not med_days or not len(interruptions):
        return interruptions
    tz = ZoneInfo(zone)
    keep = np.array(
        [
            datetime.fromtimestamp(int(s), UTC).astimezone(tz).date().isoformat() not in med_days
            for s in interruptions.start
        ],
        dtype=np.bool_,
    )
    return dataclasses.replace(
        interruptions,
        event=interruptions.event[keep],
        unit=interruptions.unit[keep],
        customers=interruptions.customers[keep],
        start=interruptions.start[keep],
        end=interruptions.end[keep],
        outage_class=interruptions.outage_class[keep],
        cause=interruptions.cause[keep],
        restored_by=interruptions.restored_by[keep],
    )


def dashboard(
    context: ServiceContext,
    session: Session,
    *,
    start: int,
    end: int,
    med_threshold_min: float | None = None,
) -> Dashboard:
    """The reliability figures of [start, end) by month and by feeder, with and without major
    event days (T_MED from the years before, or ``med_threshold_min``)."""
    settings, now = context.settings, context.clock()
    run = run_reliability(
        session, context.network, start=start, end=end, settings=settings, now=now,
        by="month", med_threshold_min=med_threshold_min,
    )  # fmt: skip
    engine = engine_settings(settings)
    interruptions = run.rows.interruptions()
    t_med = run.result.med.t_med_min if run.result.med is not None else None

    def again(rows: Interruptions, by: str, med: float | None) -> ReliabilityResult:
        return compute(
            rows, run.base, start=start, end=end, settings=engine, by=by, med_threshold=med
        )

    by_feeder = again(interruptions, "feeder", t_med)
    ex = _without_med_days(interruptions, set(run.result.med_days), engine.tz)
    return Dashboard(run, by_feeder, again(ex, "month", _NO_MED), again(ex, "feeder", _NO_MED))


def _rows(result: ReliabilityResult, key: str) -> dict[str, dict[str, Any]]:
    if result.breakdown is None:
        return {}
    return {str(row[key]): row for row in result.breakdown.rows()}


def _num(value: object, digits: int) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def _value(row: dict[str, Any] | None, name: str) -> float | None:
    value = None if row is None else row.get(name)
    return float(value) if isinstance(value, int | float) else None


_INDICES: Final = (("saifi", "saifi", 3), ("saidi_min", "saidi", 1), ("rs1_pct", "rs1", 3))


def _section(
    lang: Lang,
    *,
    heading: str,
    labels: list[str],
    keys: list[str],
    rows_all: dict[str, dict[str, Any]],
    rows_ex: dict[str, dict[str, Any]],
    first_col: str,
) -> Html:
    charts = []
    for name, label, _ in _INDICES:
        series = [
            Series(_t("all", lang), [_value(rows_all.get(k), name) for k in keys], ALL_COLOUR),
            Series(_t("ex", lang), [_value(rows_ex.get(k), name) for k in keys], EX_COLOUR),
        ]
        title = f"{_t(label, lang)} · {heading}"
        if name == "rs1_pct":
            chart = line_chart(title, _t("line_desc", lang), labels, series, ceiling=100.0)
        else:
            chart = bar_chart(title, _t("chart_desc", lang), labels, series)
        charts.append(
            render(
                '<figure class="chart-box"><figcaption>$t</figcaption>$c</figure>',
                t=title,
                c=chart,
            )
        )
    head = [first_col]
    for _, label, _ in _INDICES:
        head += [f"{_t(label, lang)} {_t('all', lang)}", f"{_t(label, lang)} {_t('ex', lang)}"]
    rows = [
        [
            labels[i],
            *(
                _num(_value(rows.get(k), name), digits)
                for name, _, digits in _INDICES
                for rows in (rows_all, rows_ex)
            ),
        ]
        for i, k in enumerate(keys)
    ]
    return render(
        '<section class="rel-section" aria-labelledby="$id"><h2 id="$id">$heading</h2>'
        '<div class="charts">$charts</div>$table</section>',
        id="rel-" + ("month" if first_col == _t("month", lang) else "feeder"),
        heading=heading,
        charts=join(charts),
        table=table(heading, head, rows),
    )


def _summary(board: Dashboard, lang: Lang) -> Html:
    result = board.run.result
    rows = []
    for name, label, digits in _INDICES:
        # RS-1 (DL/T 836) has no MED split of its own: the system figure of the rows
        # without major event days.
        ex = (
            board.month_ex.index(name) if name == "rs1_pct" else result.index(name, "excluding_med")
        )
        rows.append([_t(label, lang), _num(result.index(name), digits), _num(ex, digits)])
    med = (
        _t("t_med", lang, t=f"{result.med.t_med_min:.1f}")
        if result.med is not None
        else (result.med_note or "")
    )
    days = "、".join(result.med_days) if lang is Lang.ZH else ", ".join(result.med_days)
    return render(
        "$table<p>$med_label$colon$days</p><p>$med</p>",
        colon="：" if lang is Lang.ZH else ": ",
        table=table(_t("system", lang), [_t("index", lang), _t("all", lang), _t("ex", lang)], rows),
        med_label=_t("med_days", lang),
        days=days or _t("no_med", lang),
        med=med,
    )


def _period_form(lang: Lang, start: str, end: str) -> Html:
    return render(
        '<form class="period" method="get" action="$path">'
        '<label for="rel-from">$from_l</label><input id="rel-from" name="from" type="date"'
        ' value="$start"><label for="rel-to">$to_l</label><input id="rel-to" name="to"'
        ' type="date" value="$end">$lang_field<button type="submit">$show</button></form>',
        path=CONSOLE_PATH + "/reliability",
        from_l=_t("from", lang),
        to_l=_t("to", lang),
        start=start,
        end=end,
        lang_field=Html('<input type="hidden" name="lang" value="en">')
        if lang is Lang.EN
        else Html(""),
        show=_t("show", lang),
    )


def _local_day(second: int, zone: str) -> str:
    return datetime.fromtimestamp(second, UTC).astimezone(ZoneInfo(zone)).date().isoformat()


def render_dashboard(board: Dashboard, context: ServiceContext, lang: Lang) -> Html:
    result = board.run.result
    zone = context.settings.timezone
    start, end = _local_day(result.start, zone), _local_day(result.end, zone)
    month_all = _rows(result, "month")
    month_ex = _rows(board.month_ex, "month")
    months = sorted(set(month_all) | set(month_ex))
    names = feeder_names(context.network)
    feeder_all = _rows(board.by_feeder, "feeder")
    feeder_ex = _rows(board.feeder_ex, "feeder")
    feeders = sorted(
        set(feeder_all) | set(feeder_ex),
        key=lambda f: (-(_value(feeder_all.get(f), "saidi_min") or 0.0), names.get(f, (f,))[0]),
    )
    charted = feeders[:_FEEDERS_CHARTED]
    notes = list(board.run.notes) + ([result.med_caveat] if result.med_caveat else [])
    parts = [
        render(
            '<p class="period-shown">$label$colon$start — $end$zone</p>',
            colon="：" if lang is Lang.ZH else ": ",
            label=_t("period", lang),
            start=start,
            end=end,
            zone=f"（{zone}）" if lang is Lang.ZH else f" ({zone})",
        ),
        _period_form(lang, start, end),
    ]
    if result.no_data:
        parts.append(render('<p class="empty">$t</p>', t=_t("no_data", lang)))
    parts.append(_summary(board, lang))
    parts.append(
        _section(
            lang,
            heading=f"{_t('title', lang)} · {_t('by_month', lang)}",
            labels=months,
            keys=months,
            rows_all=month_all,
            rows_ex=month_ex,
            first_col=_t("month", lang),
        )
    )
    feeder_section = _section(
        lang,
        heading=f"{_t('title', lang)} · {_t('by_feeder', lang)}",
        labels=[names.get(f, (f, ""))[0] for f in charted],
        keys=charted,
        rows_all=feeder_all,
        rows_ex=feeder_ex,
        first_col=_t("feeder", lang),
    )
    parts.append(feeder_section)
    if len(feeders) > len(charted):
        parts.append(render('<p class="note">$t</p>', t=_t("feeders_note", lang, n=len(charted))))
    if notes:
        parts.append(
            render(
                "<h2>$h</h2><ul>$items</ul>",
                h=_t("notes", lang),
                items=join(render("<li>$n</li>", n=n) for n in notes),
            )
        )
    return join(parts)


_PAGE: Final = """<main id="console" class="console rel-page" hidden>
<h2 class="sr-only">$title</h2>
<div id="reliability" class="reliability" aria-live="polite"></div>
</main>"""


@router.get(CONSOLE_PATH + "/reliability", include_in_schema=False)
def reliability_page(context: ContextDep, lang: LangQuery = None) -> HTMLResponse:
    language = _lang(lang)
    return _shell(
        context,
        language,
        path=CONSOLE_PATH + "/reliability",
        view="reliability",
        content=render(_PAGE, title=_t("title", language)),
        title=f"{_t('title', language)} · {t('title', language)}",
    )


@router.get(CONSOLE_PATH + "/parts/reliability", include_in_schema=False)
def reliability_part(
    context: ContextDep,
    session: SessionDep,
    _user: Reader,
    *,
    lang: LangQuery = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    med_threshold_min: Annotated[float | None, Query(gt=0, le=1e9)] = None,
) -> HTMLResponse:
    language = _lang(lang)
    first, stop = parse_period(start, end, tz=context.settings.timezone, now=context.clock())
    board = dashboard(context, session, start=first, end=stop, med_threshold_min=med_threshold_min)
    return HTMLResponse(
        render_dashboard(board, context, language), headers={"Cache-Control": "no-store"}
    )
