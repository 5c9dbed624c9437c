"""The public pages in a real browser: Debian's headless Chromium driven by Playwright (no
browser download), against the whole system served on a loopback port with the sample county.

The map draws the areas off from the feed with no tile server, nothing is requested from
outside the server, the keyboard reaches the content through the skip link, the outage's
own page (the SMS link) opens, and a planned outage booked ahead opens its own page from
the map. Screenshots go to the test's temporary folder, or to
the folder ``OPENOMS_SCREENSHOTS`` names (``OPENOMS_SCREENSHOTS=docs/screenshots`` refreshes
the pictures docs/public.md shows; a plain test run leaves the tree alone). Without
``chromium`` on the PATH the test skips, or fails when ``CI=true`` (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from openoms.outages.lifecycle import OutageState
from openoms.outages.planned import PlannedState, WorkType
from openoms.outages.records import OutageKind
from openoms.server import RunningServer, serving
from openoms.service.outages import Principal, book_outage
from openoms.service.planned import book_work
from openoms.settings import Settings
from openoms.store import outages
from openoms.store import planned as planned_store
from openoms.store.tokens import Role

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium() -> str:
    """Debian's chromium, or a skip (a failure with ``CI=true``)."""
    if CHROMIUM is None:
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {message}: CI must install it")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def county(chromium: str, tmp_path: Path) -> Iterator[tuple[RunningServer, int, int]]:
    """The system on the sample county (SQLite), with a fault on 柏山Ⅴ线 whose crew is on
    site and planned work in nine days (booked by the workflow, then approved and notified
    as approval and the notice would move it)."""
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'oms.db'}")
    with serving(settings) as running:
        context = running.context
        now = context.clock()
        who = Principal("dispatcher", Role.DISPATCHER)
        with context.sessions.begin() as session:
            fault = book_outage(
                context,
                session,
                who,
                kind=OutageKind.FAULT,
                opened=["BS-F05-K01"],
                starts_at=now - timedelta(minutes=40),
            ).id
            outages.update_outage(session, fault, cause="雷击", crew="抢修一班", at=now, actor="d")
            for state in (OutageState.CREW_DISPATCHED, OutageState.CREW_ON_SITE):
                outages.transition_outage(session, fault, state, at=now, actor="d")
            planned = book_work(
                context,
                session,
                Principal("planner", Role.PLANNER),
                work_type=WorkType.MAINTENANCE,
                reason="更换 25 号杆",
                opened=["CG-F02-K25"],
                starts_at=now + timedelta(days=9),
                ends_at=now + timedelta(days=9, hours=6),
                now=now,
            ).id
            for target in (PlannedState.APPROVED, PlannedState.NOTIFIED):
                planned_store.transition_work(
                    session, planned, target, at=now, actor="planner", role="planner"
                )
        yield running, fault, planned


def test_the_public_pages_in_headless_chromium(
    chromium: str, county: tuple[RunningServer, int, int], tmp_path: Path
) -> None:
    running, fault, planned = county
    base = running.base_url
    requested: list[str] = []
    chosen = os.environ.get("OPENOMS_SCREENSHOTS")
    screenshots = Path(chosen) if chosen else tmp_path / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            # A cheap phone's screen.
            page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2)
            page.on("request", lambda request: requested.append(request.url))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/", wait_until="networkidle")
            assert page.title() == "停电信息"
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            # The map drew the areas off as vectors (SVG), the planned one too.
            page.wait_for_selector("#map path.leaflet-interactive")
            assert page.locator("#map path.leaflet-interactive").count() >= 2
            assert page.locator("#map img").count() == 0  # no tiles by default
            assert "柏山镇" in page.locator("#current-h + h3, section h3").first.inner_text()
            assert page.locator(f"#outage-{fault} li[aria-current=step]").inner_text() == (
                "抢修队已到达现场"
            )
            assert "雷击" in page.locator(f"#outage-{fault}").inner_text()
            assert page.locator(f"#planned-{planned}").count() == 1
            assert "已公告" in page.locator(f"#planned-{planned}").inner_text()
            # Keyboard: the first Tab reaches the skip link, Enter moves to the content.
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip"
            page.keyboard.press("Enter")
            assert page.evaluate("document.activeElement.id") == "main"
            page.screenshot(path=str(screenshots / "public-outages.png"), full_page=True)
            index = page.content()

            # The SMS link: the outage's own page.
            page.goto(f"{base}/outages/{fault}", wait_until="networkidle")
            assert page.locator("h1").inner_text() == f"停电事件 {fault}"
            page.wait_for_selector("#map path.leaflet-interactive")
            page.screenshot(path=str(screenshots / "public-outage.png"), full_page=True)

            wide = browser.new_page(viewport={"width": 1280, "height": 800})
            wide.on("request", lambda request: requested.append(request.url))
            wide.goto(f"{base}/?lang=en", wait_until="networkidle")
            assert wide.title() == "Power outages"
            wide.wait_for_selector("#map path.leaflet-interactive")
            wide.screenshot(path=str(screenshots / "public-outages-en.png"))
            # A planned outage's line on the map (blue) opens the booking's own page.
            wide.locator('#map path.leaflet-interactive[stroke="#1f5fa8"]').first.dispatch_event(
                "click"
            )
            wide.wait_for_url(f"{base}/planned/{planned}?lang=en")
            assert wide.locator("h1").inner_text() == f"Planned outage {planned}"
            wide.wait_for_selector("#map path.leaflet-interactive")
            planned_page = wide.content()

            # The county's customer data: none of it on the pages or in the feed.
            network = running.context.network
            private = {
                *network.hv_customers.name,
                *network.hv_customers.id,
                *network.sensitive_customers.name,
                *(street for street in network.transformer_areas.street if street),
            } - {None, ""}
            assert len(private) > 10
            with running.context.sessions() as session:
                summary = outages.get_outage(session, fault).summary["zh"]
            assert any(name in summary for name in private)  # the record does name them
            shown = index + page.content() + wide.content() + planned_page
            shown += wide.request.get(f"{base}/public/outages.geojson").text()
            leaked = sorted(name for name in private if name and name in shown)
            assert leaked == []

            missing = wide.goto(f"{base}/outages/999999")
            assert missing is not None
            assert missing.status == 404
            assert "没有找到这条停电信息" in wide.content()
            assert errors == []
        finally:
            browser.close()
    outside = [url for url in requested if not url.startswith(base)]
    assert outside == []
