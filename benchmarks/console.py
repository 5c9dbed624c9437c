"""The operator console in headless Chromium (issue 13): how fast it shows the whole sample
county, and how soon a new outage is on the map.

    python benchmarks/console.py                  # 5 page loads, 5 outages, ~1 min
    python benchmarks/console.py --loads 10 --outages 10

The whole system runs on the sample county (SQLite in a temporary folder) in this process,
HTTP on a loopback port (``openoms.server.serving``, as the browser tests do); Debian's
``chromium`` is driven by Playwright. A dispatcher's token is put in the tab's
``sessionStorage`` before the page loads (the login form is not what is measured).

Per page load (a new browser context each time, so nothing is cached), with the whole county
on screen (the map fits the network's bounds):

- **first paint**: the browser's ``first-contentful-paint``;
- **interactive**: when the console has drawn the network and its live state on the map and
  wired the search, list and stream (``window.openomsReadyAt``, set by console.js), from the
  start of navigation.

Then, the page open and its live stream connected, ``--outages`` fault outages are recorded
through the API (``POST /api/v1/outages``, opening a feeder's head breaker): **outage → map**
is the time from just before the POST to the moment the outage's marker is on the map (the
map's ``data-outages`` names it; checked on every animation frame), which includes the POST
itself, the stream's poll (``console_poll_s``, 0.5 s) and the reload of the state.

Targets (issue 13): interactive under 2 s, outage → map under 1 s. Prints a Markdown table
and writes ``benchmarks/results/console.json`` with every raw figure; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Final

import httpx
from _results import machine, versions
from playwright.sync_api import sync_playwright

from openoms.server import serving
from openoms.settings import Settings
from openoms.store.tokens import Role, create_token

RESULTS: Final = Path(__file__).parent / "results" / "console.json"
TARGET_INTERACTIVE_S: Final = 2.0
TARGET_LIVE_S: Final = 1.0


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads measured")
    parser.add_argument("--outages", type=int, default=5, help="outages posted")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("Debian's chromium is needed: apt-get install -y chromium")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'oms.db'}")
        with serving(settings) as running:
            context = running.context
            with context.sessions.begin() as session:
                token = create_token(
                    session, name="bench", role=Role.DISPATCHER, now=context.clock()
                )
            base = running.base_url
            headers = {"Authorization": f"Bearer {token}"}
            sizes = {}
            for path in ("/api/v1/console/network", "/api/v1/console/state"):
                answer = httpx.get(base + path, headers=headers)  # accepts gzip
                sizes[path] = len(answer.content)
                sizes[f"{path} (on the wire)"] = answer.num_bytes_downloaded
            network = context.network
            breakers = [network.edge_id(int(e)) for e in network.feeders.head_edge]
            loads, live = _measure(
                chromium,
                base,
                token=token,
                breakers=breakers,
                n_loads=args.loads,
                n_outages=args.outages,
            )
    load_after = os.getloadavg()[0]
    _report(
        loads,
        live,
        sizes,
        network_nodes=len(network.nodes.id),
        machine_load=(load_before, load_after),
    )


def _measure(
    chromium: str, base: str, *, token: str, breakers: list[str], n_loads: int, n_outages: int
) -> tuple[list[dict[str, float]], list[float]]:
    loads: list[dict[str, float]] = []
    live: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = None
            for i in range(n_loads):
                browser_context = browser.new_context(viewport={"width": 1600, "height": 900})
                browser_context.add_init_script(
                    f"sessionStorage.setItem('openoms.token', {json.dumps(token)});"
                )
                page = browser_context.new_page()
                page.goto(f"{base}/console")
                page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                page.wait_for_selector("#live.on", timeout=10_000)
                figures = page.evaluate(
                    """() => ({
                      first_paint_ms: (performance.getEntriesByName('first-contentful-paint')[0]
                                       || {startTime: NaN}).startTime,
                      interactive_ms: window.openomsReadyAt,
                      dom_content_loaded_ms: performance.getEntriesByType('navigation')[0]
                                               .domContentLoadedEventEnd,
                    })"""
                )
                loads.append(figures)
                say(f"load {i + 1}/{n_loads}: {figures}")
                if i < n_loads - 1:
                    browser_context.close()
            assert page is not None
            for i in range(n_outages):
                breaker = breakers[i % len(breakers)]
                started = time.perf_counter()
                response = httpx.post(
                    f"{base}/api/v1/outages",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "kind": "fault",
                        "open": [breaker],
                        "starts_at": datetime.now(UTC).isoformat(),
                    },
                )
                response.raise_for_status()
                outage = response.json()["id"]
                page.wait_for_function(
                    f"() => (document.getElementById('map').dataset.outages || '')"
                    f".split(' ').indexOf('{outage}') >= 0",
                    polling="raf",
                    timeout=10_000,
                )
                delay = time.perf_counter() - started
                live.append(delay)
                say(f"outage {outage} ({breaker}) on the map after {delay * 1000:.0f} ms")
                time.sleep(0.3)
        finally:
            browser.close()
    return loads, live


def _report(
    loads: list[dict[str, float]],
    live: list[float],
    sizes: dict[str, int],
    *,
    network_nodes: int,
    machine_load: tuple[float, float],
) -> None:
    paint = median(x["first_paint_ms"] for x in loads) / 1000
    interactive = median(x["interactive_ms"] for x in loads) / 1000
    live_median, live_max = median(live), max(live)
    rows = [
        ("first paint (median)", f"{paint:.2f} s", ""),
        (
            "interactive, whole county (median)",
            f"{interactive:.2f} s",
            f"< {TARGET_INTERACTIVE_S} s",
        ),
        ("outage → map (median)", f"{live_median:.2f} s", f"< {TARGET_LIVE_S} s"),
        ("outage → map (max)", f"{live_max:.2f} s", f"< {TARGET_LIVE_S} s"),
    ]
    print(f"Console on the sample county ({network_nodes} nodes), headless Chromium\n")
    print("| figure | measured | target |")
    print("|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    print(
        "\n"
        + ", ".join(
            f"{name.removeprefix('/api/v1/console/')} {size / 1024:.0f} KiB"
            for name, size in sizes.items()
        )
    )
    met = interactive < TARGET_INTERACTIVE_S and live_max < TARGET_LIVE_S
    print(f"\ntargets met: {'yes' if met else 'no'}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "generated_at": datetime.now(UTC).isoformat(),
                "machine": machine(*machine_load),
                "versions": versions("openoms", "playwright", "fastapi", "uvicorn"),
                "loads": loads,
                "outage_to_map_s": live,
                "sizes_bytes": sizes,
                "summary": {
                    "first_paint_s": paint,
                    "interactive_s": interactive,
                    "outage_to_map_median_s": live_median,
                    "outage_to_map_max_s": live_max,
                },
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
