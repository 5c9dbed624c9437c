"""The command line: every command on the small network, through click and as a process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.grid.native import write_csv_folder
from tests.grid.small import small_raw, small_rows


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    write_csv_folder(small_raw(), folder)
    return folder


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_every_command_has_help() -> None:
    for command in (
        ["--help"],
        ["switching", "--help"],
        ["grid", "--help"],
        ["grid", "check", "--help"],
        ["grid", "show", "--help"],
        ["grid", "convert", "--help"],
        ["impact", "--help"],
        ["demo", "--help"],
    ):
        code, out = _run(*command)
        assert code == 0
        assert "Usage:" in out


def test_grid_check_clean_network(small_folder: Path) -> None:
    code, out = _run("grid", "check", str(small_folder), "--lang", "en")
    assert code == 0
    assert out.strip().endswith("0 error(s), 0 warning(s)")
    code, out = _run("grid", "check", str(small_folder), "--lang", "zh")
    assert "0 个错误，0 个警告" in out


def test_grid_check_reports_file_row_and_field(tmp_path: Path) -> None:
    rows = small_rows()
    rows["sections"][2]["length_km"] = -3
    rows["switches"][3]["to_node"] = "nowhere"
    write_csv_folder(small_raw(rows), tmp_path)
    code, out = _run("grid", "check", str(tmp_path), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    found = {
        (p["kind"], p["table"], p["row"], p["field"], p["element_id"]) for p in report["problems"]
    }
    assert ("out_of_range", "sections", 4, "length_km", "s3") in found
    assert ("unknown_reference", "switches", 5, "to_node", "K1") in found


def test_impact_json_lists_everything_by_id(small_folder: Path) -> None:
    code, out = _run("impact", str(small_folder), "--open", "K1", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["nodes"] == ["A3", "A4"]
    assert result["sections"] == ["s2"]
    assert result["transformer_areas"] == ["TA2"]
    assert result["hv_customers"] == ["HV1"]
    assert result["sensitive_customers"][0]["people"] == 96
    assert result["counts"]["lv_customers"] == 35


def test_impact_text_in_both_languages(small_folder: Path, tmp_path: Path) -> None:
    code, out = _run(
        "impact",
        str(small_folder),
        "--open",
        "CB1",
        "--lang",
        "en",
        "--map",
        str(tmp_path / "cb1.png"),
    )
    assert code == 0
    assert out.startswith("Opening CB1 cuts supply to 2 villages, 3 transformer areas")
    assert (tmp_path / "cb1.png").stat().st_size > 10_000
    code, out = _run("impact", str(small_folder), "--open", "CB1", "--lang", "zh")
    assert out.startswith("断开 CB1 后停电：2 个村、3 个台区")


def test_grid_show_summary_and_map(small_folder: Path, tmp_path: Path) -> None:
    target = tmp_path / "map.svg"
    code, out = _run("grid", "show", str(small_folder), "--json", "--map", str(target))
    assert code == 0
    summary = json.loads(out)
    assert summary["feeders"] == 3
    assert summary["switches"] == {"breaker": 3, "fuse": 1, "load_break_switch": 2}
    assert summary["normally_open_switches"] == 1
    assert summary["lv_customers"] == 175
    assert target.read_text(encoding="utf-8").startswith("<?xml")


def test_grid_convert_to_json_and_back(small_folder: Path, tmp_path: Path) -> None:
    code, _ = _run("grid", "convert", str(small_folder), str(tmp_path / "small.json"))
    assert code == 0
    code, out = _run("impact", str(tmp_path / "small.json"), "--open", "K1", "--json")
    assert json.loads(out)["nodes"] == ["A3", "A4"]


def test_the_installed_command_names_bad_devices(small_folder: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from openoms.cli import run; run()",
            "impact",
            str(small_folder),
            "--open",
            "K1,K99",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown device 'K99'" in done.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from openoms.cli import run; run()",
            "impact",
            str(small_folder / "nope"),
            "--open",
            "K1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "no such file or folder" in done.stderr


def test_switching_sequence(small_folder: Path) -> None:
    code, out = _run("switching", str(small_folder), "open:K1", "close:T1", "--json")
    assert code == 0
    effect = json.loads(out)
    assert effect["transferred"]["transformer_areas"] == ["TA2"]
    assert effect["lost"]["nodes"] == []
    code, out = _run("switching", str(small_folder), "close:T1", "--lang", "en")
    assert out.splitlines()[0] == (
        "After close T1: no customer changes supply; closing T1 makes a parallel between F1 and F3."
    )
    assert "power flow (F1 and F3): after the sequence" in out
    result = CliRunner().invoke(main, ["switching", str(small_folder), "shut:T1"])
    assert result.exit_code == 2
    assert "write open:DEVICE or close:DEVICE" in result.output


def test_db_upgrade_and_token_create(tmp_path: Path) -> None:
    env = {"OPENOMS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    result = CliRunner(env=env).invoke(main, ["db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 0
    from openoms.store.db import head_revision

    assert f"at revision {head_revision()}" in result.stdout
    result = CliRunner(env=env).invoke(
        main,
        ["token", "create", "--name", "王调度", "--role", "dispatcher"],
        catch_exceptions=False,
    )
    token = result.stdout.strip()
    assert token.startswith("oms_")
    assert token.encode() not in (tmp_path / "cli.db").read_bytes()
