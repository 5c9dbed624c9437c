"""The README's main job runs end to end: impact maps, then a scripted day through the service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_openoms_demo_runs_the_main_job(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from openoms.cli import run; run()",
            "demo",
            "--out",
            str(tmp_path),
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[5/5] results written" in done.stdout
    for picture in ("00-county.png", "01-breaker.png", "05-day.png"):
        assert (tmp_path / picture).stat().st_size > 10_000
    records = json.loads((tmp_path / "outages.json").read_text(encoding="utf-8"))
    by_kind = {(r["kind"], r["momentary"]): r for r in records}
    permanent = by_kind[("fault", False)]
    assert permanent["state"] == "closed"
    assert len(permanent["steps"]) == 2
    assert all(a["restored_at"] for a in permanent["areas"])
    assert "桃庄镇敬老院" in permanent["summary"]["zh"]
    assert by_kind[("fault", True)]["state"] == "restored"
    assert by_kind[("customer", False)]["state"] == "detected"
