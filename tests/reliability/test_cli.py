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
