"""The README's main job runs end to end: impact maps, a scripted day through the service
(faults located, the crew SMS sent to a simulated SMSC), the reliability report."""

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
    assert "[6/6] results written" in done.stdout
    for picture in ("00-county.png", "01-breaker.png", "05-day.png", "06-fault.png"):
        assert (tmp_path / picture).stat().st_size > 10_000
    assert "crew SMS → 138****" in done.stdout  # the phone masked, the SMS sent
    faults = json.loads((tmp_path / "faults.json").read_text(encoding="utf-8"))
    sustained = next(f for f in faults if f["lockout"])
    assert sustained["located_zone"] is not None
    assert sustained["alert_state"] in {"sent", "delivered"}  # delivered once the receipt is in
    assert "SAIDI" in done.stdout
    report = tmp_path / "07-reliability" / "reliability-en.html"
    assert "SAIFI" in report.read_text(encoding="utf-8")
    records = json.loads((tmp_path / "outages.json").read_text(encoding="utf-8"))
    by_kind = {(r["kind"], r["momentary"]): r for r in records}
    permanent = by_kind[("fault", False)]
    assert permanent["state"] == "closed"
    assert len(permanent["steps"]) == 2
    assert all(a["restored_at"] for a in permanent["areas"])
    assert "桃庄镇敬老院" in permanent["summary"]["zh"]
    assert by_kind[("fault", True)]["state"] == "restored"
    # the 15:20 lone call: screened as customer-side, one customer counted (not its area's 48)
    customer = by_kind[("customer", False)]
    assert customer["state"] == "detected"
    assert [a["customers"] for a in customer["areas"]] == [1]
    # the 16:40 calls under a lateral fuse: one predicted device, re-fused at 17:30
    [fuse] = [r for r in records if r["kind"] == "fault" and "prediction" in r["summary"]]
    assert (fuse["kind"], fuse["operated_device"], fuse["state"]) == (
        "fault",
        "CG-F05-K26",
        "restored",
    )
