"""The reliability report: both pages and eight charts written, and every figure on the page
is the engine's figure for the same period (read back from the HTML tables)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openoms.grid import network_from_raw
from openoms.i18n import Lang
from openoms.reliability.base import customer_base_from_network
from openoms.reliability.history_csv import parse_history
from openoms.reliability.indices import ReliabilityResult, compute
from openoms.reliability.synth import synthetic_history
from openoms.viz.reliability_report import fmt, write_report
from tests.grid.small import small_raw

START = 1_704_038_400  # 2024-01-01T00:00:00+08:00
YEAR = 366 * 86_400  # 2024 is a leap year


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
    for page in files.pages:
        text = page.read_text(encoding="utf-8")
        assert text.count("data:image/png;base64,") == 4
        for key, label in (("saifi", "SAIFI"), ("saidi_min", "SAIDI (min)")):
            expected = [fmt(data["ieee1366"][d][key]) for d in ("all", "excluding_med", "med")]
            assert _cells(text, label) == expected
        assert _cells(text, "RS-1 (%)") == [fmt(data["dlt836"]["rs1_pct"])]
        worst = data["worst_feeders"][0]
        assert _cells(text, worst["feeder"]) == [
            fmt(worst["customers"]),
            fmt(worst["saifi"]),
            fmt(worst["saidi_min"]),
        ]
        saved = data["avoided"]["automatic_customer_hours"]
        assert f"<td>{fmt(saved)}</td>" in text
        if data["med"] is not None:
            assert f"<b>{fmt(data['med']['t_med_min'])}</b>" in text
        assert "one note" in text
    chinese = (tmp_path / "reliability-zh.html").read_text(encoding="utf-8")
    assert "供电可靠性报告" in chinese
    assert "重大事件日阈值 T_MED" in chinese


def test_the_monthly_trend_adds_up_to_the_period(
    results: tuple[ReliabilityResult, ReliabilityResult],
) -> None:
    result, monthly = results
    rows = monthly.as_dict()["breakdown"]["rows"]
    assert len(rows) == 12
    total = sum(row["customer_minutes"] for row in rows)
    assert total == pytest.approx(result.as_dict()["ieee1366"]["all"]["customer_minutes"])
