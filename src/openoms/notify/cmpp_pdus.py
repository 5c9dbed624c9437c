"""CMPP 3.0 PDUs (China Mobile Peer to Peer, the protocol of mainland carriers' SMS gateways,
the ISMG): the bytes of what the SP (us) sends and the decoding of what the ISMG answers.

Pure functions over bytes; the session is :mod:`.cmpp`. Layouts from the CMPP 3.0 interface
specification (中国移动通信互联网短信网关接口协议 V3.0.0), all integers big-endian, every
string a fixed-width octet string padded with NUL:

- header (12): Total_Length 4, Command_Id 4, Sequence_Id 4;
- CMPP_CONNECT (27): Source_Addr 6, AuthenticatorSource 16
  (MD5 of Source_Addr + 9 × 0x00 + shared secret + Timestamp as "MMDDHHMMSS"), Version 1
  (0x30), Timestamp 4 (the same MMDDHHMMSS as an integer);
- CMPP_CONNECT_RESP (21): Status 4, AuthenticatorISMG 16 (MD5 of Status + AuthenticatorSource
  + shared secret), Version 1;
- CMPP_SUBMIT: see :func:`submit_body`; CMPP_SUBMIT_RESP (12): Msg_Id 8, Result 4;
- CMPP_DELIVER: Msg_Id 8, Dest_Id 21, Service_Id 10, TP_pid 1, TP_udhi 1, Msg_Fmt 1,
  Src_terminal_Id 32, Src_terminal_type 1, Registered_Delivery 1, Msg_Length 1,
  Msg_Content, LinkID 20; a status report (Registered_Delivery 1) carries in Msg_Content
  Msg_Id 8, Stat 7, Submit_time 10, Done_time 10, Dest_terminal_Id 32, SMSC_sequence 4;
  CMPP_DELIVER_RESP (12): Msg_Id 8, Result 4;
- CMPP_ACTIVE_TEST (0) / _RESP (1: Reserved); CMPP_TERMINATE (0) / _RESP (0).

Long texts go as concatenated parts with a user data header (TP_udhi 1, ``05 00 03 ref total
n``), each part at most 140 octets with its header.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Final

from openoms.errors import OpenOMSError

__all__ = [
    "HEADER",
    "MAX_OCTETS",
    "VERSION",
    "CmppDecodeError",
    "Command",
    "ConnectResp",
    "Deliver",
    "MsgFmt",
    "StatusReport",
    "SubmitOptions",
    "SubmitResp",
    "authenticator_ismg",
    "authenticator_source",
    "connect_body",
    "connect_status_text",
    "deliver_resp_body",
    "encode_parts",
    "frame",
    "parse_connect_resp",
    "parse_deliver",
    "parse_header",
    "parse_submit_resp",
    "submit_body",
    "submit_result_text",
    "timestamp_of",
]

HEADER: Final = struct.Struct("!III")
VERSION: Final = 0x30
MAX_OCTETS: Final = 140
"""Msg_Content of one part, user data header included."""
_UDH_OCTETS: Final = 6


class Command(IntEnum):
    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008


class MsgFmt(IntEnum):
    """Msg_Fmt values we send: UCS-2 (any text) or GBK (Chinese in 2 octets, ASCII in 1)."""

    UCS2 = 8
    GBK = 15


class CmppDecodeError(OpenOMSError):
    """A PDU from the ISMG that does not have the CMPP 3.0 layout."""


_CONNECT_STATUS: Final = {
    0: "correct",
    1: "bad message structure",
    2: "illegal source address (Source_Addr)",
    3: "authentication failed (AuthenticatorSource: wrong shared secret?)",
    4: "version too high",
}

_SUBMIT_RESULT: Final = {
    0: "correct",
    1: "bad message structure",
    2: "bad command id",
    3: "duplicate sequence id",
    4: "bad message length",
    5: "bad fee code",
    6: "message too long",
    7: "bad service id (Service_Id)",
    8: "flow control (too fast)",
    9: "this gateway does not serve the fee number",
    10: "bad Src_Id",
    11: "bad Msg_src",
    12: "bad Fee_terminal_Id",
    13: "bad Dest_terminal_Id",
}
THROTTLED: Final = 8
"""SUBMIT_RESP Result: flow control; the part may be sent again after a pause."""


def connect_status_text(status: int) -> str:
    return f"Status {status}: {_CONNECT_STATUS.get(status, 'other error')}"


def submit_result_text(result: int) -> str:
    return f"Result {result}: {_SUBMIT_RESULT.get(result, 'other error')}"


def frame(command: Command, sequence: int, body: bytes = b"") -> bytes:
    """One PDU: the header, then ``body``."""
    return HEADER.pack(HEADER.size + len(body), int(command), sequence) + body


def parse_header(header: bytes) -> tuple[int, int, int]:
    """Total_Length, Command_Id, Sequence_Id of a 12-octet header."""
    if len(header) != HEADER.size:
        raise CmppDecodeError(f"CMPP header of {len(header)} octets, not {HEADER.size}")
    length, command, sequence = HEADER.unpack(header)
    if length < HEADER.size:
        raise CmppDecodeError(f"CMPP Total_Length {length} is shorter than the header")
    return int(length), int(command), int(sequence)


def _octets(value: str, width: int, field: str, encoding: str = "ascii") -> bytes:
    raw = value.encode(encoding)
    if len(raw) > width:
        raise ValueError(f"CMPP {field} {value!r} is longer than {width} octets")
    return raw.ljust(width, b"\0")


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def timestamp_of(at: datetime) -> str:
    """The CONNECT Timestamp, "MMDDHHMMSS", of ``at`` (in the zone it carries)."""
    return at.strftime("%m%d%H%M%S")


def authenticator_source(source_addr: str, secret: str, timestamp: str) -> bytes:
    """MD5(Source_Addr + 9 × 0x00 + shared secret + Timestamp)."""
    raw = source_addr.encode("ascii") + b"\0" * 9 + secret.encode("utf-8")
    return hashlib.md5(raw + timestamp.encode("ascii"), usedforsecurity=False).digest()


def authenticator_ismg(status: int, source_auth: bytes, secret: str) -> bytes:
    """MD5(Status + AuthenticatorSource + shared secret), the ISMG's proof it knows the secret."""
    raw = struct.pack("!I", status) + source_auth + secret.encode("utf-8")
    return hashlib.md5(raw, usedforsecurity=False).digest()


