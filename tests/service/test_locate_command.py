"""``openoms locate``: replaying recorded MQTT messages on the small network, in the three file
forms; every bad message named by line (or index) and nothing located from a bad file.

Small network (tests/grid/small.py), feeder F1: CB1 (no relay), D1 (indicator on s1),
D2 (FTU on K1). A short circuit in zone D2 makes the path CB1 → D1 → D2 see fault current.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.grid.load import load_network
from openoms.grid.native import write_csv_folder
from openoms.ingest.replay import ReplayFileError, read_messages
from tests.grid.small import small_raw

TS = 1_764_300_000_000


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    write_csv_folder(small_raw(), folder)
    return folder


def _report(channel: str, device: str, ms: int, **data: int) -> dict[str, Any]:
    return {
        "topic": f"openoms/demo/{channel}/{device}/report",
        "payload": {"sn": device, "ts": TS + ms, "data": data},
    }


LOCKOUT = {
    "topic": "openoms/demo/switches/CB1/event",
    "payload": {"sn": "CB1", "ts": TS + 200, "event": "trip", "lockout": True},
}


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_a_document_of_messages_locates_the_fault(small_folder: Path, tmp_path: Path) -> None:
    doc = {
        "messages": [
            _report("indicators", "D1", 50, short_circuit_a=1, short_circuit_c=1),
            _report("ftus", "D2", 60, short_circuit_a=1, short_circuit_c=1),
            LOCKOUT,
        ]
    }
    path = tmp_path / "fault.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, out = _invoke("locate", str(small_folder), "--reports", str(path), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["feeder"] == "F1"
    assert result["alarms"] == 2
    assert result["location"]["best"] == ["D2"]
    assert result["location"]["phases"] == ["A", "C"]
    assert result["location"]["fault_type"] == "phase_to_phase"
    assert result["location"]["permanent"] is True  # the lockout
    code, text = _invoke("locate", str(small_folder), "--reports", str(path), "--lang", "zh")
    assert code == 0
    assert "甲Ⅰ线" in text
    # D2 alone holds 98.95 % ≥ the 95 % target: one section, not a region
    assert "派往故障区段：" in text
    assert "（概率99%）" in text


def test_mosquitto_sub_lines_and_json_lines(small_folder: Path, tmp_path: Path) -> None:
    alarm = _report("indicators", "D1", 50, short_circuit_b=1)
    silent = _report("ftus", "D2", 60, short_circuit_a=0)
    lines = [f"{m['topic']} {json.dumps(m['payload'])}" for m in (alarm, silent, LOCKOUT)]
    path = tmp_path / "capture.txt"
    path.write_text("# mosquitto_sub -v -t 'openoms/#'\n" + "\n".join(lines), encoding="utf-8")
    code, out = _invoke("locate", str(small_folder), "--reports", str(path), "--json")
    assert code == 0
    assert json.loads(out)["location"]["best"] == ["D1"]  # the FTU spoke and saw nothing
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in (alarm, silent, LOCKOUT)), encoding="utf-8")
    code, out = _invoke("locate", str(small_folder), "--reports", str(path), "--json")
    assert json.loads(out)["location"]["best"] == ["D1"]


def test_every_bad_message_is_named_and_nothing_is_located(
    small_folder: Path, tmp_path: Path
) -> None:
    network = load_network(small_folder)
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(_report("indicators", "D1", 50, short_circuit_a=1)),
                "{not json",
                json.dumps(_report("indicators", "D9", 50, short_circuit_a=1)),
                json.dumps(_report("indicators", "D1", 60, short_circuit_x=1)),
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(ReplayFileError) as caught:
        read_messages(path, network)
    problems = caught.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("line 2: not JSON")
    assert problems[1].startswith("line 3: unknown_device")
    assert "D9" in problems[1]
    assert problems[2].startswith("line 4: malformed")
    assert "short_circuit_x" in problems[2]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from openoms.cli import run; run()",
            "locate",
            str(small_folder),
            "--reports",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "bad.jsonl: 3 bad message(s)" in done.stderr
    assert "line 3: unknown_device" in done.stderr


def test_the_documented_example_locates_the_fault_below_k03(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "docs" / "examples" / "fault-bs-f05.txt"
    picture = tmp_path / "fault.png"
    code, out = _invoke(
        "locate", "sample:county", "--reports", str(example), "--json", "--map", str(picture)
    )
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert code == 0
    result = json.loads(out)
    assert result["feeder"] == "BS-F05"
    assert result["location"]["best"] == ["BS-F05-FI11"]
    assert result["location"]["permanent"] is True  # the reclose failed
    assert set(result["location"]["region"]) == {"BS-F05-K03-FTU", "BS-F05-FI11"}
