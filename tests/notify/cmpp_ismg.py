"""A test ISMG: the carrier's side of CMPP 3.0, on loopback (test-only).

Written from the CMPP 3.0 specification with ``struct`` alone, independently of
``openoms.notify.cmpp_pdus``, and itself checked against the ``cmppy`` client
(tests/notify/test_cmpp_cmppy.py). It accepts CMPP_CONNECT (checking AuthenticatorSource
against the account's shared secret and the Timestamp sent: Status 3 when it does not match,
2 for an unknown Source_Addr, 4 for a version above 0x30) and answers with
AuthenticatorISMG; it decodes every CMPP_SUBMIT field by field (Result 1 when the length
does not add up), answers with a Msg_Id built as the specification says (month, day, hour,
minute, second, gateway code, sequence), reassembles long messages from their user data
headers, and sends a CMPP_DELIVER status report for each part that asked for one. Reports
whose connection is gone wait for the account's next connection, as a real ISMG's do. It
answers CMPP_ACTIVE_TEST and CMPP_TERMINATE and can send ACTIVE_TEST itself.

Failures on demand: :attr:`results` (the Result of the next SUBMITs, e.g. 8 for flow
control), :meth:`drop_on` (close the connection on receiving the N-th SUBMIT from now,
without answering it: the ISMG keeps the part and reports it later), :attr:`report_stat`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import struct
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

__all__ = ["CmppIsmg", "ConnectRecord", "IsmgMessage", "SubmitRecord"]

_HEADER = struct.Struct("!III")
_CONNECT = struct.Struct("!6s16sBI")
_SUBMIT_HEAD = struct.Struct("!QBBBB10sB32sBBBB6s2s6s17s17s21sB")
_ZONE = ZoneInfo("Asia/Shanghai")
GATEWAY = 0x2A5F1  # this ISMG's 22-bit code in its Msg_Ids


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii")


@dataclass(frozen=True, slots=True)
class ConnectRecord:
    source_addr: str
    authenticator: bytes
    version: int
    timestamp: int
    status: int  # what the ISMG answered


@dataclass(frozen=True, slots=True)
class SubmitRecord:
    """One CMPP_SUBMIT, decoded field by field."""

    sequence: int
    msg_id: int
    pk_total: int
    pk_number: int
    registered_delivery: int
    msg_level: int
    service_id: str
    fee_user_type: int
    fee_terminal_id: str
    fee_terminal_type: int
    tp_pid: int
    tp_udhi: int
    msg_fmt: int
    msg_src: str
    fee_type: str
    fee_code: str
    valid_time: bytes
    at_time: bytes
    src_id: str
    dest_terminal_ids: tuple[str, ...]
    dest_terminal_type: int
    content: bytes
    link_id: bytes
    assigned_id: int  # the Msg_Id the ISMG gave it (0: not answered)
    result: int


@dataclass(frozen=True, slots=True)
class IsmgMessage:
    """A whole text as it reached the ISMG (long ones reassembled)."""

    destination: str
    text: str
    msg_ids: tuple[int, ...]


def decode_content(content: bytes, msg_fmt: int) -> str:
    return content.decode("utf-16-be" if msg_fmt == 8 else "gbk" if msg_fmt == 15 else "ascii")


def parse_submit(sequence: int, body: bytes) -> SubmitRecord:
    """Every field of a CMPP_SUBMIT body; ``ValueError`` when its length does not add up."""
    if len(body) < _SUBMIT_HEAD.size:
        raise ValueError(f"SUBMIT body of {len(body)} octets")
    head = _SUBMIT_HEAD.unpack_from(body)
    (msg_id, pk_total, pk_number, registered, level, service, fee_user, fee_terminal) = head[:8]
    (fee_terminal_type, tp_pid, tp_udhi, msg_fmt, msg_src, fee_type, fee_code) = head[8:15]
    (valid, at, src_id, count) = head[15:]
    at_offset = _SUBMIT_HEAD.size
    dests = []
    for _ in range(count):
        dests.append(_text(body[at_offset : at_offset + 32]))
        at_offset += 32
    dest_type, length = body[at_offset], body[at_offset + 1]
    at_offset += 2
    content = body[at_offset : at_offset + length]
    link_id = body[at_offset + length :]
    if len(content) != length or len(link_id) != 20:
        raise ValueError(f"SUBMIT of {len(body)} octets: Msg_Length {length} does not add up")
    return SubmitRecord(
        sequence=sequence,
        msg_id=msg_id,
        pk_total=pk_total,
        pk_number=pk_number,
        registered_delivery=registered,
        msg_level=level,
        service_id=_text(service),
        fee_user_type=fee_user,
        fee_terminal_id=_text(fee_terminal),
        fee_terminal_type=fee_terminal_type,
        tp_pid=tp_pid,
        tp_udhi=tp_udhi,
        msg_fmt=msg_fmt,
        msg_src=_text(msg_src),
        fee_type=_text(fee_type),
        fee_code=_text(fee_code),
        valid_time=valid,
        at_time=at,
        src_id=_text(src_id),
        dest_terminal_ids=tuple(dests),
        dest_terminal_type=dest_type,
        content=content,
        link_id=link_id,
        assigned_id=0,
        result=0,
    )


@dataclass(eq=False)
class _Session:
    source_addr: str
    writer: asyncio.StreamWriter
    acks: dict[int, asyncio.Future[bytes]] = field(default_factory=dict)


class CmppIsmg:
    """The ISMG on 127.0.0.1 (a free port), in a thread of its own."""

    def __init__(
        self,
        accounts: dict[str, str] | None = None,
        *,
        report_delay_s: float = 0.05,
        report_stat: str = "DELIVRD",
    ) -> None:
        self.accounts = accounts if accounts is not None else {"901234": "secret"}
        self.report_delay_s = report_delay_s
        self.report_stat = report_stat
        self.results: list[int] = []
        """The Result of the next SUBMITs (taken first in, first out); then 0."""
        self._drop_at: int | None = None
        self.connects: list[ConnectRecord] = []
        self.submits: list[SubmitRecord] = []
        self.deliver_acks: list[tuple[int, int]] = []  # (Msg_Id, Result) of DELIVER_RESPs
        self.active_tests = 0
        self.terminates = 0
        self.errors: list[str] = []
        self.port = 0
        self._ids = itertools.count(1)
        self._sequences = itertools.count(1)
        self._sessions: list[_Session] = []
        self._pending: dict[str, list[tuple[SubmitRecord, str]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._submits_since_drop = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Self:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(timeout=5):
            raise RuntimeError("the test ISMG did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close_all(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=5)
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _close_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for session in list(self._sessions):
            session.writer.close()
        if self._server is not None:
            self._server.close()

    # -- what the tests read ---------------------------------------------------------------

    @property
    def connected(self) -> int:
        return len(self._sessions)

    def messages(self) -> list[IsmgMessage]:
        """The texts received (answered or not), long ones reassembled from their parts."""
        out: list[IsmgMessage] = []
        groups: dict[tuple[str, int], list[SubmitRecord]] = {}
        for record in self.submits:
            if record.result != 0:
                continue
            dest = record.dest_terminal_ids[0]
            if record.tp_udhi:
                udh_length = record.content[0]
                ref = record.content[3]  # 05 00 03 ref total n
                groups.setdefault((dest, ref), []).append(record)
                group = groups[(dest, ref)]
                if len(group) == record.content[4]:
                    group.sort(key=lambda r: r.content[5])
                    text = "".join(
                        decode_content(r.content[1 + udh_length :], r.msg_fmt) for r in group
                    )
                    out.append(IsmgMessage(dest, text, tuple(r.assigned_id for r in group)))
                    del groups[(dest, ref)]
            else:
                text = decode_content(record.content, record.msg_fmt)
                out.append(IsmgMessage(dest, text, (record.assigned_id,)))
        return out

    def drop_on(self, submit: int) -> None:
        """Close the connection on receiving the ``submit``-th SUBMIT from now (1: the next),
        keeping it unanswered."""
        self._drop_at, self._submits_since_drop = submit, 0

    def send_active_test(self) -> bool:
        """Send CMPP_ACTIVE_TEST on every connection; whether each answered within 2 s."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._active_test_all(), self._loop)
        return future.result(timeout=5)

    def terminate_all(self) -> None:
        """Send CMPP_TERMINATE on every connection (the client answers and closes)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._terminate_all(), self._loop).result(timeout=5)

    # -- the protocol ----------------------------------------------------------------------

    def _next_msg_id(self) -> int:
        now = datetime.now(_ZONE)
        stamp = (((now.month * 32 + now.day) * 32 + now.hour) * 64 + now.minute) * 64 + now.second
        return (stamp << 38) | (GATEWAY << 16) | (next(self._ids) & 0xFFFF)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session: _Session | None = None
        try:
            while True:
                length, command, sequence = _HEADER.unpack(await reader.readexactly(12))
                body = await reader.readexactly(length - 12)
                if session is None:
                    session = await self._on_connect(writer, command, sequence, body)
                    if session is None:
                        return
                    continue
                if not await self._on_pdu(session, command, sequence, body):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if session is not None and session in self._sessions:
                self._sessions.remove(session)
            writer.close()

    async def _on_connect(
        self, writer: asyncio.StreamWriter, command: int, sequence: int, body: bytes
    ) -> _Session | None:
        if command != 0x00000001 or len(body) != _CONNECT.size:
            self.errors.append(f"expected CONNECT, got 0x{command:08X} of {len(body)} octets")
            return None
        raw_source, auth, version, timestamp = _CONNECT.unpack(body)
        source = _text(raw_source)
        secret = self.accounts.get(source)
        status = 0
        if secret is None:
            status = 2
        elif version > 0x30:
            status = 4
        else:
            expected = hashlib.md5(
                raw_source + b"\0" * 9 + secret.encode() + f"{timestamp:010d}".encode(),
                usedforsecurity=False,
            ).digest()
            status = 0 if auth == expected else 3
        self.connects.append(ConnectRecord(source, auth, version, timestamp, status))
        proof = hashlib.md5(
            struct.pack("!I", status) + auth + (secret or "").encode(), usedforsecurity=False
        ).digest()
        writer.write(_pdu(0x80000001, sequence, struct.pack("!I16sB", status, proof, 0x30)))
        await writer.drain()
        if status != 0:
            return None
        session = _Session(source, writer)
        self._sessions.append(session)
        for record, dest in self._pending.pop(source, []):
            self._spawn_report(session, record, dest)
        return session

    async def _on_pdu(self, session: _Session, command: int, sequence: int, body: bytes) -> bool:
        writer = session.writer
        if command == 0x00000004:
            return await self._on_submit(session, sequence, body)
        if command == 0x00000008:
            self.active_tests += 1
            writer.write(_pdu(0x80000008, sequence, b"\0"))
        elif command == 0x00000002:
            self.terminates += 1
            writer.write(_pdu(0x80000002, sequence))
            await writer.drain()
            return False
        elif command == 0x80000002:  # the answer to our TERMINATE
            return False
        elif command in (0x80000005, 0x80000008):
            future = session.acks.pop(sequence, None)
            if future is not None and not future.done():
                future.set_result(body)
        else:
            self.errors.append(f"unexpected command 0x{command:08X}")
        await writer.drain()
        return True

    async def _on_submit(self, session: _Session, sequence: int, body: bytes) -> bool:
        try:
            record = parse_submit(sequence, body)
        except ValueError as exc:
            self.errors.append(str(exc))
            session.writer.write(_pdu(0x80000004, sequence, struct.pack("!QI", 0, 1)))
            await session.writer.drain()
            return True
        self._submits_since_drop += 1
        if self._drop_at is not None and self._submits_since_drop >= self._drop_at:
            self._drop_at = None
            record = replace(record, assigned_id=self._next_msg_id(), result=0)
            self.submits.append(record)
            if record.registered_delivery:
                self._pending.setdefault(session.source_addr, []).append(
                    (record, record.dest_terminal_ids[0])
                )
            return False  # closed without an answer
        result = self.results.pop(0) if self.results else 0
        assigned = self._next_msg_id() if result == 0 else 0
        record = replace(record, assigned_id=assigned, result=result)
        self.submits.append(record)
        session.writer.write(_pdu(0x80000004, sequence, struct.pack("!QI", assigned, result)))
        await session.writer.drain()
        if result == 0 and record.registered_delivery:
            for dest in record.dest_terminal_ids:
                self._spawn_report(session, record, dest)
        return True

    def _spawn_report(self, session: _Session, record: SubmitRecord, dest: str) -> None:
        assert self._loop is not None
        task = self._loop.create_task(self._report(session, record, dest))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, session: _Session, record: SubmitRecord, dest: str) -> None:
        await asyncio.sleep(self.report_delay_s)
        if session not in self._sessions:
            self._pending.setdefault(session.source_addr, []).append((record, dest))
            return
        now = datetime.now(_ZONE).strftime("%y%m%d%H%M").encode()
        report = struct.pack(
            "!Q7s10s10s32sI",
            record.assigned_id,
            self.report_stat.encode(),
            now,
            now,
            dest.encode(),
            record.sequence,
        )
        deliver_id = self._next_msg_id()
        body = (
            struct.pack(
                "!Q21s10sBBB32sBBB",
                deliver_id,
                record.src_id.encode(),
                record.service_id.encode(),
                0,
                0,
                0,
                dest.encode(),
                0,
                1,
                len(report),
            )
            + report
            + b"\0" * 20
        )
        answer = await self._request(session, 0x00000005, body)
        if answer is not None and len(answer) >= 12:
            msg_id, result = struct.unpack("!QI", answer[:12])
            self.deliver_acks.append((msg_id, result))

    async def _request(self, session: _Session, command: int, body: bytes) -> bytes | None:
        sequence = next(self._sequences)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        session.acks[sequence] = future
        try:
            session.writer.write(_pdu(command, sequence, body))
            await session.writer.drain()
            return await asyncio.wait_for(future, 2.0)
        except (TimeoutError, ConnectionError):
            return None
        finally:
            session.acks.pop(sequence, None)

    async def _active_test_all(self) -> bool:
        answers = [await self._request(s, 0x00000008, b"") for s in list(self._sessions)]
        return bool(answers) and all(a is not None for a in answers)

    async def _terminate_all(self) -> None:
        for session in list(self._sessions):
            with contextlib.suppress(ConnectionError):
                session.writer.write(_pdu(0x00000002, next(self._sequences)))
                await session.writer.drain()


def _pdu(command: int, sequence: int, body: bytes = b"") -> bytes:
    return _HEADER.pack(12 + len(body), command, sequence) + body