def connect_body(source_addr: str, secret: str, timestamp: str) -> bytes:
    """The CMPP_CONNECT body (27 octets)."""
    if len(timestamp) != 10 or not timestamp.isdecimal():
        raise ValueError(f"CMPP Timestamp {timestamp!r} is not MMDDHHMMSS")
    return (
        _octets(source_addr, 6, "Source_Addr")
        + authenticator_source(source_addr, secret, timestamp)
        + struct.pack("!BI", VERSION, int(timestamp))
    )


@dataclass(frozen=True, slots=True)
class ConnectResp:
    status: int
    authenticator: bytes
    version: int


def parse_connect_resp(body: bytes) -> ConnectResp:
    if len(body) < 21:
        raise CmppDecodeError(f"CMPP_CONNECT_RESP body of {len(body)} octets, not 21")
    status, auth, version = struct.unpack("!I16sB", body[:21])
    return ConnectResp(status=int(status), authenticator=bytes(auth), version=int(version))


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """What the carrier's contract fixes in every CMPP_SUBMIT."""

    service_id: str = ""  # 业务代码, up to 10
    src_id: str = ""  # the SP's number shown to the customer (e.g. 106…), up to 21
    msg_src: str = ""  # 信息内容来源: the SP's enterprise code (Source_Addr), 6
    fee_user_type: int = 2  # 2: fee to nobody (Fee_terminal_Id empty)
    fee_type: str = "01"  # 01: free
    fee_code: str = "000000"
    msg_fmt: MsgFmt = MsgFmt.UCS2
    registered_delivery: int = 1  # ask for a status report


def submit_body(
    destination: str,
    content: bytes,
    *,
    options: SubmitOptions,
    pk_total: int = 1,
    pk_number: int = 1,
    tp_udhi: int = 0,
) -> bytes:
    """The CMPP_SUBMIT body of one part to one ``destination`` (Msg_Id 0: the ISMG sets it)."""
    if len(content) > MAX_OCTETS:
        raise ValueError(f"CMPP Msg_Content of {len(content)} octets, more than {MAX_OCTETS}")
    if not 1 <= pk_number <= pk_total <= 255:
        raise ValueError(f"CMPP part {pk_number} of {pk_total}")
    return b"".join(
        (
            b"\0" * 8,  # Msg_Id
            struct.pack("!BBBB", pk_total, pk_number, options.registered_delivery, 0),
            _octets(options.service_id, 10, "Service_Id"),
            struct.pack("!B", options.fee_user_type),
            b"\0" * 32,  # Fee_terminal_Id
            b"\0",  # Fee_terminal_type
            struct.pack("!BBB", 0, tp_udhi, int(options.msg_fmt)),  # TP_pId, TP_udhi, Msg_Fmt
            _octets(options.msg_src, 6, "Msg_src"),
            _octets(options.fee_type, 2, "FeeType"),
            _octets(options.fee_code, 6, "FeeCode"),
            b"\0" * 17,  # ValId_Time: the ISMG's default
            b"\0" * 17,  # At_Time: now
            _octets(options.src_id, 21, "Src_Id"),
            b"\1",  # DestUsr_tl
            _octets(destination, 32, "Dest_terminal_Id"),
            b"\0",  # Dest_terminal_type: a real number
            struct.pack("!B", len(content)),
            content,
            b"\0" * 20,  # LinkID
        )
    )


