"""``openoms reliability``: import all-or-nothing, indices by hand, report, on both databases.

Small network (tests/grid/small.py): N_T = 176 customers. The file below: TA1's 40
customers off 60 min (fault) and TA4's 50 customers off 120 min (planned), in March 2024.
SAIFI = 90 / 176 = 0.5114; SAIDI = (40 × 60 + 50 × 120) / 176 = 8,400 / 176 = 47.73 min.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from openoms.cli import main
from openoms.grid.native import write_csv_folder
from openoms.store.history import DuplicateImportError
from tests.grid.small import small_raw

GOOD = """event_id,unit_id,customers,start,step_end,class,cause
E1,TA1,40,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree
E2,TA4,50,2024-03-10 10:00:00,2024-03-10 12:00:00,planned,maintenance
"""
BAD = GOOD + "E3,TA9,5,2024-03-11 10:00:00,2024-03-11 09:00:00,planned,work\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_csv_folder(small_raw(), tmp_path / "small")
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.csv").write_text(BAD, encoding="utf-8")
    return tmp_path


def _run(database_url: str, *args: str) -> Result:
    runner = CliRunner(env={"OPENOMS_DATABASE_URL": database_url, "OPENOMS_CONFIG": ""})
    return runner.invoke(main, ["reliability", *args])


def test_import_then_indices_by_hand(database_url: str, folder: Path) -> None:
    network = str(folder / "small")
    done = _run(database_url, "import", str(folder / "good.csv"), "--network", network)
    assert done.exit_code == 0, done.output
    assert "imported 2 rows, 2 events" in done.stdout or "已导入 2 行" in done.stdout
    result = _run(
        database_url,
        *("--from", "2024-03-01", "--to", "2024-04-01", "--network", network, "--json"),
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    system = body["ieee1366"]["all"]
    assert system["saifi"] == pytest.approx(90 / 176)
    assert system["saidi_min"] == pytest.approx(8_400 / 176)
    assert body["dlt836"]["splits"]["planned"]["user_hours"] == pytest.approx(2.0)
    text = _run(
        database_url,
        "--from",
        "2024-03-01",
        "--to",
        "2024-04-01",
        "--lang",
        "en",
        "--by",
        "class",
        "--network",
        network,
    )
    assert "SAIDI (minutes per customer): 47.727" in text.stdout
    assert "planned |" in text.stdout
    again = _run(database_url, "import", str(folder / "good.csv"), "--network", network)
    assert isinstance(again.exception, DuplicateImportError)
    listed = json.loads(_run(database_url, "imports", "--json").stdout)
    assert [(i["source"], i["rows"], i["events"]) for i in listed] == [("good.csv", 2, 2)]
    deleted = _run(database_url, "delete-import", str(listed[0]["id"]))
    assert deleted.stdout.strip() == f"deleted import {listed[0]['id']}: good.csv, 2 rows"
    assert json.loads(_run(database_url, "imports", "--json").stdout) == []
    assert (
        _run(database_url, "import", str(folder / "good.csv"), "--network", network).exit_code == 0
    )


@pytest.mark.slow  # a real process: about 6 s
def test_a_bad_file_names_its_rows_and_imports_nothing(database_url: str, folder: Path) -> None:
    env = {**os.environ, "OPENOMS_DATABASE_URL": database_url, "OPENOMS_CONFIG": ""}
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "from openoms.cli import run; run()",
            "reliability",
            "import",
            str(folder / "bad.csv"),
            "--network",
            str(folder / "small"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert process.returncode == 2
    assert "bad.csv: 2 problem(s), nothing imported" in process.stderr
    assert "bad.csv, row 4, unit_id: 'TA9'" in process.stderr
    assert "bad.csv, row 4, step_end" in process.stderr
    listed = _run(database_url, "imports", "--json")
    assert json.loads(listed.stdout) == []


def test_the_report_option_writes_both_pages(database_url: str, folder: Path) -> None:
    network = str(folder / "small")
    _run(database_url, "import", str(folder / "good.csv"), "--network", network)
    out = folder / "report"
    result = _run(
        database_url,
        *("--from", "2024-03-01", "--to", "2024-04-01", "--network", network),
        *("--report", str(out), "--lang", "en"),
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.glob("*.html")} == {"reliability-zh.html", "reliability-en.html"}
    assert f"report: {out / 'reliability-en.html'}" in result.stdout


def test_the_default_period_is_the_year_up_to_today() -> None:
    from datetime import UTC, datetime

    from openoms.service.reliability import parse_period

    # 2025-01-30 10:00 in Shanghai: the period is [2024-01-31, 2025-01-31) local time
    start, end = parse_period(
        None, None, tz="Asia/Shanghai", now=datetime(2025, 1, 30, 2, tzinfo=UTC)
    )
    assert datetime.fromtimestamp(start, UTC).isoformat() == "2024-01-30T16:00:00+00:00"
    assert datetime.fromtimestamp(end, UTC).isoformat() == "2025-01-30T16:00:00+00:00"
    # on 29 February the year before has no such day: 28 February
    start, _ = parse_period(None, "2024-02-29", tz="UTC", now=datetime(2024, 3, 1, tzinfo=UTC))
    assert datetime.fromtimestamp(start, UTC).date().isoformat() == "2023-02-28"


RECLOSING = """event_id,unit_id,customers,start,step_end,class,cause,operations
E1,TA1,40,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree,
E2,TA4,50,2024-03-10 10:00:00,2024-03-10 12:00:00,planned,maintenance,1
E3,TA2,35,2024-03-12 09:00:00,2024-03-12 09:00:40,fault_internal,lightning,2
"""


def test_every_engine_setting_is_an_option_and_is_said(database_url: str, folder: Path) -> None:
    """GOOD plus E3: TA2's 35 customers out 40 s, two reclosing operations (``operations``).
    N_T = 176, 6 users; March 2024 = 744 h.

    - MAIFI = 2 × 35 / 176 = 0.39773, MAIFIe = 35 / 176 = 0.19886 (IEEE 1366-2012 3.5.1/2).
    - ``--sustained-threshold 60`` with ``>``: TA1's 60 min is not longer than 60 → momentary:
      SAIFI = 50 / 176 = 0.28409, MAIFI = (40 + 2 × 35) / 176 = 0.625, MAIFIe = 75 / 176;
      with ``>=`` it is sustained: SAIFI = 90 / 176 = 0.51136.
    - ``--short-interruption 3600``: DL/T 836 leaves out ≤ 1 h, so TA1's 1 h goes: AIHC-1 =
      2 h / 6 = 0.33333 h; RS-1 = (1 − 0.33333 / 744) × 100 = 99.95520 %.
    - ``--cemi 0,1``: every unit once: CEMI0 = 90 / 176 (with ``>=``), CEMI1 = 0.
    - ``--med-threshold 10``: the daily SAIDI 2,400 / 176 = 13.64 and 6,000 / 176 = 34.09
      are above 10 min: two major event days (2024-03-05, 2024-03-10).
    """
    network = str(folder / "small")
    (folder / "reclosing.csv").write_text(RECLOSING, encoding="utf-8")
    done = _run(database_url, "import", str(folder / "reclosing.csv"), "--network", network)
    assert done.exit_code == 0, done.output
    assert "4 rows" in done.stdout or "4 行" in done.stdout  # E3 once per operation
    period = ("--from", "2024-03-01", "--to", "2024-04-01", "--network", network)
    options = ("--sustained-threshold", "60", "--short-interruption", "3600", "--cemi", "0,1")
    strict = json.loads(
        _run(database_url, *period, *options, "--sustained-operator", ">", "--json").stdout
    )
    system = strict["ieee1366"]["all"]
    assert system["saifi"] == pytest.approx(50 / 176)
    assert system["maifi"] == pytest.approx((40 + 2 * 35) / 176)  # TA1's hour is momentary too
    assert system["maifie"] == pytest.approx((40 + 35) / 176)
    at_least = _run(
        database_url,
        *period,
        *options,
        "--sustained-operator",
        ">=",
        "--med-threshold",
        "10",
        "--json",
    )
    assert at_least.exit_code == 0, at_least.output
    body = json.loads(at_least.stdout)
    system = body["ieee1366"]["all"]
    assert system["saifi"] == pytest.approx(90 / 176)
    assert system["maifi"] == pytest.approx(2 * 35 / 176)
    assert system["maifie"] == pytest.approx(35 / 176)
    assert system["cemi_0"] == pytest.approx(90 / 176)
    assert system["cemi_1"] == 0.0
    assert body["dlt836"]["aihc1_h"] == pytest.approx(2 / 6)
    assert body["dlt836"]["rs1_pct"] == pytest.approx((1 - (2 / 6) / 744) * 100)
    assert body["med_days"] == ["2024-03-05", "2024-03-10"]
    assert body["settings"] | {"tz": None} == {
        "sustained_threshold_s": 3600.0,
        "sustained_operator": ">=",
        "short_interruption_s": 3600.0,
        "med_ddof": 1,
        "med_history_years": 5,
        "cemi_n": [0, 1],
        "tz": None,
        "celid_threshold_h": 8.0,
        "worst_n": 10,
    }
    text = _run(database_url, *period, *options, "--sustained-operator", ">=", "--lang", "en")
    assert "settings: sustained if duration >= 60 min (IEEE 1366)" in text.stdout
    assert "DL/T 836 leaves out interruptions ≤ 3600 s" in text.stdout
    assert "CEMIn n = 0,1" in text.stdout
    assert "3 events (2 sustained, 1 momentary only)" in text.stdout
    bad = _run(database_url, *period, "--cemi", "1,one")
    assert bad.exit_code != 0
    assert "--cemi: '1,one'" in str(bad.exception)


def test_settings_come_from_the_environment(database_url: str, folder: Path) -> None:
    """OPENOMS_RELIABILITY_* reach the engine: with DL/T 836 counting everything ≥ 2 h out
    (short interruption 7,200 s), TA4's 2 h goes too: AIHC-1 = 0 / 6 = 0, RS-1 = 100 %;
    CEMI levels 0,1 from a comma list: CEMI0 = 90 / 176."""
    network = str(folder / "small")
    _run(database_url, "import", str(folder / "good.csv"), "--network", network)
    runner = CliRunner(
        env={
            "OPENOMS_DATABASE_URL": database_url,
            "OPENOMS_CONFIG": "",
            "OPENOMS_RELIABILITY_SHORT_INTERRUPTION_S": "7200",
            "OPENOMS_RELIABILITY_CEMI": "0,1",
        }
    )
    result = runner.invoke(
        main,
        [
            "reliability",
            "--from",
            "2024-03-01",
            "--to",
            "2024-04-01",
            "--network",
            network,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["settings"]["short_interruption_s"] == 7200.0
    assert body["dlt836"]["aihc1_h"] == 0.0
    assert body["ieee1366"]["all"]["cemi_0"] == pytest.approx(90 / 176)
