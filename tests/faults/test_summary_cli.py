"""``openoms locate`` as the dispatcher reads it: ties, the region over a branch point, a
single section, no evidence, local time and Chinese labels, names rather than ids; and the
empty ``--open`` error in the chosen language. Network and posteriors: tests/faults/fork.py,
tests/faults/test_ties.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.grid.native import write_csv_folder
from tests.faults.fork import fork_raw

# 07:20 UTC is 15:20 in Asia/Shanghai (UTC+8)
TS = int(datetime(2026, 12, 3, 7, 20, tzinfo=UTC).timestamp() * 1000)
TRIP = {
    "topic": "openoms/demo/switches/CB/event",
    "payload": {"sn": "CB", "ts": TS + 100, "event": "trip", "lockout": True},
}


@pytest.fixture(scope="module")
def fork_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fork") / "fork"
    write_csv_folder(fork_raw(), folder)
    return folder


def _report(device: str, ms: int, alarm: bool) -> dict[str, Any]:
    flag = int(alarm)
    return {
        "topic": f"openoms/demo/indicators/{device}/report",
        "payload": {
            "sn": device,
            "ts": TS + ms,
            "data": {"short_circuit_a": flag, "short_circuit_b": flag},
        },
    }


def _locate(folder: Path, tmp_path: Path, messages: list[dict[str, Any]], *args: str) -> str:
    path = tmp_path / "fault.json"
    path.write_text(json.dumps({"messages": messages}), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["locate", str(folder), "--reports", str(path), "--no-cache", *args],
        catch_exceptions=False,
        env={"OPENOMS_TIMEZONE": "Asia/Shanghai"},
    )
    assert result.exit_code == 0, result.output
    return result.stdout


ALL_ALARM = [_report("DC", 10, True), _report("DA", 20, True), _report("DB", 30, True), TRIP]


def test_tied_branches_in_chinese_local_time_and_names(fork_folder: Path, tmp_path: Path) -> None:
    # R (tripped breaker), DC, DA, DB alarm: DA and DB tie at 900/1831 = 49 % each; the
    # region {DC, DA, DB} holds 1830/1831 and is labelled with the target, ≥95 %.
    out = _locate(fork_folder, tmp_path, ALL_ALARM, "--lang", "zh")
    assert "线路：10kV 丙线 (F1)" in out
    assert "故障类型：相间短路  相别：AB" in out
    # the median device time of the alarms: 07:20:00.020Z → 15:20:00 Beijing time
    assert "故障时间：2026-12-03 15:20:00 (Asia/Shanghai)" in out
    assert "派往故障区域（概率≥95%）：#20故障指示器以下至" in out
    assert "东支线#8（末端）" in out
    assert "西支线#6（末端）" in out
    assert "2个区段并列最可能（各49%）" in out
    assert "丙线东支线故障指示器 (DA)  49.15% =" in out  # "=": tied as most likely
    assert "丙线西支线故障指示器 (DB)  49.15% =" in out
    assert "  = 并列最可能" in out
    assert "疑似异常指示器" not in out  # each alarm is explained by one of the tied zones
    assert "≥100%" not in out
    assert "+00:00" not in out


def test_the_same_in_english(fork_folder: Path, tmp_path: Path) -> None:
    out = _locate(fork_folder, tmp_path, ALL_ALARM, "--lang", "en")
    assert "Fault type: phase-to-phase fault  phases: AB" in out
    assert "Fault time: 2026-12-03 15:20:00 (Asia/Shanghai)" in out
    assert "Send the crew: fault region (≥95%): from #20故障指示器 down to " in out
    assert "2 sections tied as most likely (49% each)" in out


def test_a_detector_against_every_tie_is_listed_by_name(fork_folder: Path, tmp_path: Path) -> None:
    messages = [_report("DC", 10, False), _report("DA", 20, True), _report("DB", 30, True), TRIP]
    out = _locate(fork_folder, tmp_path, messages, "--lang", "zh")
    assert "疑似异常指示器：\n  丙线#20故障指示器 (DC)：应为 告警, 实为 未告警" in out


def test_a_single_section_with_its_probability(fork_folder: Path, tmp_path: Path) -> None:
    # DB silent: DA = 900 / (931 + 30·0.1/0.97) = 96 % ≥ 95 %: one section.
    messages = [_report("DC", 10, True), _report("DA", 20, True), _report("DB", 30, False), TRIP]
    out = _locate(fork_folder, tmp_path, messages, "--lang", "zh")
    assert "派往故障区段：东支线故障指示器以下至东支线#8（末端）（概率96%）" in out


def test_no_indicator_report_is_not_a_location(fork_folder: Path, tmp_path: Path) -> None:
    # Only the trip: the relay on the head alarms, the indicators sent nothing (no data).
    out = _locate(fork_folder, tmp_path, [TRIP], "--lang", "zh", "--timezone", "UTC")
    assert "线路：10kV 丙线 (F1)" in out
    assert "派往无故障指示器信息，无法定位故障区段，请全线巡视" in out
    assert "候选区段" not in out
    out = _locate(fork_folder, tmp_path, [TRIP], "--lang", "en")
    assert "no fault indicator information: no section located, patrol the whole feeder" in out
    data = json.loads(_locate(fork_folder, tmp_path, [TRIP], "--json"))
    assert data["where"]["answer"] == "no_evidence"
    assert data["location"]["evidence"] == 0


def test_json_keeps_iso_times_and_adds_the_names(fork_folder: Path, tmp_path: Path) -> None:
    data = json.loads(_locate(fork_folder, tmp_path, ALL_ALARM, "--json"))
    assert data["location"]["fault_time"] == "2026-12-03T07:20:00.020000+00:00"
    where = data["where"]
    assert where["fault_time_local"] == "2026-12-03T15:20:00.020000+08:00"
    assert where["answer"] == "region"
    assert where["target"] == 0.95
    assert {t["zones"][0] for t in where["ties"]} == {"DA", "DB"}
    [stretch] = where["region"]
    assert stretch["start"]["name"] == "丙线#20故障指示器"
    assert sorted(e["name"] for e in stretch["ends"]) == ["丙线东支线#8", "丙线西支线#6"]


@pytest.mark.parametrize(
    ("lang", "line"),
    [
        ("zh", "参数 --open 的值无效：未给出设备：请写出要断开的开关或区段编号，用逗号分隔"),
        ("en", "Invalid value for '--open': no device given: name the switches or sections"),
    ],
)
def test_an_empty_open_list_is_refused_in_the_chosen_language(
    fork_folder: Path, lang: str, line: str
) -> None:
    result = CliRunner().invoke(
        main, ["impact", str(fork_folder), "--open", " , ", "--lang", lang, "--no-cache"]
    )
    assert result.exit_code == 2
    assert line in result.output
