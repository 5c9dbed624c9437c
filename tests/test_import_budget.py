"""Cold start: help and repeated queries load only what they need.

Each case runs a fresh interpreter that invokes the command through click's ``CliRunner`` and
then reports which heavy packages ended up in ``sys.modules``: an import, not a timing, so
the check holds on a loaded CI machine. One generous wall-time budget per command guards
against a slow start coming back by another road.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import pytest

from openoms.cli import COMMANDS
from openoms.grid.native import write_csv_folder
from tests.grid.small import small_raw

# The engines and the service stack: each costs a tenth of a second to a second to import.
HEAVY: Final = (
    "numba",
    "scipy",
    "matplotlib",
    "pandapower",
    "pandas",
    "sqlalchemy",
    "fastapi",
    "uvicorn",
)

_PROBE: Final = """
import json, sys
from click.testing import CliRunner
from openoms.cli import main
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(*commands: list[str]) -> set[str]:
    """``sys.modules`` of a fresh interpreter after invoking ``commands`` in it."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(commands))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def heavy_after(*commands: list[str]) -> list[str]:
    """The heavy packages among them."""
    return sorted({m.split(".")[0] for m in modules_after(*commands)} & set(HEAVY))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["grid", "--help"],
        ["grid", "check", "--help"],
        ["grid", "show", "--help"],
        ["impact", "--help"],
        ["switching", "--help"],
        ["locate", "--help"],
        ["warm-up", "--help"],
    ],
    ids=" ".join,
)
def test_help_imports_no_engine(args: list[str]) -> None:
    assert heavy_after(args) == []


def test_the_command_list_imports_no_command() -> None:
    commands = {target.split(":")[0] for target, _ in COMMANDS.values()}
    assert modules_after(["--help"]) & commands == set()


def test_a_repeated_impact_loads_the_snapshot_and_no_engine(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    write_csv_folder(small_raw(), folder)
    query = ["impact", str(folder), "--open", "K1", "--json"]
    assert "scipy" in heavy_after(query)  # the first run reads, checks and saves the snapshot
    # the second neither validates (scipy) nor runs a kernel (numba): a radial answer is
    # read off the saved topology index
    assert heavy_after(query) == []


def _best_wall_time(args: list[str], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "from openoms.cli import run; run()", *args],
            capture_output=True,
            check=True,
        )
        best = min(best, time.perf_counter() - start)
    return best


def test_help_starts_fast() -> None:
    # 0.1 s on an idle laptop; the budget leaves room for a busy CI machine (the import test
    # above is the precise one)
    assert _best_wall_time(["--help"]) < 1.0
    assert _best_wall_time(["grid", "--help"]) < 1.0
