"""axe-core in the page under test: the accessibility check of the browser tests.

axe-core (MPL-2.0) is vendored for the tests only: tests/web/vendor/axe-core/axe.min.js with
its licences, from the npm registry (version, tarball and integrity in
tests/web/vendor/manifest.json). It is injected into the page under test by Playwright,
never served by OpenOMS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from playwright.sync_api import Page

__all__ = ["AXE", "BLOCKING", "VENDOR", "violations"]

VENDOR: Final = Path(__file__).parent / "vendor"
AXE: Final = VENDOR / "axe-core" / "axe.min.js"
BLOCKING: Final = ("serious", "critical")


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one sentence
    each (rule, impact, help, the first three elements)."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in BLOCKING
    ]
