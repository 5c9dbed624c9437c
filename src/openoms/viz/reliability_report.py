"""The reliability report: one self-contained HTML page per language with PNG charts.

What an engineer reads off it: the period in the utility's zone; the settings that produced
the figures, the customer base (LV customers for IEEE 1366, users = transformer areas and HV
customers for DL/T 836), the records, events and customer-minutes the figures count; the
indices rounded as they are read (SAIDI 241.0 min, SAIFI 2.345, RS-1 99.959 %); the same dates
a year before and the targets (settings ``reliability_target_*``); the worst feeders by name
with their substation; the DL/T 836 split by class and the customer-hours kept on. A period
without data says so instead of showing perfect figures, and a T_MED from less than five years
of history carries its caveat.

Charts (matplotlib, Agg): the monthly SAIDI and SAIFI trend with the months that hold major
event days marked and T_MED stated, the worst feeders, the DL/T 836 user-hours by class, and
the customer-hours kept on; each names its base (per LV customer, or per user). The PNG files
are written beside the HTML and embedded in it (base64), so the page can be mailed on its own.
The Chinese charts are drawn in Chinese with the bundled font ``data/fonts/OpenOMSSansSC.ttf``
(a subset of WenQuanYi Micro Hei, Apache-2.0: GB 2312 level 1 hanzi, ASCII and the report's
own text; see ``data/fonts/README.md``), so they do not depend on the fonts installed.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openoms.i18n import Lang
from openoms.reliability.indices import ReliabilityResult
from openoms.reliability.wording import (
    assumption_text,
    caveat_text,
    counts_text,
    period_text,
    settings_text,
    warning_texts,
)

__all__ = ["FONT_FAMILY", "FONT_PATH", "ReportFiles", "fmt", "write_report"]

FONT_PATH = Path(__file__).resolve().parents[1] / "data" / "fonts" / "OpenOMSSansSC.ttf"
FONT_FAMILY = "OpenOMS Sans SC"

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
    "trend": ("月度 SAIDI / SAIFI（按低压用户，IEEE 1366）", "Monthly SAIDI and SAIFI"),
    "trend_base": ("每低压用户", "per LV customer, IEEE 1366"),
    "month": ("月份", "Month"),
    "worst": ("停电最严重的线路（按低压用户）", "Worst-served feeders (per LV customer)"),
    "feeder": ("线路", "Feeder"),
    "substation": ("变电站", "Substation"),
    "customers": ("低压用户数", "LV customers"),
    "split": (
        "停电时户数按性质（DL/T 836，用户 = 台区 / 高压用户）",
        "User-hours by class (DL/T 836, user = transformer area / HV customer)",
    ),
    "class": ("性质", "Class"),
    "user_hours": ("停电时户数（用户·小时）", "User-hours off"),
    "saved": ("少停电时户数（低压用户·小时）", "Customer-hours kept on (LV customers)"),
    "automatic": ("自动恢复（FLISR）", "Automatic restoration (FLISR)"),
    "live_line": ("带电作业", "Live-line work"),
    "notes": ("说明", "Notes"),
    "base": ("统计基数与数据", "Customer base and data"),
    "lv_customers": ("低压用户（IEEE 1366）", "LV customers (IEEE 1366)"),
    "users": ("用户（DL/T 836：台区 / 高压用户）", "Users (DL/T 836: TAs / HV customers)"),
    "records": ("停电记录（行）", "Interruption records (rows)"),
    "events": ("停电事件", "Interruption events"),
    "sustained_events": ("其中持续停电事件", "of which sustained"),
    "momentary_events": ("其中仅瞬时停电事件", "of which momentary only"),
    "units_off": ("停电台区 / 高压用户", "Units interrupted"),
    "cmi": ("持续停电用户·分钟", "Sustained customer-minutes"),
    "uh_total": ("停电时户数（DL/T 836）", "User-hours off (DL/T 836)"),
    "compare": ("同比与目标", "Year on year and targets"),
    "this": ("本期", "This period"),
    "previous": ("去年同期", "Same period last year"),
    "change": ("变化", "Change"),
    "target": ("目标", "Target"),
    "met": ("达标", "Met"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "warnings": ("注意", "Warning"),
    "fault_internal": ("故障停电-内部", "Fault, internal"),
    "fault_external": ("故障停电-外部", "Fault, external"),
    "planned": ("计划停电", "Planned"),
    "temporary": ("临时停电", "Temporary"),
    "load_limiting": ("限电", "Load limiting"),
}
# (key, label zh, label en): every label names its base
_INDICES = (
    ("saifi", "SAIFI（次/低压户）", "SAIFI (per LV customer)"),
    ("saidi_min", "SAIDI（分钟/低压户）", "SAIDI (min per LV customer)"),
    ("caidi_min", "CAIDI（分钟）", "CAIDI (min)"),
    ("asai", "ASAI", "ASAI"),
    ("maifi", "MAIFI（次/低压户）", "MAIFI (per LV customer)"),
    ("maifie", "MAIFIe（次/低压户）", "MAIFIe (per LV customer)"),
    ("cemi_n", "CEMIn（低压户比例）", "CEMIn (share of LV customers)"),
)
_DLT = (
    ("aihc1_h", "AIHC-1（小时/户）", "AIHC-1 (h per user)"),
    ("aihc3_h", "AIHC-3（小时/户）", "AIHC-3 (h per user)"),
    ("rs1_pct", "RS-1（%）", "RS-1 (%)"),
    ("rs2_pct", "RS-2（%）", "RS-2 (%)"),
    ("rs3_pct", "RS-3（%）", "RS-3 (%)"),
    ("aitc1", "AITC-1（次/户）", "AITC-1 (per user)"),
)
_COMPARED = ("saifi", "saidi_min", "maifi", "aihc1_h", "rs1_pct")
_LOWER_IS_BETTER = {"saifi", "saidi_min", "maifi", "aihc1_h"}

_DECIMALS = {
    "saidi_min": 1,
    "caidi_min": 1,
    "ctaidi_min": 1,
    "asidi_min": 1,
    "t_med_min": 1,
    "asai": 6,
    "aihc1_h": 2,
    "aihc2_h": 2,
    "aihc3_h": 2,
    "aihc_h": 2,
    "rs1_pct": 3,
    "rs2_pct": 3,
    "rs3_pct": 3,
    "user_hours": 1,
    "customer_hours": 1,
}
"""Decimals as engineers read each figure; indices not named here (SAIFI, MAIFI, CEMIn,
AITC …) take 3."""


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path  # the page in the language asked for
    pages: tuple[Path, ...]  # every language's page
    charts: tuple[Path, ...]


def _t(key: str, lang: Lang) -> str:
    zh, en = _T[key]
    return zh if lang is Lang.ZH else en


def fmt(value: Any, key: str = "") -> str:
    """How a figure is shown in the report: ``None`` as —, whole numbers with thousands
    separators, indices rounded by :data:`_DECIMALS` (3 decimals otherwise)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    decimals = _DECIMALS.get(key, 3)
    return f"{value:,.{decimals}f}"


