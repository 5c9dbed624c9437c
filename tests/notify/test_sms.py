"""The crew SMS text and phone masking (pure)."""

from __future__ import annotations

import doctest
from dataclasses import replace
from datetime import UTC, datetime

import pytest

import openoms.contacts.phone
import openoms.notify.sms
from openoms.errors import InputError
from openoms.i18n import Lang
from openoms.notify import (
    BadPhoneError,
    CrewAlert,
    DeviceRef,
    SensitiveOff,
    mask_phone,
    normalize_phone,
    outage_url,
    render_crew_sms,
    sms_segments,
)

ALERT = CrewAlert(
    outage_id=42,
    feeder_name="10kV城关线",
    upstream=DeviceRef("CG-F01-K03", "城关3号开关"),
    downstream=(DeviceRef("CG-F01-K05", "5号分段"), DeviceRef("CG-F01-K07")),
    # 08:02 UTC = 16:02 in Asia/Shanghai (UTC+8, no daylight saving)
    fault_at=datetime(2025, 1, 15, 8, 2, 30, tzinfo=UTC),
    fault_type="phase_to_phase",
    phases="AB",
    customers_off=1234,
    transformer_areas_off=12,
    outage_url=outage_url("https://oms.example.cn/", 42),
    sensitive=(
        SensitiveOff("城关敬老院", "nursing_home", 96),
        SensitiveOff("城关小学", "school", 0),
    ),
)


def test_the_chinese_text_of_a_known_alert() -> None:
    assert render_crew_sms(ALERT, Lang.ZH) == (
        "【故障抢修】10kV城关线城关3号开关至5号分段、CG-F01-K07之间，01-15 16:02，"
        "相间短路（AB相）。停电1234户、12个台区；敏感用户：城关敬老院（敬老院96人）、"
        "城关小学（学校）。详情 https://oms.example.cn/outages/42"
    )


def test_the_english_text_of_a_known_alert() -> None:
    assert render_crew_sms(ALERT, Lang.EN) == (
        "[Repair] 10kV城关线 fault between 城关3号开关 and 5号分段 / CG-F01-K07, 01-15 16:02, "
        "phase-to-phase fault (AB). Off: 1234 customers, 12 TAs. Sensitive: "
        "城关敬老院 (nursing home, 96 people); 城关小学 (school). "
        "https://oms.example.cn/outages/42"
    )


def test_end_of_line_zone_unknown_type_and_many_sensitive_customers() -> None:
    alert = replace(
        ALERT,
        downstream=(),
        fault_type="unknown",
        phases="",
        sensitive=tuple(SensitiveOff(f"养殖场{i}", "livestock_farm") for i in range(5)),
        timezone="UTC",
    )
    assert render_crew_sms(alert, Lang.ZH) == (
        "【故障抢修】10kV城关线城关3号开关至线路末端，01-15 08:02，类型待查。"
        "停电1234户、12个台区；敏感用户：养殖场0（养殖场）、养殖场1（养殖场）、养殖场2（养殖场）"
        "等5户。详情 https://oms.example.cn/outages/42"
    )
    assert "below 城关3号开关 to the line end" in render_crew_sms(alert, Lang.EN)
    assert "and 2 more" in render_crew_sms(alert, Lang.EN)


def test_essentials_first_and_within_five_segments() -> None:
    text = render_crew_sms(ALERT, Lang.ZH)
    first_segment = text[:67]
    for essential in ("10kV城关线", "城关3号开关", "16:02", "相间短路"):
        assert essential in first_segment
    # By parts: 【故障抢修】6 + 10kV城关线 7 + 城关3号开关 6 + 至 1 + 5号分段 4 + 、1
    # + CG-F01-K07 10 + 之间，3 + "01-15 16:02" 11 + ，1 + 相间短路 4 + （AB相）5 + 。1
    # + 停电1234户 7 + 、1 + 12个台区 5 + ；敏感用户：6 + 城关敬老院 5 + （敬老院96人）8 + 、1
    # + 城关小学 4 + （学校）4 + "。详情 " 4 + the URL 33 = 138 UCS-2 characters,
    # ceil(138 / 67) = 3 segments; the first 67 end with "停电1234户".
    assert len(text) == 138
    assert first_segment.endswith("停电1234户")
    assert sms_segments(text) == 3
    english = render_crew_sms(ALERT, Lang.EN)
    assert english.isascii() is False  # the Chinese names make it UCS-2 as well
    assert sms_segments(english) == -(-len(english) // 67) <= 5


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("中" * 70, 1),
        ("中" * 71, 2),
    ],
)
def test_segment_counting(text: str, segments: int) -> None:
    # 160 / 153 per part for 7-bit text, 70 / 67 for UCS-2 (3GPP TS 23.040 with a 6-byte UDH)
    assert sms_segments(text) == segments


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fault_type", "earthquake", "fault_type 'earthquake' is not one of"),
        ("phases", "AX", "phases 'AX' must be letters from ABC"),
        ("fault_at", datetime(2025, 1, 15, 8, 2), "fault_at must be aware"),
        ("sensitive", (SensitiveOff("x", "zoo"),), "unknown category 'zoo'"),
    ],
)
def test_bad_alerts_are_named(field: str, value: object, message: str) -> None:
    with pytest.raises(InputError, match="crew alert of outage 42") as info:
        replace(ALERT, **{field: value})  # type: ignore[arg-type]
    assert message in str(info.value)


def test_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "+86138****5678"
    assert mask_phone("12345") == "***45"
    assert mask_phone("1") == "*"


def test_normalising_and_refusing_numbers() -> None:
    assert normalize_phone("+86 138-1234-5678") == "13812345678"
    assert normalize_phone("8613812345678") == "13812345678"
    for bad in ("1381234567", "23812345678", "12812345678", "phone", ""):
        with pytest.raises(BadPhoneError):
            normalize_phone(bad)
    with pytest.raises(BadPhoneError) as info:
        normalize_phone("138123456789")
    assert "138123456789" not in str(info.value)  # even a bad number is shown masked


def test_docstring_examples() -> None:
    for module in (openoms.notify.sms, openoms.contacts.phone):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
