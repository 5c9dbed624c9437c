"""The test ISMG and our CMPP 3.0 PDUs against an independent implementation: the ``cmppy``
0.3 client (PyPI, Apache-2.0, written from the same China Mobile CMPP 3.0 specification).

- cmppy's CMPP_CONNECT and CMPP_SUBMIT, over a real socket, are accepted by the test ISMG
  and decoded field by field to what cmppy was given;
- cmppy's response parsers read the ISMG's CONNECT_RESP (Status, AuthenticatorISMG =
  MD5(Status + AuthenticatorSource + secret), Version) and SUBMIT_RESP (Msg_Id, Result);
- our CONNECT and SUBMIT bytes equal cmppy's for the same inputs (cmppy stamps the CONNECT
  with the current time; ours is given the Timestamp cmppy's PDU carries).
"""

from __future__ import annotations

import hashlib
import socket
import struct
from collections.abc import Iterator

import pytest
from cmppy import Cmppy
from cmppy.request import ConnectReq, SubmitReq
from cmppy.response import parse_response

from openoms.notify.cmpp_pdus import (
    Command,
    MsgFmt,
    SubmitOptions,
    connect_body,
    frame,
    submit_body,
)
from tests.notify.cmpp_ismg import CmppIsmg

SOURCE, SECRET = "901234", "secret"
PHONE = "13812345678"
TEXT = "【计划停电】城关线明日8:00至18:00停电检修"  # 24 characters, one UCS-2 PDU


@pytest.fixture
def ismg() -> Iterator[CmppIsmg]:
    with CmppIsmg({SOURCE: SECRET}) as server:
        yield server


def _exchange(port: int, message: bytes) -> bytes:
    """Send one PDU on a new connection; the answer PDU."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(message)
        head = _read_exactly(sock, 12)
        (length,) = struct.unpack("!I", head[:4])
        return head + _read_exactly(sock, length - 12)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        assert chunk, "the ISMG closed the connection"
        out += chunk
    return out


def _timestamp(req: ConnectReq) -> str:
    """The Timestamp cmppy put in its CONNECT (body octets 23-26), as MMDDHHMMSS."""
    (stamp,) = struct.unpack("!I", req.message[12 + 23 : 12 + 27])
    return f"{stamp:010d}"


def test_cmppys_connect_is_accepted_and_cmppy_reads_the_answer(ismg: CmppIsmg) -> None:
    req = ConnectReq(SOURCE, SECRET)
    res = parse_response(_exchange(ismg.port, req.message))
    assert (res.command_id, res.sequence) == (0x80000001, req.sequence)
    assert res.status == 0
    assert res.version == 0x30
    proof = hashlib.md5(res.raw_status + req.authenticator_source + SECRET.encode()).digest()
    assert res.authenticator_ISMG == proof
    record = ismg.connects[-1]
    assert record.source_addr == SOURCE
    assert record.version == 0x30
    assert f"{record.timestamp:010d}" == _timestamp(req)
    assert record.authenticator == req.authenticator_source
    assert record.status == 0


def test_a_wrong_secret_is_status_3_as_cmppy_reads_it(ismg: CmppIsmg) -> None:
    res = parse_response(_exchange(ismg.port, ConnectReq(SOURCE, "not-the-secret").message))
    assert res.status == 3
    res = parse_response(_exchange(ismg.port, ConnectReq("777777", SECRET).message))
    assert res.status == 2  # unknown Source_Addr
    assert [c.status for c in ismg.connects] == [3, 2]


def test_cmppys_submit_is_decoded_field_by_field(ismg: CmppIsmg) -> None:
    req = SubmitReq(
        msg_src=SOURCE,
        msg_content=TEXT,
        src_id="1065888895598",
        dest_terminal_id=[PHONE, "13900001111"],
        registered_delivery=0,
        msg_level=2,
        service_id="OMSNOTICE",
        fee_usertype=2,
        feetype="01",
        feecode="000000",
        linkid="LINK7",
    )
    res = Cmppy("127.0.0.1", ismg.port, SOURCE, SECRET).request(req)
    assert res is not None, "cmppy's CONNECT was refused"
    assert (res.command_id, res.result) == (0x80000004, 0)
    [record] = ismg.submits
    assert res.msg_id == record.assigned_id != 0
    assert (record.pk_total, record.pk_number, record.registered_delivery) == (1, 1, 0)
    assert record.msg_level == 2
    assert record.service_id == "OMSNOTICE"
    assert (record.fee_user_type, record.fee_terminal_id, record.fee_terminal_type) == (2, "", 0)
    assert (record.tp_pid, record.tp_udhi, record.msg_fmt) == (0, 0, 8)
    assert record.msg_src == SOURCE
    assert (record.fee_type, record.fee_code) == ("01", "000000")
    assert record.valid_time == record.at_time == b"\0" * 17
    assert record.src_id == "1065888895598"
    assert record.dest_terminal_ids == (PHONE, "13900001111")
    assert record.dest_terminal_type == 0
    assert record.content == TEXT.encode("utf-16-be")
    assert record.link_id == b"LINK7".ljust(20, b"\0")
    assert [m.text for m in ismg.messages()] == [TEXT]
    assert ismg.terminates == 1  # cmppy ends with CMPP_TERMINATE, answered
    assert ismg.errors == []


def test_our_connect_equals_cmppys() -> None:
    req = ConnectReq(SOURCE, SECRET)
    ours = connect_body(SOURCE, SECRET, _timestamp(req))
    assert frame(Command.CONNECT, req.sequence, ours) == req.message


def test_our_submit_equals_cmppys() -> None:
    options = SubmitOptions(
        service_id="OMSNOTICE", src_id="1065888895598", msg_src=SOURCE, fee_code="000000"
    )
    req = SubmitReq(
        msg_src=SOURCE,
        msg_content=TEXT,
        src_id="1065888895598",
        dest_terminal_id=[PHONE],
        registered_delivery=1,
        service_id="OMSNOTICE",
        feecode="000000",
    )
    ours = submit_body(PHONE, TEXT.encode("utf-16-be"), options=options)
    assert frame(Command.SUBMIT, req.sequence, ours) == req.message


def test_our_last_long_message_part_equals_cmppys() -> None:
    """Part 3 of 3 with its user data header ``05 00 03 2A 03 03``: cmppy writes the content
    as UTF-16-BE, so the header goes in as the three code units it reads as."""
    tail = "请提前做好准备。"
    udh = bytes((5, 0, 3, 0x2A, 3, 3))
    as_text = udh.decode("utf-16-be") + tail
    options = SubmitOptions(service_id="OMS", src_id="10658888", msg_src=SOURCE)
    req = SubmitReq(
        msg_src=SOURCE,
        msg_content=as_text,
        src_id="10658888",
        dest_terminal_id=[PHONE],
        pk_total=3,
        pk_number=3,
        registered_delivery=1,
        service_id="OMS",
        tp_udhi=1,
        feecode="000000",
    )
    content = udh + tail.encode("utf-16-be")
    ours = submit_body(PHONE, content, options=options, pk_total=3, pk_number=3, tp_udhi=1)
    assert frame(Command.SUBMIT, req.sequence, ours) == req.message
    assert options.msg_fmt is MsgFmt.UCS2