def _label(entry: tuple[str, str, str], lang: Lang) -> str:
    return entry[1] if lang is Lang.ZH else entry[2]


def _feeder_label(
    feeder: str, substation: str | None, names: Mapping[str, tuple[str, str]]
) -> tuple[str, str]:
    if feeder in names:
        return names[feeder]
    return feeder, substation or "—"


def _charts(
    result: ReliabilityResult,
    monthly: ReliabilityResult,
    folder: Path,
    lang: Lang,
    names: Mapping[str, tuple[str, str]],
) -> list[Path]:
    import matplotlib as mpl  # noqa: PLC0415  (heavy; only when a report is asked for)

    mpl.use("Agg")
    from matplotlib import font_manager  # noqa: PLC0415
    from matplotlib import pyplot as plt  # noqa: PLC0415

    if FONT_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(FONT_PATH))
    # a family list, not font.sans-serif: matplotlib falls back glyph by glyph only along it
    plt.rcParams["font.family"] = [FONT_FAMILY, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False

    def t(key: str) -> str:
        return _t(key, lang)

    data = result.as_dict()
    rows = (monthly.as_dict()["breakdown"] or {"rows": []})["rows"]
    months = [row["month"] for row in rows]
    med_months = {day[:7] for day in data["med_days"]}
    out = []

    def value(row: dict[str, Any], key: str) -> float:
        got = row.get(key)
        return 0.0 if got is None else float(got)

    fig, ax = plt.subplots(figsize=(9, 4))
    x = range(len(months))
    saidi_label = "SAIDI（分钟/低压户）" if lang is Lang.ZH else "SAIDI (min per LV customer)"
    saifi_label = "SAIFI（次/低压户）" if lang is Lang.ZH else "SAIFI (per LV customer)"
    ax.bar(x, [value(row, "saidi_min") for row in rows], color="#4878a8", label=saidi_label)
    ax.set_xticks(list(x), months, rotation=60, fontsize=7)
    ax.set_ylabel(saidi_label)
    other = ax.twinx()
    other.plot(
        list(x), [value(row, "saifi") for row in rows], color="#d9682b", marker="o", label="SAIFI"
    )
    other.set_ylabel(saifi_label)
    for i, month in enumerate(months):
        if month in med_months:
            ax.annotate(
                "MED", (i, value(rows[i], "saidi_min")), ha="center", va="bottom", color="red"
            )
    med = data["med"]
    unit = "分钟/日" if lang is Lang.ZH else "min/day"
    tmed = f"T_MED = {med['t_med_min']:.1f} {unit}" if med else "T_MED: —"
    title = t("trend") if lang is Lang.ZH else f"{t('trend')} ({t('trend_base')})"
    ax.set_title(f"{title}；{tmed}" if lang is Lang.ZH else f"{title}; {tmed}", fontsize=10)
    out.append(_save(fig, folder / f"trend-{lang}.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    worst = data["worst_feeders"]
    labels = []
    for w in worst:
        name, station = _feeder_label(w["feeder"], w.get("substation"), names)
        labels.append(f"{name}（{station}）" if lang is Lang.ZH else f"{name} ({station})")
    ax.barh(labels[::-1], [w["saidi_min"] for w in worst][::-1])
    ax.set_xlabel(saidi_label)
    ax.set_title(t("worst"))
    out.append(_save(fig, folder / f"worst-feeders-{lang}.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    splits = data["dlt836"]["splits"]
    ax.bar([t(c) for c in _CLASSES], [splits[c]["user_hours"] for c in _CLASSES])
    ax.set_ylabel(t("user_hours"))
    ax.set_title(t("split"), fontsize=9)
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


def _table(header: list[str], rows: list[list[str]], table_id: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    ident = f" id='{table_id}'" if table_id else ""
    return f"<table{ident}><tr>{head}</tr>{body}</table>"


def _comparison(
    data: dict[str, Any],
    previous: dict[str, Any] | None,
    targets: Mapping[str, float],
    lang: Lang,
) -> str:
    """This period against the same dates a year before and the targets."""
    labels = {key: (zh, en) for key, zh, en in (*_INDICES, *_DLT)}

    dlt_keys = {key for key, *_ in _DLT}

    def figure(d: dict[str, Any] | None, key: str) -> float | None:
        if d is None:
            return None
        table = d["dlt836"] if key in dlt_keys else d["ieee1366"]["all"]
        value: float | None = table.get(key)
        return value

    rows = []
    for key in _COMPARED:
        now, before = figure(data, key), figure(previous, key)
        change = "—" if now is None or before is None else fmt(now - before, key)
        if change != "—" and not change.startswith("-"):
            change = f"+{change}"
        target = targets.get(key)
        if target is None or now is None:
            met = "—"
        else:
            good = now <= target if key in _LOWER_IS_BETTER else now >= target
            met = _t("yes" if good else "no", lang)
        zh, en = labels[key]
        rows.append(
            [
                zh if lang is Lang.ZH else en,
                fmt(now, key),
                fmt(before, key),
                change,
                fmt(target, key),
                met,
            ]
        )
    header = [
        _t("index", lang),
        _t("this", lang),
        _t("previous", lang),
        _t("change", lang),
        _t("target", lang),
        _t("met", lang),
    ]
    return _table(header, rows, "compare")


def _page(
    result: ReliabilityResult,
    charts: list[Path],
    lang: Lang,
    *,
    notes: tuple[str, ...],
    previous: ReliabilityResult | None,
    names: Mapping[str, tuple[str, str]],
    targets: Mapping[str, float],
) -> str:
    data = result.as_dict()
    ieee, dlt = data["ieee1366"], data["dlt836"]
    med = data["med"]
    parts = [
        f"<h1>{_t('title', lang)}</h1>",
        f"<p id='period'>{_t('period', lang)}: {html.escape(period_text(data, str(lang)))}</p>",
    ]
    for warning in warning_texts(data, lang):
        parts.append(f"<p class='warning'>{_t('warnings', lang)}: {html.escape(warning)}</p>")
    if (caveat := caveat_text(data, lang)) is not None:
        parts.append(f"<p class='warning' id='caveat'>{html.escape(caveat)}</p>")
    parts.append(f"<p id='settings'>{html.escape(settings_text(data, lang))}</p>")
    parts.append(f"<h2>{_t('base', lang)}</h2>")
    counts = data["counts"]
    user_hours = sum(split["user_hours"] for key, split in dlt["splits"].items() if key in _CLASSES)
    parts.append(
        _table(
            ["", ""],
            [
                [_t("lv_customers", lang), fmt(ieee["all"]["customers"])],
                [_t("users", lang), fmt(dlt["users"])],
                [_t("records", lang), fmt(counts["rows"])],
                [_t("events", lang), fmt(counts["events"])],
                [_t("sustained_events", lang), fmt(counts["sustained_events"])],
                [_t("momentary_events", lang), fmt(counts["momentary_only_events"])],
                [_t("units_off", lang), fmt(counts["units_interrupted"])],
                [_t("cmi", lang), fmt(ieee["all"]["customer_minutes"], "customer_hours")],
                [_t("uh_total", lang), fmt(user_hours, "user_hours")],
            ],
            "base",
        )
    )
    parts.append(f"<p class='small'>{html.escape(counts_text(data, lang))}</p>")
    parts.append(
        _table(
            [_t("index", lang), _t("all", lang), _t("excl", lang), _t("med", lang)],
            [
                [_label(entry, lang)]
                + [fmt(ieee[d][entry[0]], entry[0]) for d in ("all", "excluding_med", "med")]
                for entry in _INDICES
            ],
            "ieee",
        )
    )
    parts.append(
        _table(
            ["DL/T 836", ""],
            [[_label(entry, lang), fmt(dlt[entry[0]], entry[0])] for entry in _DLT],
            "dlt",
        )
    )
    parts.append(f"<h2>{_t('compare', lang)}</h2>")
    parts.append(_comparison(data, None if previous is None else previous.as_dict(), targets, lang))
    med_days = ", ".join(data["med_days"]) or _t("none", lang)
    threshold = (
        fmt(med["t_med_min"], "t_med_min") if med else f"— ({html.escape(data['med_note'] or '')})"
    )
    parts.append(
        f"<p id='tmed'>{_t('tmed', lang)}: <b>{threshold}</b>; "
        f"{_t('med_days', lang)}: {html.escape(med_days)}</p>"
    )
    parts.append(f"<h2>{_t('worst', lang)}</h2>")
    worst_rows = []
    for w in data["worst_feeders"]:
        name, station = _feeder_label(w["feeder"], w.get("substation"), names)
        worst_rows.append(
            [
                name,
                station,
                fmt(w["customers"]),
                fmt(w["saifi"], "saifi"),
                fmt(w["saidi_min"], "saidi_min"),
            ]
        )
    parts.append(
        _table(
            [
                _t("feeder", lang),
                _t("substation", lang),
                _t("customers", lang),
                _label(_INDICES[0], lang),
                _label(_INDICES[1], lang),
            ],
            worst_rows,
            "worst",
        )
    )
    parts.append(f"<h2>{_t('split', lang)}</h2>")
    splits = dlt["splits"]
    parts.append(
        _table(
            [_t("class", lang), _t("user_hours", lang), _label(_DLT[0], lang)],
            [
                [
                    _t(c, lang),
                    fmt(splits[c]["user_hours"], "user_hours"),
                    fmt(splits[c]["aihc_h"], "aihc_h"),
                ]
                for c in _CLASSES
            ],
            "split",
        )
    )
    saved = data["avoided"]
    parts.append(f"<h2>{_t('saved', lang)}</h2>")
    parts.append(
        _table(
            ["", _t("saved", lang)],
            [
                [_t("automatic", lang), fmt(saved["automatic_customer_hours"], "customer_hours")],
                [_t("live_line", lang), fmt(saved["live_line_customer_hours"], "customer_hours")],
            ],
            "saved",
        )
    )
    for chart in charts:
        encoded = base64.b64encode(chart.read_bytes()).decode("ascii")
        parts.append(f"<img alt='{chart.stem}' src='data:image/png;base64,{encoded}'>")
    parts.append(f"<h2>{_t('notes', lang)}</h2><ul>")
    for note in (assumption_text(str(lang)), *notes):
        parts.append(f"<li>{html.escape(note)}</li>")
    parts.append("</ul>")
    style = (
        "body{font-family:sans-serif;max-width:960px;margin:auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px}"
        "td{text-align:right}img{max-width:100%;display:block;margin:1em 0}"
        ".warning{color:#a33;font-weight:bold}.small{font-size:90%;color:#555}"
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
    previous: ReliabilityResult | None = None,
    feeders: Mapping[str, tuple[str, str]] | None = None,
    targets: Mapping[str, float] | None = None,
) -> ReportFiles:
    """Write ``reliability-zh.html`` and ``reliability-en.html`` with their charts into
    ``folder``; ``monthly`` is the same period computed ``by="month"``, ``previous`` the same
    dates a year before, ``feeders`` maps a feeder id to (its name, its substation's name),
    ``targets`` gives ``saidi_min`` / ``saifi`` / ``rs1_pct`` targets."""
    folder.mkdir(parents=True, exist_ok=True)
    names = feeders or {}
    pages, charts = [], []
    for page_lang in (Lang.ZH, Lang.EN):
        drawn = _charts(result, monthly, folder, page_lang, names)
        charts += drawn
        path = folder / f"reliability-{page_lang}.html"
        page = _page(
            result,
            drawn,
            page_lang,
            notes=notes,
            previous=previous,
            names=names,
            targets=targets or {},
        )
        path.write_text(page, encoding="utf-8")
        pages.append(path)
    chosen = pages[0] if lang is Lang.ZH else pages[1]
    return ReportFiles(html=chosen, pages=tuple(pages), charts=tuple(charts))
