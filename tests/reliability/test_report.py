"""The reliability report: both pages and eight charts written; every figure on the page is the
engine's figure for the same period, rounded as engineers read it; and a hand-worked month.

Hand-worked month (small network, tests/grid/small.py; N_T = 176 LV customers, 6 users; F1
甲Ⅰ线 = TA1 40 + TA2 35 + TA3 20 + HV1 1 = 96 customers, F2 甲Ⅱ线 = TA4 50, both of 甲变):
TA1's 40 customers off 60 min on 2024-03-05 (fault), TA4's 50 off 120 min on 2024-03-10
(planned); the period is March 2024 in Asia/Shanghai: 31 days, T = 744 h = 44,640 min.

IEEE 1366-2012 (3.3.1–3.3.6):
    SAIFI = 90 / 176 = 0.51136            → "0.511"
    SAIDI = (40 × 60 + 50 × 120) / 176 = 8,400 / 176 = 47.727 min → "47.7"
    CAIDI = 8,400 / 90 = 93.333 min       → "93.3"
    ASAI  = 1 − 8,400 / (176 × 44,640) = 1 − 0.00106916 = 0.998931 → "0.998931"
DL/T 836:
    AIHC-1 = (1 h × 1 user + 2 h × 1 user) / 6 users = 0.5 h → "0.50"
    RS-1   = (1 − 0.5 / 744) × 100 = 99.93280 % → "99.933"
Worst feeders: F2 SAIDI = 50 × 120 / 50 = 120.0 min, SAIFI 1.000; F1 SAIDI = 2,400 / 96 =
25.0 min, SAIFI = 40 / 96 = 0.417.
Targets SAIDI 40 min (47.7 > 40: not met) and RS-1 99.9 % (99.933 ≥ 99.9: met); March 2023
has no record, so last year's figures are — (no data), not 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.ft2font import FT2Font

from openoms.grid import network_from_raw
from openoms.i18n import Lang
from openoms.reliability.base import customer_base_from_network
from openoms.reliability.history_csv import parse_history
from openoms.reliability.indices import ReliabilityResult, compute
from openoms.reliability.synth import synthetic_history
from openoms.service.reliability import feeder_names
from openoms.viz import reliability_report
from openoms.viz.reliability_report import FONT_PATH, fmt, write_report
from tests.grid.small import small_raw

START = 1_704_038_400  # 2024-01-01T00:00:00+08:00
YEAR = 366 * 86_400  # 2024 is a leap year
MARCH = 1_709_222_400  # 2024-03-01T00:00:00+08:00
APRIL = 1_711_900_800  # 2024-04-01T00:00:00+08:00
MONTH = [
    ["event_id", "unit_id", "customers", "start", "step_end", "class", "cause"],
    ["E1", "TA1", "40", "2024-03-05 08:15:00", "2024-03-05 09:15:00", "fault_internal", "tree"],
    ["E2", "TA4", "50", "2024-03-10 10:00:00", "2024-03-10 12:00:00", "planned", "work"],
]


@pytest.fixture(scope="module")
def results() -> tuple[ReliabilityResult, ReliabilityResult]:
    base = customer_base_from_network(network_from_raw(small_raw()))
    rows = synthetic_history(
        base, start=START, days=731, seed=5, faults_per_feeder_year=40.0, storm_days=1
    )
    history = parse_history(rows, base, source="synthetic")
    args = {"start": START + YEAR, "end": START + YEAR + 365 * 86_400, "avoided": history.avoided()}
    whole = compute(history.interruptions(), base, **args)  # type: ignore[arg-type]
    monthly = compute(history.interruptions(), base, by="month", **args)  # type: ignore[arg-type]
    return whole, monthly


def _cells(page: str, label: str) -> list[str]:
    """The cells of the table row that starts with ``label``."""
    match = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", page)
    assert match is not None, label
    return re.findall(r"<td>(.*?)</td>", match.group(1))


def test_the_pages_show_the_engines_figures(
    results: tuple[ReliabilityResult, ReliabilityResult], tmp_path: Path
) -> None:
    result, monthly = results
    files = write_report(result, monthly, tmp_path, lang=Lang.EN, notes=("one note",))
    assert files.html == tmp_path / "reliability-en.html"
    assert len(files.charts) == 8
    for chart in files.charts:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = result.as_dict()
    assert data["ieee1366"]["all"]["saifi"] > 0  # the synthetic year has interruptions
    text = (tmp_path / "reliability-en.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 4
    for key, label in (
        ("saifi", "SAIFI (per LV customer)"),
        ("saidi_min", "SAIDI (min per LV customer)"),
    ):
        expected = [fmt(data["ieee1366"][d][key], key) for d in ("all", "excluding_med", "med")]
        assert _cells(text, label) == expected
    assert _cells(text, "RS-1 (%)") == [fmt(data["dlt836"]["rs1_pct"], "rs1_pct")]
    saved = data["avoided"]["automatic_customer_hours"]
    assert f"<td>{fmt(saved, 'customer_hours')}</td>" in text
    if data["med"] is not None:
        assert f"<b>{fmt(data['med']['t_med_min'], 't_med_min')}</b>" in text
    assert "one note" in text
    chinese = (tmp_path / "reliability-zh.html").read_text(encoding="utf-8")
    assert "供电可靠性报告" in chinese
    assert "重大事件日阈值 T_MED" in chinese
    assert "SAIFI（次/低压户）" in chinese


def test_a_hand_worked_month_rounded_as_engineers_read_it(tmp_path: Path) -> None:
    network = network_from_raw(small_raw())
    base = customer_base_from_network(network)
    rows = parse_history(MONTH, base, source="month.csv").interruptions()
    result = compute(rows, base, start=MARCH, end=APRIL, med_threshold=1000.0)
    monthly = compute(rows, base, start=MARCH, end=APRIL, by="month", med_threshold=1000.0)
    year_before = compute(rows, base, start=MARCH - 366 * 86_400, end=APRIL - 366 * 86_400)
    write_report(
        result,
        monthly,
        tmp_path,
        previous=year_before,
        feeders=feeder_names(network),
        targets={"saidi_min": 40.0, "rs1_pct": 99.9},
    )
    en = (tmp_path / "reliability-en.html").read_text(encoding="utf-8")
    zh = (tmp_path / "reliability-zh.html").read_text(encoding="utf-8")
    # the period in the utility's zone, the end day inclusive
    assert "2024-03-01 — 2024-03-31 (Asia/Shanghai, 31 days)" in en
    assert _cells(en, "SAIFI (per LV customer)") == ["0.511", "0.511", "0.000"]
    assert _cells(en, "SAIDI (min per LV customer)") == ["47.7", "47.7", "0.0"]
    assert _cells(en, "CAIDI (min)") == ["93.3", "93.3", "—"]
    assert _cells(en, "ASAI")[0] == "0.998931"
    assert _cells(en, "AIHC-1 (h per user)") == ["0.50"]
    assert _cells(en, "RS-1 (%)") == ["99.933"]
    assert _cells(zh, "RS-1（%）") == ["99.933"]
    # the customer base, the events and the customer-minutes
    assert _cells(en, "LV customers (IEEE 1366)") == ["176"]
    assert _cells(en, "Users (DL/T 836: TAs / HV customers)") == ["6"]
    assert _cells(en, "Interruption events") == ["2"]
    assert _cells(en, "Sustained customer-minutes") == ["8,400.0"]
    assert _cells(en, "User-hours off (DL/T 836)") == ["3.0"]
    # feeders by name with their substation
    assert _cells(en, "甲Ⅱ线") == ["甲变", "50", "1.000", "120.0"]
    assert _cells(zh, "甲Ⅰ线") == ["甲变", "96", "0.417", "25.0"]
    # last year has no record: no data (—), not a change from 0; targets
    compare = en[en.index("<table id='compare'>") :]
    assert _cells(compare, "SAIDI (min per LV customer)") == ["47.7", "—", "—", "40.0", "no"]
    assert _cells(compare, "RS-1 (%)") == ["99.933", "—", "—", "99.900", "yes"]
    compare_zh = zh[zh.index("<table id='compare'>") :]
    assert _cells(compare_zh, "RS-1（%）") == ["99.933", "—", "—", "99.900", "是"]
    # the settings that produced it, in both languages
    assert "sustained if duration &gt; 5 min" in en  # HTML-escaped
    assert "T_MED given: 1000 min" in en
    assert "停电时间 &gt; 5 分钟为持续停电" in zh


def test_a_month_against_the_year_before_shows_the_change(tmp_path: Path) -> None:
    """March 2023: TA1's 40 customers off 30 min → SAIDI = 1,200 / 176 = 6.818 min; March
    2024 as above 47.727 min: change + 40.909 → "+40.9"; SAIFI 40 / 176 = 0.227 → 0.511:
    +0.284 (0.51136 − 0.22727 = 0.28409)."""
    network = network_from_raw(small_raw())
    base = customer_base_from_network(network)
    earlier = ["E0", "TA1", "40", "2023-03-07 08:00:00", "2023-03-07 08:30:00", "fault", "bird"]
    rows = parse_history([*MONTH, earlier], base, source="two.csv").interruptions()
    result = compute(rows, base, start=MARCH, end=APRIL, med_threshold=1000.0)
    monthly = compute(rows, base, start=MARCH, end=APRIL, by="month", med_threshold=1000.0)
    year_before = compute(
        rows, base, start=MARCH - 366 * 86_400, end=APRIL - 366 * 86_400, med_threshold=1000.0
    )
    write_report(result, monthly, tmp_path, previous=year_before)
    en = (tmp_path / "reliability-en.html").read_text(encoding="utf-8")
    compare = en[en.index("<table id='compare'>") :]
    assert _cells(compare, "SAIDI (min per LV customer)") == ["47.7", "6.8", "+40.9", "—", "—"]
    assert _cells(compare, "SAIFI (per LV customer)") == ["0.511", "0.227", "+0.284", "—", "—"]


def test_the_bundled_font_has_every_chinese_character_of_the_charts() -> None:
    """The Chinese charts are drawn in Chinese whatever fonts are installed: the bundled
    subset holds every character of the report's own text and of the small network's names."""
    cmap = FT2Font(str(FONT_PATH)).get_charmap()
    text = "".join(zh for zh, _ in reliability_report._T.values())
    text += "".join(entry[1] for entry in (*reliability_report._INDICES, *reliability_report._DLT))
    text += "甲Ⅰ线甲Ⅱ线乙Ⅰ线甲变乙变王庄村李村城关张营水泥厂"
    missing = sorted({c for c in text if ord(c) > 0x7F and ord(c) not in cmap})
    assert missing == []
    assert (FONT_PATH.parent / "LICENSE").is_file()


def test_no_character_of_the_bundled_font_is_drawn_blank() -> None:
    """WenQuanYi Micro Hei maps a few characters (Ⅴ, Ⅹ, ℃, ǎ …) to empty outlines, which would
    draw 城关Ⅴ线 as 城关 线: they are taken out of the subset's character map, so matplotlib
    falls back to DejaVu Sans (shipped with matplotlib), which draws them."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    font = TTFont(FONT_PATH)
    glyphs = font["glyf"]
    blank = sorted(
        chr(code)
        for code, name in font.getBestCmap().items()
        if glyphs[name].numberOfContours == 0 and not chr(code).isspace()
    )
    assert blank == []
    fallback = TTFont(font_manager.findfont("DejaVu Sans")).getBestCmap()
    assert all(ord(c) in fallback for c in "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ℃ǎ")


def test_the_monthly_trend_adds_up_to_the_period(
    results: tuple[ReliabilityResult, ReliabilityResult],
) -> None:
    result, monthly = results
    rows = monthly.as_dict()["breakdown"]["rows"]
    assert len(rows) == 12
    total = sum(row["customer_minutes"] for row in rows)
    assert total == pytest.approx(result.as_dict()["ieee1366"]["all"]["customer_minutes"])
