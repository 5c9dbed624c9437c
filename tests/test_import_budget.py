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


def modules_after(*commands: list[str], prefix: str = "") -> set[str]:
    """``sys.modules`` of a fresh interpreter after invoking ``commands`` in it (``prefix``:
    code run first)."""
    done = subprocess.run(
        [sys.executable, "-c", prefix + _PROBE, json.dumps(list(commands))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def heavy_after(*commands: list[str], prefix: str = "") -> list[str]:
    """The heavy packages among them."""
    modules = modules_after(*commands, prefix=prefix)
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


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


def test_a_repeated_locate_and_switching_on_the_county_load_no_engine(tmp_path: Path) -> None:
    # the county's feeders are small: the kernels run their Python source, numba stays out
    # (openoms.grid.jit); the first run saves the snapshot
    fault = str(Path(__file__).parents[1] / "docs" / "examples" / "fault-bs-f05.txt")
    locate = ["locate", "sample:county", "--reports", fault, "--json"]
    switching = ["switching", "sample:county", "open:CG-F01-K06", "close:CG-F01-K13", "--json"]
    env_probe = f"import os; os.environ['OPENOMS_DATA_DIR'] = {str(tmp_path)!r}\n"
    for args in (locate, switching):
        assert modules_after(args, prefix=env_probe)  # the first run reads and saves
        assert heavy_after(args, prefix=env_probe) == []


def test_the_timezone_without_pydantic_is_the_settings_one(tmp_path: Path) -> None:
    from openoms.cli._common import DEFAULT_TIMEZONE, timezone_of
    from openoms.settings import Settings, load_settings

    assert Settings.model_fields["timezone"].default == DEFAULT_TIMEZONE
    for environ in (
        {},
        {"OPENOMS_TIMEZONE": "Asia/Urumqi"},
        {"OPENOMS_DATA_DIR": str(tmp_path), "OPENOMS_TIMEZONE": "Europe/Berlin"},
        {"OPENOMS_UTILITY": "x", "OPENOMS_TIMEZONE": "Asia/Urumqi"},  # read by the settings
    ):
        assert timezone_of(environ) == load_settings(environ=environ).timezone, environ
