"""``openoms notices …`` on a fresh SQLite database with the sample county."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.outages.notices import NoticeSubject
from openoms.service.notices import publish_notice
from openoms.settings import Settings
from openoms.store.db import make_engine, make_session_factory
from tests.notify.notice_helpers import Clock, make_context

CSV = """account,name,phone,email,address,street,village,element_id,meter_id,lang,channels,sensitive
C1,周一,13800000001,,朝阳路1号,朝阳路,城关镇,TA-CG-F01-001,,,sms,no
C2,县人民医院,13800000002,yy@example.cn,丽景小区,丽景小区,城关镇,HV-CG-F04-01,,,sms;email,yes
"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENOMS_CONFIG", raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_import_list_show_and_preview(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    file = tmp_path / "customers.csv"
    file.write_text(CSV, encoding="utf-8")
    result = runner.invoke(main, ["notices", "customers", "import", str(file), "--db", db])
    assert result.exit_code == 0, result.output
    assert "2 customers imported" in result.stdout
    engine = make_engine(db)
    try:
        sessions = make_session_factory(engine)
        context = make_context(engine, sessions, Clock(), notice_hold_s=0.0)
        subject = NoticeSubject(
            ref="planned:7",
            kind="planned",
            action="new",
            revision=1,
            starts_at=datetime(2026, 12, 11, 0, tzinfo=UTC),
            ends_at=datetime(2026, 12, 11, 6, tzinfo=UTC),
            element_ids=("TA-CG-F01-001",),
            villages=("城关镇",),
            streets=("朝阳路",),
            line="10kV城关Ⅰ线",
            reason_zh="更换柱上开关",
            reason_en="replacing a pole-mounted switch",
        )
        with sessions.begin() as session:
            notice_id = publish_notice(context, session, subject, now=context.clock()).notice_id
    finally:
        engine.dispose()
    listed = runner.invoke(main, ["notices", "list", "--db", db])
    assert listed.exit_code == 0, listed.output
    assert "planned:7 r1 planned/new  pending 3" in listed.stdout  # 1 SMS, 2 media texts
    shown = runner.invoke(main, ["notices", "show", str(notice_id), "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "138****0001" in shown.stdout
    assert "13800000001" not in shown.stdout
    preview = runner.invoke(
        main, ["notices", "preview", "--ref", "planned:7", "--db", db, "--channel", "sms"]
    )
    assert preview.exit_code == 0, preview.output
    # 00:00-06:00 UTC is 08:00-14:00 in Asia/Shanghai
    assert "定于12月11日08:00至14:00对10kV城关Ⅰ线停电作业" in preview.stdout
    english = runner.invoke(
        main,
        [
            "notices",
            "preview",
            "--ref",
            "planned:7",
            "--db",
            db,
            "--channel",
            "email",
            "--lang",
            "en",
        ],
    )
    assert "Planned power outage: 11 Dec 08:00 to 14:00" in english.stdout
    cancelled = runner.invoke(
        main,
        [
            "notices",
            "preview",
            "--ref",
            "planned:7",
            "--db",
            db,
            "--action",
            "cancelled",
            "--channel",
            "sms",
        ],
    )
    assert "停电取消通知" in cancelled.stdout


def test_a_bad_file_names_its_rows(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV + "C3,王五,13800000003,,某处,,,TA-NOPE,,,sms,no\n", encoding="utf-8")
    failed = CliRunner().invoke(main, ["notices", "customers", "import", str(bad), "--db", db])
    assert failed.exit_code != 0
    assert "bad.csv:4: element_id 'TA-NOPE': not a transformer area or HV customer" in str(
        failed.exception
    )


def test_preview_without_a_database(db: str) -> None:
    result = CliRunner().invoke(
        main,
        [
            "notices",
            "preview",
            "--kind",
            "fault",
            "--starts",
            "2026-12-11T15:20",
            "--channel",
            "sms",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "自12月11日15:20起停电" in result.stdout
    assert Settings().timezone == "Asia/Shanghai"
