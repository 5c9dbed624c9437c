"""The console's reliability dashboard: SAIFI, SAIDI and RS-1 by month and by feeder, with
and without major event days, drawn as SVG with the numbers in tables; any logged-in role.

Hand calculation on the small network (tests/grid/small.py; N_T = 176 customers, 6 DL/T 836
users; feeder F1 甲Ⅰ线 serves 96 customers, F3 乙Ⅰ线 TA5's 30):

- fault A, 2024-06-01 15:30–16:00 local: K1 cuts TA2 and HV1 (36 customers, 2 users) for
  30 min; that day's SAIDI = 36 × 30 / 176 = 6.136 min;
- fault B, 2024-06-03 15:30–16:00 local: CB3 cuts TA5 (30 customers, 1 user) for 30 min;
  that day's SAIDI = 30 × 30 / 176 = 5.114 min.

With T_MED = 5.5 min, 2024-06-01 is a major event day and 2024-06-03 is not. All days:
SAIFI = 66 / 176 = 0.375, SAIDI = 1,980 / 176 = 11.25 min; without the major event day:
SAIFI = 30 / 176 = 0.170, SAIDI = 900 / 176 = 5.1 min. RS-1 over 2024-05-01 … 2024-07-01
(61 days = 1,464 h): all days AIHC-1 = (2 × 0.5 + 0.5) / 6 = 0.25 h, RS-1 = (1 − 0.25 /
1,464) × 100 = 99.983 %; without it 0.5 / 6 h, RS-1 = 99.994 %. June alone (720 h): RS-1 =
(1 − 0.25 / 720) × 100 = 99.965 % and (1 − (0.5 / 6) / 720) × 100 = 99.988 %. By feeder,
all days: F1 SAIDI = 1,080 / 96 = 11.25, F3 = 900 / 30 = 30.0; without the MED: F1 0.0,
F3 30.0.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from openoms.server import RunningServer
from openoms.store import outages
from openoms.store.tokens import Role, create_token
from tests.api.conftest import Api
from tests.web.axe import violations
from tests.web.test_browser import chromium, county

__all__ = ["chromium", "county"]

PART = "/console/parts/reliability?from=2024-05-01&to=2024-07-01"


def _fault_restored(api: Api, device: str, elements: list[str], day: int) -> None:
    api.clock.now = datetime(2024, 6, day, 8, 0, tzinfo=UTC)
    outage = api.fault_outage(device)  # off since 07:30 UTC (15:30 local)
    with api.context.sessions.begin() as session:
        outages.add_restoration_step(
            session, outage, element_ids=elements, at=api.clock.now, how="repair", actor="t"
        )


@pytest.fixture
def two_faults(web: Api) -> Api:
    _fault_restored(web, "K1", ["TA2", "HV1"], 1)
    _fault_restored(web, "CB3", ["TA5"], 3)
    return web


def _cells(html: str, caption: str) -> dict[str, list[str]]:
    """The rows of the table with ``caption``: first cell → the other cells."""
    found = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", html, re.S)
    assert found is not None, caption
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    out = {}
    for row in rows[1:]:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        out[cells[0]] = cells[1:]
    return out


def test_the_dashboard_shows_the_hand_calculated_figures_with_and_without_med(
    two_faults: Api,
) -> None:
    response = two_faults.get(f"{PART}&med_threshold_min=5.5", role=Role.VIEWER)
    assert response.status_code == 200, response.text
    html = response.text
    assert "重大事件日：2024-06-01" in html
    system = _cells(html, "全系统")
    assert system["SAIFI（次/户）"] == ["0.375", "0.170"]
    assert system["SAIDI（分钟/户）"] == ["11.2", "5.1"]  # 11.25 rounds half to even
    assert system["RS-1 供电可靠率（%）"] == ["99.983", "99.994"]
    months = _cells(html, "供电可靠性 · 按月")
    assert months["2024-06"] == ["0.375", "0.170", "11.2", "5.1", "99.965", "99.988"]
    feeders = _cells(html, "供电可靠性 · 按线路")
    assert feeders["甲Ⅰ线"][2:4] == ["11.2", "0.0"]  # SAIDI all days, without the MED
    assert feeders["乙Ⅰ线"][2:4] == ["30.0", "30.0"]
    assert next(iter(feeders)) == "乙Ⅰ线"  # the highest SAIDI first
    # Six charts (three indices by month and by feeder), each an image with its title.
    assert html.count('<svg class="chart" role="img"') == 6
    assert "<title" in html
    assert "<desc" in html


def test_without_a_major_event_day_both_columns_agree_and_english_is_switchable(
    two_faults: Api,
) -> None:
    html = two_faults.get(f"{PART}&lang=en", role=Role.CREW).text  # no history: no T_MED
    assert "Major event days: none" in html
    system = _cells(html, "System")
    assert system["SAIDI (minutes per customer)"] == ["11.2", "11.2"]
    assert "Reliability · by month" in html


def test_a_period_without_data_says_so(web: Api) -> None:
    html = web.get(PART, role=Role.PLANNER).text
    assert "指标不可计算（不是 0）" in html
    assert _cells(html, "全系统")["SAIDI（分钟/户）"] == ["—", "—"]


def test_the_dashboard_needs_a_token_and_the_page_none(web: Api) -> None:
    assert web.get(PART).status_code == 401
    page = web.get("/console/reliability")
    assert page.status_code == 200
    assert 'data-view="reliability"' in page.text
    assert 'href="/console/reliability"' in web.get("/console").text
    bad = web.get("/console/parts/reliability?from=2024-13-01", role=Role.VIEWER)
    assert bad.status_code == 422
    assert "--from" in bad.json()["detail"]


def test_the_dashboard_draws_in_a_browser_after_login_without_serious_violations(
    chromium: str, county: tuple[RunningServer, int, int], tmp_path: Path
) -> None:
    """The sample county with its open fault (counted up to now): the charts draw after the
    console's login, in English too, and axe-core finds nothing serious."""
    running, _fault, _planned = county
    context = running.context
    with context.sessions.begin() as session:
        token = create_token(session, name="值班员", role=Role.VIEWER, now=context.clock())
    chosen = os.environ.get("OPENOMS_SCREENSHOTS")
    screenshots = Path(chosen) if chosen else tmp_path / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{running.base_url}/console/reliability", wait_until="networkidle")
            page.fill("#token", token)
            page.keyboard.press("Enter")
            page.wait_for_selector("body[data-ready='1'] #reliability svg.chart")
            assert page.locator("#reliability svg.chart").count() == 6
            assert "柏山Ⅴ线" in page.inner_text("#reliability")  # the feeder by its name
            assert violations(page) == []
            page.screenshot(path=str(screenshots / "console-reliability.png"), full_page=True)
            page.goto(f"{running.base_url}/console/reliability?lang=en", wait_until="networkidle")
            page.wait_for_selector("body[data-ready='1'] #reliability svg.chart")
            assert "Reliability · by feeder" in page.inner_text("#reliability")
            assert errors == []
        finally:
            browser.close()
