"""Accessibility of the public pages in a real browser: axe-core finds no serious or critical
violation on ``/``, an outage's page, the lookup, the fault report and the subscription pages
(empty, answered, and with errors), the keyboard reaches the skip link, the services and the
search in order, and every form control has a label.

axe-core is vendored for the tests only (tests/web/axe.py; each file's SHA-256 in
tests/web/vendor/manifest.json is checked here). The browser and the system are those of
test_browser.py (Debian's headless Chromium, the sample county on SQLite).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from openoms.contacts.customers import Customer
from openoms.server import RunningServer
from openoms.store import outages
from openoms.store.customers import replace_customers
from tests.web.axe import AXE, VENDOR, violations
from tests.web.test_browser import chromium, county

__all__ = ["chromium", "county"]


def test_the_vendored_axe_core_is_the_published_one() -> None:
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))["axe-core"]
    assert manifest["licence"] == "MPL-2.0"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((VENDOR / "axe-core" / name).read_bytes()).hexdigest() == digest
    assert f"axe v{manifest['version']}" in AXE.read_text(encoding="utf-8")[:200]


def _unlabelled(page: Page) -> list[str]:
    return list(
        page.evaluate(
            """[...document.querySelectorAll(
                 'main input:not([type=hidden]), main textarea, main select')]
               .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
               .map(el => el.name || el.id)"""
        )
    )


def _tab_order(page: Page, presses: int) -> list[str]:
    """What the keyboard reaches, Tab after Tab from the top: ids, or link paths."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    reached = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """(() => { const e = document.activeElement;
                    if (e.id) return '#' + e.id;
                    if (e.tagName === 'A') return new URL(e.href).pathname;
                    return e.tagName.toLowerCase(); })()"""
            )
        )
    return reached


def _in_order(reached: list[str], wanted: list[str]) -> bool:
    positions = [reached.index(w) if w in reached else -1 for w in wanted]
    return -1 not in positions and positions == sorted(positions)


def test_the_public_pages_have_no_serious_accessibility_violation(
    chromium: str, county: tuple[RunningServer, int, int], tmp_path: Path
) -> None:
    running, fault, _ = county
    base = running.base_url
    context = running.context
    with context.sessions.begin() as session:
        area = outages.get_outage(session, fault).areas[0].element_id
        replace_customers(
            session,
            [Customer("A11Y-0001", "测试用户", "13912345678", None, "柏山镇 1 号", "", "", area)],
            source="tests",
            now=context.clock(),
        )
    chosen = os.environ.get("OPENOMS_SCREENSHOTS")
    screenshots = Path(chosen) if chosen else tmp_path / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))

            def check(name: str) -> None:
                problems[name] = violations(page) + [
                    f"unlabelled control {n}" for n in _unlabelled(page)
                ]

            page.goto(f"{base}/", wait_until="networkidle")
            page.wait_for_selector("#map path.leaflet-interactive")
            check("/")
            order = _tab_order(page, 12)
            assert _in_order(order, ["/", "/lookup", "/report", "/subscribe", "#area"]), order
            assert order[0] == "/"  # the skip link (href "#main", on this page's path)

            page.goto(f"{base}/outages/{fault}", wait_until="networkidle")
            page.wait_for_selector("#map path.leaflet-interactive")
            check(f"/outages/{fault}")

            page.goto(f"{base}/lookup", wait_until="networkidle")
            check("/lookup")
            order = _tab_order(page, 12)
            assert _in_order(order, ["/lookup", "#f-account", "#f-address", "button"]), order
            page.fill("#f-account", "A11Y-0001")
            page.keyboard.press("Enter")  # submit from the keyboard
            page.wait_for_selector("#answer")
            assert f"停电事件 {fault}" in page.inner_text("#answer")
            check("/lookup answered")
            page.screenshot(path=str(screenshots / "public-lookup.png"), full_page=True)

            page.goto(f"{base}/report", wait_until="networkidle")
            check("/report")
            page.click("button[type=submit]")  # nothing filled in: the errors
            page.wait_for_selector("#errors")
            check("/report with errors")
            page.fill("#f-account", "A11Y-0001")
            page.fill("#f-description", "整个村子停电")
            page.click("button[type=submit]")
            page.wait_for_selector("#answer")
            assert f"停电事件 {fault}" in page.inner_text("#answer")
            check("/report answered")
            page.screenshot(path=str(screenshots / "public-report.png"), full_page=True)

            page.goto(f"{base}/subscribe?lang=en", wait_until="networkidle")
            check("/subscribe")
            assert errors == []
        finally:
            browser.close()
    assert {name: found for name, found in problems.items() if found} == {}
    assert len(problems) == 8
