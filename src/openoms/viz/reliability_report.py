"""The reliability report: one self-contained HTML page per language with PNG charts.

Charts (matplotlib, Agg): the monthly SAIDI and SAIFI trend with the months that hold major
event days marked and T_MED stated, the worst feeders, the DL/T 836 split of user-hours by
class (fault / planned ...), and the customer-hours kept on by automatic restoration and
live-line work. The PNG files are written beside the HTML and embedded in it (base64), so
the page can be mailed on its own. Chart text is Chinese only when a CJK font is installed;
otherwise the charts fall back to English labels and the Chinese page says so.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openoms.i18n import Lang
from openoms.reliability.indices import ReliabilityResult
from openoms.viz.feeder_map import _cjk_font

__all__ = ["ReportFiles", "write_report"]

_CLASSES = ("fault_internal", "fault_external", "planned", "temporary", "load_limiting")
_T: dict[str, tuple[str, str]] = {
    "title": ("供电可靠性报告", "Reliability report"),
    "period": ("统计期间", "Period"),
    "index": ("指标", "Index"),
    "all": ("全部", "All days"),
    "excl": ("不计重大事件日", "Excluding major event days"),
    "med": ("仅重大事件日", "Major event days only"),
    "tmed": ("重大事件日阈值 T_MED（分钟/日）", "Major event day threshold T_MED (min/day)"),
    "med_days": ("重大事件日", "Major event days"),
    "none": ("无", "none"),
    "trend": ("月度 SAIDI / SAIFI", "Monthly SAIDI and SAIFI"),
    "month": ("月份", "Month"),
    "worst": ("停电最严重的线路", "Worst-served feeders"),
    "feeder": ("线路", "Feeder"),
    "customers": ("用户数", "Customers"),
    "split": ("停电时户数按性质（DL/T 836）", "User-hours by class (DL/T 836)"),
    "class": ("性质", "Class"),
    "user_hours": ("停电时户数", "User-hours off"),
    "saved": ("少停电时户数", "Customer-hours kept on"),
    "automatic": ("自动恢复（FLISR）", "Automatic restoration (FLISR)"),
    "live_line": ("带电作业", "Live-line work"),
    "notes": ("说明", "Notes"),
    "font": (
        "本机未安装中文字体，图中文字以英文显示。",
        "",
    ),
    "fault_internal": ("故障停电-内部", "Fault, internal"),
    "fault_external": ("故障停电-外部", "Fault, external"),
    "planned": ("计划停电", "Planned"),
    "temporary": ("临时停电", "Temporary"),
    "load_limiting": ("限电", "Load limiting"),
}
_INDICES = (
    ("saifi", "SAIFI"),
    ("saidi_min", "SAIDI (min)"),
    ("caidi_min", "CAIDI (min)"),
    ("asai", "ASAI"),
    ("maifi", "MAIFI"),
    ("cemi_n", "CEMIn"),
)
_DLT = (
    ("aihc1_h", "AIHC-1 (h)"),
    ("aihc3_h", "AIHC-3 (h)"),
    ("rs1_pct", "RS-1 (%)"),
    ("rs2_pct", "RS-2 (%)"),
    ("rs3_pct", "RS-3 (%)"),
    ("aitc1", "AITC-1"),
)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path  # the page in the language asked for
    pages: tuple[Path, ...]  # every language's page
    charts: tuple[Path, ...]


def _t(key: str, lang: Lang) -> str:
    zh, en = _T[key]
    return zh if lang is Lang.ZH else en


def fmt(value: Any) -> str:
    """How a number is shown in the report (the test reads it back the same way)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _charts(
    result: ReliabilityResult, monthly: ReliabilityResult, folder: Path, lang: Lang
) -> list[Path]:
    import matplotlib as mpl  # noqa: PLC0415  (heavy; only when a report is asked for)

    mpl.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    font = _cjk_font()
    chart_lang = lang if font is not None else Lang.EN
    if font is not None:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]

    def t(key: str) -> str:
        return _t(key, chart_lang)

    data = result.as_dict()
    rows = (monthly.as_dict()["breakdown"] or {"rows": []})["rows"]
    months = [row["month"] for row in rows]
    med_months = {day[:7] for day in data["med_days"]}
    out = []

    fig, ax = plt.subplots(figsize=(9, 4))
    x = range(len(months))
    ax.bar(x, [row["saidi_min"] for row in rows], color="#4878a8", label="SAIDI (min)")
    ax.set_xticks(list(x), months, rotation=60, fontsize=7)
    ax.set_ylabel("SAIDI (min)")
    other = ax.twinx()
    other.plot(list(x), [row["saifi"] for row in rows], color="#d9682b", marker="o", label="SAIFI")
    other.set_ylabel("SAIFI")
    for i, month in enumerate(months):
        if month in med_months:
            ax.annotate("MED", (i, rows[i]["saidi_min"]), ha="center", va="bottom", color="red")
    med = data["med"]
    tmed = f"T_MED = {med['t_med_min']:.1f} min/day" if med else "T_MED: -"
    ax.set_title(f"{t('trend')} ({tmed})")
    out.append(_save(fig, folder / f"trend-{lang}.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    worst = data["worst_feeders"]
    ax.barh([w["feeder"] for w in worst][::-1], [w["saidi_min"] for w in worst][::-1])
    ax.set_xlabel("SAIDI (min)")
    ax.set_title(t("worst"))
    out.append(_save(fig, folder / f"worst-feeders-{lang}.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    splits = data["dlt836"]["splits"]
    ax.bar([t(c) for c in _CLASSES], [splits[c]["user_hours"] for c in _CLASSES])
    ax.set_ylabel(t("user_hours"))
    ax.set_title(t("split"))
    ax.tick_params(axis="x", labelsize=8)
    out.append(_save(fig, folder / f"split-{lang}.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    saved = data["avoided"]
    ax.bar(
        [t("automatic"), t("live_line")],
        [saved["automatic_customer_hours"], saved["live_line_customer_hours"]],
        color=["#4a9c5d", "#8a6bb0"],
    )
    ax.set_title(t("saved"))
    out.append(_save(fig, folder / f"saved-{lang}.png"))
    plt.close("all")
    return out


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _page(
    result: ReliabilityResult,
    charts: list[Path],
    lang: Lang,
    *,
    notes: tuple[str, ...],
    cjk: bool,
) -> str:
    data = result.as_dict()
    ieee, dlt = data["ieee1366"], data["dlt836"]
    period = data["period"]
    med = data["med"]
    parts = [
        f"<h1>{_t('title', lang)}</h1>",
        f"<p>{_t('period', lang)}: {period['start']} — {period['end']}</p>",
    ]
    if lang is Lang.ZH and not cjk:
        parts.append(f"<p class='note'>{_t('font', lang)}</p>")
    parts.append(
        _table(
            [_t("index", lang), _t("all", lang), _t("excl", lang), _t("med", lang)],
            [
                [label] + [fmt(ieee[days][key]) for days in ("all", "excluding_med", "med")]
                for key, label in _INDICES
            ],
        )
    )
    parts.append(_table(["DL/T 836", ""], [[label, fmt(dlt[key])] for key, label in _DLT]))
    days = ", ".join(data["med_days"]) or _t("none", lang)
    threshold = fmt(med["t_med_min"]) if med else f"— ({html.escape(data['med_note'] or '')})"
    parts.append(
        f"<p id='tmed'>{_t('tmed', lang)}: <b>{threshold}</b>; "
        f"{_t('med_days', lang)}: {html.escape(days)}</p>"
    )
    parts.append(f"<h2>{_t('worst', lang)}</h2>")
    parts.append(
        _table(
            [_t("feeder", lang), _t("customers", lang), "SAIFI", "SAIDI (min)"],
            [
                [w["feeder"], fmt(w["customers"]), fmt(w["saifi"]), fmt(w["saidi_min"])]
                for w in data["worst_feeders"]
            ],
        )
    )
    parts.append(f"<h2>{_t('split', lang)}</h2>")
    splits = dlt["splits"]
    parts.append(
        _table(
            [_t("class", lang), _t("user_hours", lang), "AIHC (h)"],
            [
                [_t(c, lang), fmt(splits[c]["user_hours"]), fmt(splits[c]["aihc_h"])]
                for c in _CLASSES
            ],
        )
    )
    saved = data["avoided"]
    parts.append(f"<h2>{_t('saved', lang)}</h2>")
    parts.append(
        _table(
            ["", _t("saved", lang)],
            [
                [_t("automatic", lang), fmt(saved["automatic_customer_hours"])],
                [_t("live_line", lang), fmt(saved["live_line_customer_hours"])],
            ],
        )
    )
    for chart in charts:
        encoded = base64.b64encode(chart.read_bytes()).decode("ascii")
        parts.append(f"<img alt='{chart.stem}' src='data:image/png;base64,{encoded}'>")
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f"<h2>{_t('notes', lang)}</h2><ul>{items}</ul>")
    style = (
        "body{font-family:sans-serif;max-width:960px;margin:auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px}"
        "td{text-align:right}img{max-width:100%;display:block;margin:1em 0}.note{color:#a33}"
    )
    lang_tag = "zh-CN" if lang is Lang.ZH else "en"
    return (
        f"<!DOCTYPE html><html lang='{lang_tag}'><head><meta charset='utf-8'>"
        f"<title>{_t('title', lang)}</title><style>{style}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def write_report(
    result: ReliabilityResult,
    monthly: ReliabilityResult,
    folder: Path,
    *,
    lang: Lang = Lang.ZH,
    notes: tuple[str, ...] = (),
) -> ReportFiles:
    """Write ``reliability-zh.html`` and ``reliability-en.html`` with their charts into
    ``folder``; ``monthly`` is the same period computed ``by="month"``."""
    folder.mkdir(parents=True, exist_ok=True)
    cjk = _cjk_font() is not None
    pages, charts = [], []
    for page_lang in (Lang.ZH, Lang.EN):
        drawn = _charts(result, monthly, folder, page_lang)
        charts += drawn
        path = folder / f"reliability-{page_lang}.html"
        path.write_text(_page(result, drawn, page_lang, notes=notes, cjk=cjk), encoding="utf-8")
        pages.append(path)
    chosen = pages[0] if lang is Lang.ZH else pages[1]
    return ReportFiles(html=chosen, pages=tuple(pages), charts=tuple(charts))
