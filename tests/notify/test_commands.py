"""``openoms roster import`` / ``roster show`` on a fresh SQLite database."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from openoms.cli import main


def test_roster_import_and_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENOMS_CONFIG", raising=False)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    sample = str(files("openoms").joinpath("data", "sample_county_roster.csv"))
    runner = CliRunner()
    result = runner.invoke(main, ["roster", "import", sample, "--db", db])
    assert result.exit_code == 0, result.output
    assert "150 rows imported" in result.stdout
    shown = runner.invoke(
        main, ["roster", "show", "--db", db, "--at", "2025-01-15T09:00", "--grid-cell", "GC-01"]
    )
    assert shown.exit_code == 0, shown.output
    # 2025-01-15 is day 2 from Monday 01-13; even days have the first of the two day people
    assert shown.stdout.splitlines()[1:] == [
        "GC-01  城关供电所抢修一班  黄红梅  138****0001  01-15 08:00–01-15 20:00"
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("grid_cell,crew,person,phone,starts_at,ends_at,fallback\nGC-99,a,b,1,,,yes\n")
    failed = runner.invoke(main, ["roster", "import", str(bad), "--db", db])
    assert failed.exit_code != 0
    assert "bad.csv:2: grid_cell: unknown grid cell 'GC-99'" in str(failed.exception)