@dataclass(frozen=True, slots=True)
class SubmitResp:
    msg_id: int
    result: int


def parse_submit_resp(body: bytes) -> SubmitResp:
    if len(body) < 12:
        raise CmppDecodeError(f"CMPP_SUBMIT_RESP body of {len(body)} octets, not 12")
    msg_id, result = struct.unpack("!QI", body[:12])
    return SubmitResp(msg_id=int(msg_id), result=int(result))


@dataclass(frozen=True, slots=True)
class StatusReport:
    msg_id: int  # the Msg_Id of the SUBMIT_RESP
    stat: str  # DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, or an ISMG code
    submit_time: str  # YYMMDDHHMM
    done_time: str  # YYMMDDHHMM
    dest_terminal_id: str


@dataclass(frozen=True, slots=True)
class Deliver:
    msg_id: int
    src_terminal_id: str
    report: StatusReport | None  # None: a mobile-originated message, not a status report


_DELIVER_HEAD: Final = struct.Struct("!Q21s10sBBB32sBBB")
_REPORT: Final = struct.Struct("!Q7s10s10s32sI")


def parse_deliver(body: bytes) -> Deliver:
    if len(body) < _DELIVER_HEAD.size:
        raise CmppDecodeError(f"CMPP_DELIVER body of {len(body)} octets is too short")
    msg_id, _, _, _, _, _, src, _, registered, length = _DELIVER_HEAD.unpack_from(body)
    content = body[_DELIVER_HEAD.size : _DELIVER_HEAD.size + length]
    if len(content) != length:
        raise CmppDecodeError(f"CMPP_DELIVER Msg_Length {length} but {len(content)} octets")
    report = None
    if registered == 1:
        if length < _REPORT.size:
            raise CmppDecodeError(f"CMPP status report of {length} octets, not {_REPORT.size}")
        rid, stat, submitted, done, dest, _ = _REPORT.unpack_from(content)
        report = StatusReport(
            msg_id=int(rid),
            stat=_text(stat),
            submit_time=_text(submitted),
            done_time=_text(done),
            dest_terminal_id=_text(dest),
        )
    return Deliver(msg_id=int(msg_id), src_terminal_id=_text(src), report=report)


def deliver_resp_body(msg_id: int, result: int = 0) -> bytes:
    return struct.pack("!QI", msg_id, result)


def _cut_ucs2(text: str, units: int) -> list[bytes]:
    raw = text.encode("utf-16-be")
    out: list[bytes] = []
    while raw:
        n = min(units * 2, len(raw))
        if n < len(raw) and 0xD8 <= raw[n - 2] <= 0xDB:
            n -= 2  # keep a surrogate pair together
        out.append(raw[:n])
        raw = raw[n:]
    return out


def _cut_gbk(text: str, octets: int) -> list[bytes]:
    out: list[bytes] = []
    current = b""
    for char in text:
        raw = char.encode("gbk")
        if len(current) + len(raw) > octets:
            out.append(current)
            current = b""
        current += raw
    if current or not out:
        out.append(current)
    return out


def encode_parts(text: str, msg_fmt: MsgFmt, reference: int) -> list[tuple[bytes, int]]:
    """``text`` as the Msg_Content of each part with its TP_udhi: one part without header
    when it fits in 140 octets, else parts of ``05 00 03 reference total n`` + 134 octets.
    A character GBK cannot write raises :class:`ValueError` naming it."""
    cut = _cut_ucs2 if msg_fmt is MsgFmt.UCS2 else _cut_gbk
    try:
        whole = cut(text, MAX_OCTETS // (2 if msg_fmt is MsgFmt.UCS2 else 1))
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start]
        raise ValueError(f"CMPP Msg_Fmt {msg_fmt.name}: cannot encode {bad!r}") from exc
    if len(whole) <= 1:
        return [(whole[0] if whole else b"", 0)]
    room = MAX_OCTETS - _UDH_OCTETS
    parts = cut(text, room // 2 if msg_fmt is MsgFmt.UCS2 else room)
    if len(parts) > 255:
        raise ValueError(f"CMPP text of {len(text)} characters needs more than 255 parts")
    ref = reference & 0xFF
    return [
        (bytes((5, 0, 3, ref, len(parts), n)) + part, 1) for n, part in enumerate(parts, start=1)
    ]
