"""``openoms planned …``: the preview on a network file, and book → approve → list → show on
a fresh SQLite database with the sample county (the notice rule counts from now)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.events import Event, EventKind, EventSource
from openoms.grid.native import write_csv_folder
from openoms.store import eventlog
from openoms.store.db import make_engine, make_session_factory
from tests.grid.small import small_raw


def test_preview_shows_the_switching_who_is_off_and_the_comparison(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    write_csv_folder(small_raw(), folder)
    args = ["planned", "preview", str(folder), "--work-on", "s1", "--reason", "更换 17 号杆"]
    window = ["--start", "2030-06-10T08:00", "--end", "2030-06-10T14:00"]
    result = CliRunner().invoke(main, [*args, *window, "--lang", "zh"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "计划停电预览：计划检修 更换 17 号杆"
    assert "  时间：2030-06-10 08:00 – 2030-06-10 14:00" in lines
    assert "  线路：甲Ⅰ线" in lines
    assert "  1. 拉开 K1 (K1) [遥控]" in lines
    assert "  2. 合上 T1 (T1) [遥控]" in lines
    assert "  3. 拉开 CB1 (CB1) [遥控]" in lines
    # TA1 + TA3 = 60 customers for 6 h = 360 customer-hours; live-line work keeps all on.
    assert any(line.startswith("  停电作业：60 户停电，360 户·时") for line in lines)
    assert "  带电作业：0 户停电，少停 60 户、360 户·时" in lines
    assert lines[-1] == "通知截止：2030-06-02 08:00"
    english = CliRunner().invoke(main, [*args, *window, "--lang", "en", "--json"])
    assert english.exit_code == 0, english.output
    found = json.loads(english.stdout)
    assert found["opened"] == ["K1", "CB1"]
    assert found["summary"]["customers"] == 60
    assert found["notice_problem"] is None
    late = CliRunner().invoke(
        main, [*args, "--start", "2020-01-01T08:00", "--end", "2020-01-01T09:00", "--lang", "en"]
    )
    assert late.exit_code == 0  # a preview says so, it does not refuse
    assert "already past" in late.stdout
    bad = CliRunner().invoke(main, [*args[:3], "--work-on", "TA1", *window])
    assert bad.exit_code != 0
    assert "TA1: it is a transformer area, not a stretch of line" in str(bad.exception)


@pytest.mark.slow
def test_book_approve_list_and_show_on_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENOMS_CONFIG", raising=False)
    monkeypatch.setenv("OPENOMS_DATA_DIR", str(tmp_path))
    db = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    local = datetime.now(ZoneInfo("Asia/Shanghai")).replace(minute=0, second=0, microsecond=0)
    start = (local + timedelta(days=10)).replace(hour=8, tzinfo=None)
    window = ["--start", start.isoformat(), "--end", (start + timedelta(hours=6)).isoformat()]
    runner = CliRunner()
    booked = runner.invoke(
        main,
        [
            "planned",
            "book",
            "--work-on",
            "BS-F05-S0012",
            "--reason",
            "更换12号杆",
            *window,
            *db,
            "--lang",
            "en",
            "--json",
        ],
    )
    assert booked.exit_code == 0, booked.output
    work = json.loads(booked.stdout)
    assert work["state"] == "draft"
    assert work["customers"] > 0
    approved = runner.invoke(main, ["planned", "approve", str(work["id"]), *db, "--json"])
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["state"] == "notified"
    listed = runner.invoke(main, ["planned", "list", *db, "--lang", "en"])
    assert listed.exit_code == 0, listed.output
    assert f"{work['id']:>5}  notified" in listed.stdout
    assert "10kV 柏山Ⅴ线" in listed.stdout
    shown = runner.invoke(main, ["planned", "show", str(work["id"]), *db, "--lang", "zh"])
    assert shown.exit_code == 0, shown.output
    assert "notified" in shown.stdout
    assert "倒闸操作：" in shown.stdout
    cancelled = runner.invoke(main, ["planned", "cancel", str(work["id"]), *db, "--json"])
    assert json.loads(cancelled.stdout)["state"] == "cancelled"
    missing = runner.invoke(main, ["planned", "show", "999", *db])
    assert missing.exit_code != 0
    assert "no planned outage with id 999" in str(missing.exception)


@pytest.mark.slow
def test_book_plans_on_the_live_switch_states_of_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI books on what the running service would see: the network's present states with
    the processed switching events replayed. Here the switch above the work (BS-F05-K02) was
    opened after the network was loaded, so the section is already off and there is nothing to
    switch — on the network file alone the booking would open four switches."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENOMS_CONFIG", raising=False)
    monkeypatch.setenv("OPENOMS_DATA_DIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    local = datetime.now(ZoneInfo("Asia/Shanghai")).replace(minute=0, second=0, microsecond=0)
    start = (local + timedelta(days=10)).replace(hour=8, tzinfo=None)
    book = [
        "planned",
        "book",
        "--work-on",
        "BS-F05-S0012",
        "--reason",
        "更换12号杆",
        "--start",
        start.isoformat(),
        "--end",
        (start + timedelta(hours=6)).isoformat(),
        "--db",
        url,
        "--json",
    ]
    first = CliRunner().invoke(main, book)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["opened"] == [
        "BS-F05-K02",
        "BS-F05-K03",
        "BS-F05-K10",
        "BS-F05-K11",
    ]
    engine = make_engine(url)
    try:
        now = datetime.now(UTC)
        opened = Event(
            EventKind.SWITCH_POSITION, EventSource.HTTP, "BS-F05-K02", now, {"closed": False}
        )
        with make_session_factory(engine).begin() as session:
            (event_id,) = eventlog.append_events(session, [opened], received_at=now).accepted
            eventlog.mark_processed(session, event_id, at=now, outcome="switching")
    finally:
        engine.dispose()
    second = CliRunner().invoke(main, book)
    assert second.exit_code != 0
    assert "BS-F05-S0012: already off supply; nothing to switch" in str(second.exception)
