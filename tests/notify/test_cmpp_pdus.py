"""CMPP 3.0 PDUs: the cut of long texts, the authenticators, the status report."""

from __future__ import annotations

import hashlib
import struct
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from openoms.notify.cmpp_pdus import (
    CmppDecodeError,
    MsgFmt,
    SubmitOptions,
    authenticator_ismg,
    authenticator_source,
    connect_body,
    encode_parts,
    parse_connect_resp,
    parse_deliver,
    parse_header,
    submit_body,
    timestamp_of,
)


def test_seventy_ucs2_characters_fit_one_part_seventy_one_need_two() -> None:
    """140 octets = 70 UCS-2 characters; with a 6-octet header 134 octets = 67 characters."""
    [(content, udhi)] = encode_parts("停" * 70, MsgFmt.UCS2, 7)
    assert (len(content), udhi) == (140, 0)
    parts = encode_parts("停" * 71, MsgFmt.UCS2, 7)
    assert [(len(c), u) for c, u in parts] == [(6 + 134, 1), (6 + 8, 1)]  # 67 + 4 characters
    assert [c[:6] for c, _ in parts] == [bytes((5, 0, 3, 7, 2, 1)), bytes((5, 0, 3, 7, 2, 2))]


def test_a_surrogate_pair_is_never_cut() -> None:
    text = "停" * 66 + "😀" + "电" * 5  # 73 UTF-16 units; the emoji is units 67-68

    parts = encode_parts(text, MsgFmt.UCS2, 1)
    assert len(parts[0][0]) == 6 + 66 * 2
    assert "".join(c[6:].decode("utf-16-be") for c, _ in parts) == text


def test_gbk_cuts_at_character_boundaries() -> None:
    """GBK: 2 octets a Chinese character, 1 an ASCII one. 70 Chinese = 140 octets, one part;
    "a" + 70 Chinese = 141 octets: parts of ≤ 134 octets never split a character."""
    assert len(encode_parts("停" * 70, MsgFmt.GBK, 1)) == 1
    parts = encode_parts("a" + "停" * 70, MsgFmt.GBK, 1)
    assert [len(c) - 6 for c, _ in parts] == [133, 8]  # "a" + 66 characters, then 4
    assert "".join(c[6:].decode("gbk") for c, _ in parts) == "a" + "停" * 70
    with pytest.raises(ValueError, match="cannot encode '😀'"):
        encode_parts("停电😀", MsgFmt.GBK, 1)


def test_the_authenticators_are_the_md5_the_specification_gives() -> None:
    source = authenticator_source("901234", "secret", "0115160000")
    expected = hashlib.md5(b"901234" + b"\0" * 9 + b"secret" + b"0115160000").digest()
    assert source == expected
    ismg = authenticator_ismg(0, source, "secret")
    assert ismg == hashlib.md5(b"\0\0\0\0" + source + b"secret").digest()
    body = connect_body("901234", "secret", "0115160000")
    assert len(body) == 27
    assert body[22:] == struct.pack("!BI", 0x30, 115160000)


def test_timestamp_is_mmddhhmmss() -> None:
    at = datetime(2025, 1, 15, 16, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert timestamp_of(at) == "0115160005"


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="Service_Id 'SERVICE-ID-TOO-LONG'"):
        submit_body("13812345678", b"x", options=SubmitOptions(service_id="SERVICE-ID-TOO-LONG"))
    with pytest.raises(ValueError, match="Msg_Content of 141 octets"):
        submit_body("13812345678", b"x" * 141, options=SubmitOptions())
    with pytest.raises(ValueError, match="Timestamp '1015'"):
        connect_body("901234", "secret", "1015")
    with pytest.raises(CmppDecodeError, match="CONNECT_RESP body of 4 octets"):
        parse_connect_resp(b"\0" * 4)
    with pytest.raises(CmppDecodeError, match="Total_Length 8"):
        parse_header(struct.pack("!III", 8, 1, 1))


def test_a_status_report_is_read_from_a_deliver() -> None:
    report = struct.pack(
        "!Q7s10s10s32sI", 0x1234, b"DELIVRD", b"2501151600", b"2501151601", b"13812345678", 9
    )
    body = (
        struct.pack("!Q21s10sBBB32sBBB", 77, b"10658888", b"OMS", 0, 0, 0, b"13812345678", 0, 1, 71)
        + report
        + b"\0" * 20
    )
    deliver = parse_deliver(body)
    assert deliver.msg_id == 77
    assert deliver.report is not None
    assert (deliver.report.msg_id, deliver.report.stat) == (0x1234, "DELIVRD")
    assert deliver.report.dest_terminal_id == "13812345678"
    assert (deliver.report.submit_time, deliver.report.done_time) == ("2501151600", "2501151601")
    with pytest.raises(CmppDecodeError, match="Msg_Length 71 but 30 octets"):
        parse_deliver(body[: 77 + 30])  # the 77-octet head, then 30 of the 71
