"""``openoms calls predict`` on the bundled sample county.

The lateral fuse CG-F05-K26 (城关Ⅴ线小赵屯支线跌落式熔断器) feeds TA-CG-F05-080 (30 LV
customers) and TA-CG-F05-081 (33). Three callers there (one of them calls twice):
S(K26) = 3a + 60b = 13.815511 − 6.261611 = 7.553900 (a = ln 100, b = ln(0.9/0.999));
alone TA-080 (2 callers) 2a + 28b = 6.288 and TA-081 (1 caller) a + 32b = 1.266, which after
λ = ln 10 each (3.985 + 0) are below K26's 7.554 − 2.303 = 5.251. A lone caller of
TA-CG-F01-001 (283 customers): a + 282b = −24.82 → customer-side.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.cli.calls import CallFileError

CALLS = """time,transformer_area,account
2026-07-01T10:02:00,TA-CG-F05-080,A-1
2026-07-01T10:05:00,TA-CG-F05-080,A-2
2026-07-01T10:05:00,TA-CG-F05-080,A-2
2026-07-01T02:09:00Z,TA-CG-F05-081,
2026-07-01T10:15:00+08:00,TA-CG-F01-001,B-7
2026-07-01T11:30:00,TA-CG-F01-001,B-8
"""


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def calls_file(tmp_path: Path) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text(CALLS, encoding="utf-8")
    return path


def test_predict_as_json(calls_file: Path) -> None:
    document = json.loads(
        _run("calls", "predict", "sample:county", "--calls", str(calls_file), "--json")
    )
    assert document["calls"] == 6
    first, second, third = document["groups"]
    # 10:02 … 10:09 (02:09 UTC) on 城关Ⅴ线; 城关Ⅰ线 at 10:15 and, 75 min later, 11:30
    assert first["rows"] == [2, 3, 4, 5]
    [fuse] = first["predicted"]
    assert fuse["device"] == "CG-F05-K26"
    assert fuse["device_name"] == "城关Ⅴ线小赵屯支线跌落式熔断器"
    assert (fuse["customers_off"], fuse["callers"], fuse["calls"]) == (63, 3, 4)
    assert fuse["score"] == pytest.approx(7.554, abs=1e-3)
    assert fuse["transformer_areas"] == ["TA-CG-F05-080", "TA-CG-F05-081"]
    # status at the file's last call (11:30): 88 min after 10:02 → probable
    assert fuse["status"] == "probable"
    assert fuse["first_call_at"] == "2026-07-01T10:02:00+08:00"
    assert [g["rows"] for g in (second, third)] == [[6], [7]]
    assert second["predicted"] == []
    [screened] = second["screened"]
    assert (screened["row"], screened["element_id"], screened["customers_off"]) == (
        6,
        "TA-CG-F01-001",
        1,
    )


def test_predict_as_a_table(calls_file: Path) -> None:
    zh = _run("calls", "predict", "sample:county", "--calls", str(calls_file), "--lang", "zh")
    assert "预测动作设备：城关Ⅴ线小赵屯支线跌落式熔断器（CG-F05-K26，熔断器）" in zh
    assert "停电用户 63 户 · 来电 4 · 状态 很可能" in zh
    assert "用户侧问题（不派线路抢修，计 1 户）：朝阳路1号台区（TA-CG-F01-001），第 6 行" in zh
    en = _run("calls", "predict", "sample:county", "--calls", str(calls_file), "--lang", "en")
    assert "predicted: 城关Ⅴ线小赵屯支线跌落式熔断器 (CG-F05-K26, fuse) · 63 customers off" in en
    rules = _run(
        "calls", "predict", "sample:county", "--calls", str(calls_file), "--method", "rules"
    )
    assert "CG-F05-K26" in rules


def test_bad_rows_are_named_by_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "time,transformer_area,account\n"
        "yesterday,TA-CG-F05-080,\n"
        "2026-07-01T10:00:00,CG-F05-K26,\n"
        "2026-07-01T10:00:00,,A-1\n",
        encoding="utf-8",
    )
    with pytest.raises(CallFileError) as caught:
        _run("calls", "predict", "sample:county", "--calls", str(path))
    assert caught.value.problems == [
        f"{path}, row 2, column time: 'yesterday' is not an ISO 8601 time",
        f"{path}, row 3, column transformer_area: 'CG-F05-K26' is not a transformer area or "
        "HV customer of network 'sample_county'",
        f"{path}, row 4, column account: 'A-1' needs the customer file (--customers)",
    ]
    header = tmp_path / "header.csv"
    header.write_text("when,area\n", encoding="utf-8")
    with pytest.raises(CallFileError, match="row 1: the header needs a time column"):
        _run("calls", "predict", "sample:county", "--calls", str(header))


def test_accounts_and_meters_through_the_customer_file(tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "account,name,phone,email,address,street,village,element_id,meter_id,lang,channels,"
        "sensitive\n"
        "A-1,王先生,,,小赵屯 1 号,,小赵屯,TA-CG-F05-080,M-1,,,\n"
        "A-2,李女士,,,小赵屯 2 号,,小赵屯,TA-CG-F05-080,M-2,,,\n"
        "A-3,赵先生,,,小赵屯 9 号,,小赵屯,TA-CG-F05-081,M-3,,,\n",
        encoding="utf-8",
    )
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "time,account,meter_id\n"
        "2026-07-01T10:02:00,A-1,\n"
        "2026-07-01T10:03:00,,M-2\n"
        "2026-07-01T10:04:00,A-3,\n"
        "2026-07-01T10:05:00,,M-9\n",
        encoding="utf-8",
    )
    with pytest.raises(CallFileError, match="row 5, column meter_id: no customer has 'M-9'"):
        _run(
            "calls",
            "predict",
            "sample:county",
            "--calls",
            str(calls),
            "--customers",
            str(customers),
        )
    calls.write_text("\n".join(calls.read_text().splitlines()[:-1]) + "\n", encoding="utf-8")
    document = json.loads(
        _run(
            "calls",
            "predict",
            "sample:county",
            "--calls",
            str(calls),
            "--customers",
            str(customers),
            "--json",
        )
    )
    [fuse] = document["groups"][0]["predicted"]
    assert (fuse["device"], fuse["callers"]) == ("CG-F05-K26", 3)
