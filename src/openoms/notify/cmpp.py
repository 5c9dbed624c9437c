"""The SMS channel over CMPP 3.0: an SP client to a mainland carrier's gateway (ISMG).

The same contract as the SMPP sender (:mod:`.smpp`), so the outbox worker (:mod:`.worker`)
sends through either unchanged (``sms_protocol`` chooses; docs/notify.md):

- one long-lived connection in a thread of its own (asyncio streams), authenticated by
  CMPP_CONNECT; a refused CONNECT names the ISMG's reason (a wrong shared secret is Status 3)
  and is retried after a capped exponential back-off (``backoff_s · 2^(failures−1)``, at most
  ``backoff_max_s``), meanwhile a submit fails at once as unavailable; a lost connection is
  re-opened in the background, so status reports queued at the ISMG arrive even when idle;
  each successful CONNECT calls ``on_bound``;
- CMPP_ACTIVE_TEST every ``active_test_s`` keeps the link; an unanswered one closes it;
- a text is one CMPP_SUBMIT, or for more than 140 octets concatenated parts with a user data
  header; the parts are pipelined up to ``window`` unanswered SUBMITs, paced to at most
  ``max_per_s``; SUBMIT_RESP Result 8 (flow control) sends that part again after a pause
  that doubles up to ``throttle_max_s`` and keeps the spacing for later SUBMITs;
- every SUBMIT asks for a status report (Registered_Delivery 1); each CMPP_DELIVER report
  is answered and handed to ``on_receipt`` (a stat other than the SMPP-style finals, e.g. an
  ISMG error code "MK:0005", is an undelivered message with that code as its error).

:meth:`CmppSender.submit` returns the ISMG's Msg_Ids (decimal, one per part) and raises the
three outcomes that matter for sending exactly once: :class:`CmppUnavailableError` (nothing
left: retry), :class:`CmppRejectedError` (the ISMG refused the first part, none was taken),
:class:`CmppOutcomeUnknownError` (something may have reached the ISMG: never resend blindly).
Phone numbers are masked in every log line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from openoms.contacts.phone import mask_phone
from openoms.notify.cmpp_pdus import (
    HEADER,
    THROTTLED,
    CmppDecodeError,
    Command,
    MsgFmt,
    SubmitOptions,
    authenticator_ismg,
    authenticator_source,
    connect_body,
    connect_status_text,
    deliver_resp_body,
    encode_parts,
    frame,
    parse_connect_resp,
    parse_deliver,
    parse_header,
    parse_submit_resp,
    submit_body,
    submit_result_text,
    timestamp_of,
)
from openoms.notify.link_thread import LinkThread, capped_backoff
from openoms.notify.smpp import (
    DeliveryReceipt,
    SmppOutcomeUnknownError,
    SmppRejectedError,
    SmppUnavailableError,
)
from openoms.settings import Settings

__all__ = [
    "CmppOutcomeUnknownError",
    "CmppRejectedError",
    "CmppSender",
    "CmppUnavailableError",
    "cmpp_sender_from_settings",
]

log = logging.getLogger(__name__)

FINAL_STATS: Final = frozenset(
    {"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"}
)
_MAX_PDU: Final = 4096  # the longest PDU we accept from the ISMG


class CmppUnavailableError(SmppUnavailableError):
    """No authenticated connection: nothing was sent, a retry is safe."""


class CmppRejectedError(SmppRejectedError):
    """The ISMG answered the first part with a non-zero Result (or the text cannot be sent)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        Exception.__init__(self, f"ISMG rejected CMPP_SUBMIT: {reason}")
        self.status = reason
        self.permanent = permanent


class CmppOutcomeUnknownError(SmppOutcomeUnknownError):
    """A SUBMIT left but its answer did not come: the ISMG may have the message."""


@dataclass(eq=False)
class _Link:
    """One authenticated connection: its streams and the SUBMITs waiting for an answer."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    waiting: dict[int, asyncio.Future[tuple[int, bytes]]] = field(default_factory=dict)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    terminating: bool = False  # we sent CMPP_TERMINATE: the ISMG closing is expected

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.writer.close()
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the CMPP connection closed"))
        self.waiting.clear()
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()


@dataclass(frozen=True, slots=True)
class _Part:
    """What became of one part: ``id`` (taken), ``result`` (refused), or ``lost`` (sent or
    not, no answer) with ``left`` telling whether its SUBMIT was written."""

    id: int | None = None
    result: int | None = None
    lost: str = ""
    left: bool = False


class CmppSender(LinkThread):
    """A CMPP 3.0 SP connection to ``host:port``, kept authenticated in a thread of its own."""

    def __init__(
        self,
        host: str,
        port: int,
        source_addr: str,
        shared_secret: str,
        *,
        options: SubmitOptions | None = None,
        on_receipt: Callable[[DeliveryReceipt], None] | None = None,
        on_bound: Callable[[], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        connect_timeout_s: float = 5.0,
        response_timeout_s: float = 10.0,
        active_test_s: float = 30.0,
        reconnect_delay_s: float = 1.0,
        backoff_s: float = 1.0,
        backoff_max_s: float = 300.0,
        window: int = 16,
        max_per_s: float | None = None,
        throttle_delay_s: float = 1.0,
        throttle_max_s: float = 30.0,
        throttle_retries: int = 5,
    ) -> None:
        if len(source_addr.encode("ascii")) > 6:
            raise ValueError(f"CMPP Source_Addr {source_addr!r} is longer than 6 characters")
        if window < 1:
            raise ValueError(f"CMPP window {window} must be at least 1")
        self.host, self.port = host, port
        self._source_addr, self._secret = source_addr, shared_secret
        self.options = options or SubmitOptions(msg_src=source_addr)
        super().__init__(on_receipt, on_bound)
        self._clock = clock or (lambda: datetime.now(ZoneInfo("Asia/Shanghai")))
        self._connect_timeout_s = connect_timeout_s
        self._response_timeout_s = response_timeout_s
        self._active_test_s = active_test_s
        self._reconnect_delay_s = reconnect_delay_s
        self._backoff_s, self._backoff_max_s = backoff_s, backoff_max_s
        self._window = window
        self._min_spacing_s = 1.0 / max_per_s if max_per_s else 0.0
        self._throttle_delay_s, self._throttle_max_s = throttle_delay_s, throttle_max_s
        self._throttle_retries = throttle_retries
        self.connect_failures = 0
        """CONNECTs failed in a row (0 when connected)."""
        self.last_connect_error = ""
        self._next_connect_at = 0.0  # time.monotonic(); no attempt before
        self._pace_s = 0.0  # spacing asked for by flow control
        self._next_send_at = 0.0
        self._sequences = itertools.count(random.randrange(1, 0x7FFF))
        self._references = itertools.count(random.randrange(0, 0xFF))
        self._link: _Link | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._send_lock: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None

    thread_name = "cmpp-sender"

    def __repr__(self) -> str:
        return f"CmppSender({self.host}:{self.port}, source_addr={self._source_addr!r})"

    # -- life cycle ------------------------------------------------------------------------

    def backoff_delay(self, failures: int) -> float:
        """The wait before the next CONNECT after ``failures`` failed ones in a row."""
        return capped_backoff(failures, self._backoff_s, self._backoff_max_s)

    @property
    def bound(self) -> bool:
        return self._link is not None and not self._link.closed.is_set()

    def submit(self, phone: str, text: str) -> tuple[str, ...]:
        """Send one SMS; the ISMG's Msg_Ids (decimal), one per part. Raises a
        :class:`CmppUnavailableError`, :class:`CmppRejectedError` or
        :class:`CmppOutcomeUnknownError`."""
        loop = self._loop
        if loop is None:
            raise CmppUnavailableError("the CMPP sender is not started")
        try:
            parts = encode_parts(text, self.options.msg_fmt, 0)
        except ValueError as exc:
            raise CmppRejectedError(str(exc), permanent=True) from exc
        rounds = len(parts) / self._window + 1
        per_round = self._response_timeout_s + self._throttle_max_s * self._throttle_retries
        budget = self._connect_timeout_s + per_round * rounds + len(parts) * self._min_spacing_s
        future = asyncio.run_coroutine_threadsafe(self._submit(phone, text), loop)
        try:
            return future.result(timeout=budget + 2)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise CmppOutcomeUnknownError(f"CMPP_SUBMIT to {mask_phone(phone)}: no answer") from exc

    # -- the loop --------------------------------------------------------------------------

    def _loop_started(self) -> None:
        self._connect_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(self._window)

    async def _close_link(self) -> None:
        link, self._link = self._link, None
        if link is None or link.closed.is_set():
            return
        link.terminating = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._request(link, Command.TERMINATE, b""), 1.0)
        link.close()
        with contextlib.suppress(Exception):
            await link.writer.wait_closed()

    async def _supervise(self) -> None:
        """Keep a connection: re-connect after a loss (so that queued status reports come
        in), after the back-off when CONNECTs fail."""
        while True:
            try:
                link = await self._ensure_connected()
            except CmppUnavailableError:
                pass  # logged with the back-off by _ensure_connected
            else:
                await link.closed.wait()
                log.info("CMPP %s:%s: connection closed", self.host, self.port)
                await asyncio.sleep(self._reconnect_delay_s)
            await asyncio.sleep(max(self._next_connect_at - time.monotonic(), 0.0))

    async def _ensure_connected(self) -> _Link:
        assert self._connect_lock is not None  # set before the loop runs
        async with self._connect_lock:
            link = self._link
            if link is not None and not link.closed.is_set():
                return link
            wait = self._next_connect_at - time.monotonic()
            if wait > 0:
                raise CmppUnavailableError(
                    f"not connected to {self.host}:{self.port} ({self.last_connect_error}); "
                    f"next CONNECT in {wait:.1f} s"
                )
            try:
                link = await self._connect()
            except CmppUnavailableError as exc:
                self.connect_failures += 1
                self.last_connect_error = str(exc)
                delay = self.backoff_delay(self.connect_failures)
                self._next_connect_at = time.monotonic() + delay
                log.warning(
                    "CMPP %s:%s: %s; attempt %d failed, next in %.1f s",
                    self.host,
                    self.port,
                    exc,
                    self.connect_failures,
                    delay,
                )
                raise
            self.connect_failures, self.last_connect_error, self._next_connect_at = 0, "", 0.0
            self._link = link
        if self._on_bound is not None:
            try:
                self._on_bound()
            except Exception:
                log.exception("the bound callback failed")
        return link

    async def _connect(self) -> _Link:
        where = f"{self.host}:{self.port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self._connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise CmppUnavailableError(f"cannot connect to {where}: {exc}") from exc
        link = _Link(reader, writer)
        stamp = timestamp_of(self._clock())
        source_auth = authenticator_source(self._source_addr, self._secret, stamp)
        try:
            body = connect_body(self._source_addr, self._secret, stamp)
            writer.write(frame(Command.CONNECT, self._next_sequence(), body))
            await writer.drain()
            command, _, body = await asyncio.wait_for(_read_pdu(reader), self._response_timeout_s)
            if command != Command.CONNECT_RESP:
                raise CmppDecodeError(f"0x{command:08X} instead of CMPP_CONNECT_RESP")
            resp = parse_connect_resp(body)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, CmppDecodeError) as exc:
            link.close()
            raise CmppUnavailableError(f"CMPP_CONNECT to {where} failed: {exc!r}") from exc
        if resp.status != 0:
            link.close()
            raise CmppUnavailableError(
                f"CMPP_CONNECT to {where} as {self._source_addr} refused: "
                f"{connect_status_text(resp.status)}"
            )
        if resp.authenticator != authenticator_ismg(0, source_auth, self._secret):
            link.close()
            raise CmppUnavailableError(
                f"CMPP_CONNECT to {where}: the ISMG's AuthenticatorISMG does not match our "
                "shared secret (not the carrier's gateway?)"
            )
        log.info(
            "CMPP %s: connected as %s (version 0x%02X)", where, self._source_addr, resp.version
        )
        loop = asyncio.get_running_loop()
        link.tasks = [
            loop.create_task(self._read_loop(link)),
            loop.create_task(self._active_test_loop(link)),
        ]
        return link

    def _next_sequence(self) -> int:
        return next(self._sequences) % 0xFFFFFFFF + 1

    async def _request(self, link: _Link, command: Command, body: bytes) -> tuple[int, bytes]:
        """Write one request; its response's (Command_Id, body). ``ConnectionError`` when the
        link closes first; ``TimeoutError`` after ``response_timeout_s``."""
        if link.closed.is_set():
            raise ConnectionError("the CMPP connection is closed")
        sequence = self._next_sequence()
        future: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        link.waiting[sequence] = future
        try:
            link.writer.write(frame(command, sequence, body))
            await link.writer.drain()
            return await asyncio.wait_for(future, self._response_timeout_s)
        finally:
            link.waiting.pop(sequence, None)

    async def _read_loop(self, link: _Link) -> None:
        try:
            while True:
                command, sequence, body = await _read_pdu(link.reader)
                if command & 0x80000000:
                    future = link.waiting.get(sequence)
                    if future is not None and not future.done():
                        future.set_result((command, body))
                    continue
                await self._on_request(link, command, sequence, body)
        except (OSError, asyncio.IncompleteReadError, CmppDecodeError) as exc:
            if not link.closed.is_set() and not link.terminating:
                log.warning("CMPP %s:%s: connection lost: %r", self.host, self.port, exc)
        finally:
            link.close()

    async def _on_request(self, link: _Link, command: int, sequence: int, body: bytes) -> None:
        if command == Command.DELIVER:
            deliver = parse_deliver(body)
            link.writer.write(
                frame(Command.DELIVER_RESP, sequence, deliver_resp_body(deliver.msg_id))
            )
            await link.writer.drain()
            self._on_deliver(deliver.src_terminal_id, deliver.report)
        elif command == Command.ACTIVE_TEST:
            link.writer.write(frame(Command.ACTIVE_TEST_RESP, sequence, b"\0"))
            await link.writer.drain()
        elif command == Command.TERMINATE:
            log.info("CMPP %s:%s: the ISMG terminates the connection", self.host, self.port)
            link.writer.write(frame(Command.TERMINATE_RESP, sequence))
            with contextlib.suppress(OSError):
                await link.writer.drain()
            link.close()
        else:
            log.warning("CMPP %s:%s: unexpected command 0x%08X", self.host, self.port, command)

    def _on_deliver(self, source: str, report: Any) -> None:
        if report is None:
            log.info(
                "CMPP_DELIVER from %s that is not a status report: ignored", mask_phone(source)
            )
            return
        stat, error = report.stat.upper(), ""
        if stat not in FINAL_STATS:
            stat, error = "UNDELIV", report.stat  # an ISMG / SMSC error code
        receipt = DeliveryReceipt(
            message_id=str(report.msg_id),
            stat=stat,
            recipient=report.dest_terminal_id,
            received_at=datetime.now(UTC),
            error=error,
        )
        log.info("CMPP status report %r", receipt)
        if self._on_receipt is not None:
            try:
                self._on_receipt(receipt)
            except Exception:
                log.exception("the receipt callback failed for %s", receipt.message_id)

    async def _active_test_loop(self, link: _Link) -> None:
        while not link.closed.is_set():
            await asyncio.sleep(self._active_test_s)
            try:
                await self._request(link, Command.ACTIVE_TEST, b"")
            except (ConnectionError, OSError, TimeoutError):
                if not link.closed.is_set():
                    log.warning("CMPP %s:%s: ACTIVE_TEST unanswered, closing", self.host, self.port)
                link.close()
                return

    # -- submit ----------------------------------------------------------------------------

    async def _submit(self, phone: str, text: str) -> tuple[str, ...]:
        link = await self._ensure_connected()
        who = mask_phone(phone)
        reference = next(self._references)
        try:
            parts = encode_parts(text, self.options.msg_fmt, reference)
            bodies = [
                submit_body(
                    phone,
                    content,
                    options=self.options,
                    pk_total=len(parts),
                    pk_number=n,
                    tp_udhi=udhi,
                )
                for n, (content, udhi) in enumerate(parts, start=1)
            ]
        except ValueError as exc:  # a text or number CMPP cannot carry: nothing was sent
            raise CmppRejectedError(str(exc), permanent=True) from exc
        outcomes = await asyncio.gather(*(self._submit_part(link, body, who) for body in bodies))
        ids = [o.id for o in outcomes if o.id is not None]
        if len(ids) == len(outcomes):
            log.info(
                "CMPP_SUBMIT to %s: %d chars, Msg_Fmt %d, %d part(s) → Msg_Id %s",
                who,
                len(text),
                int(self.options.msg_fmt),
                len(parts),
                " ".join(map(str, ids)),
            )
            return tuple(str(i) for i in ids)
        left = [o for o in outcomes if o.id is not None or (o.left and o.result is None)]
        refused = [o for o in outcomes if o.result is not None]
        if not left and refused:
            result = refused[0].result
            assert result is not None
            raise CmppRejectedError(submit_result_text(result), permanent=result != THROTTLED)
        if not left:
            raise CmppUnavailableError(f"CMPP_SUBMIT to {who}: {outcomes[0].lost}")
        lost = next((o.lost for o in outcomes if o.lost), "")
        why = lost or (submit_result_text(refused[0].result or 0) if refused else "")
        raise CmppOutcomeUnknownError(
            f"CMPP_SUBMIT to {who}: {len(ids)} of {len(parts)} part(s) taken; {why}"
        )

    async def _submit_part(self, link: _Link, body: bytes, who: str) -> _Part:
        """One part within the window; sent again while the ISMG answers flow control."""
        assert self._slots is not None  # set before the loop runs
        async with self._slots:
            for _ in range(self._throttle_retries + 1):
                await self._pace()
                part = await self._try_part(link, body)
                if part.result != THROTTLED:
                    return part
                self._pace_s = min(
                    max(self._pace_s * 2, self._throttle_delay_s), self._throttle_max_s
                )
                self._next_send_at = max(self._next_send_at, time.monotonic() + self._pace_s)
                log.warning("CMPP_SUBMIT to %s: flow control, again in %.2f s", who, self._pace_s)
        return _Part(result=THROTTLED)

    async def _pace(self) -> None:
        """Wait for this SUBMIT's turn: ``max_per_s``, or the spacing flow control asked."""
        assert self._send_lock is not None  # set before the loop runs
        async with self._send_lock:
            wait = self._next_send_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_send_at = time.monotonic() + max(self._min_spacing_s, self._pace_s)

    async def _try_part(self, link: _Link, body: bytes) -> _Part:
        if link.closed.is_set():
            return _Part(lost="the connection closed before the SUBMIT")
        try:
            command, resp = await self._request(link, Command.SUBMIT, body)
        except TimeoutError:
            return _Part(lost=f"no answer within {self._response_timeout_s} s", left=True)
        except (ConnectionError, OSError) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            return _Part(lost=f"connection lost before the answer ({exc})", left=True)
        if command != Command.SUBMIT_RESP:
            return _Part(lost=f"answered by 0x{command:08X}", left=True)
        parsed = parse_submit_resp(resp)
        if parsed.result != 0:
            return _Part(result=parsed.result)
        self._pace_s = self._pace_s / 2 if self._pace_s > 0.01 else 0.0
        return _Part(id=parsed.msg_id)


async def _read_pdu(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """Command_Id, Sequence_Id and body of the next PDU."""
    length, command, sequence = parse_header(await reader.readexactly(HEADER.size))
    if length > _MAX_PDU:
        raise CmppDecodeError(f"CMPP PDU of {length} octets (0x{command:08X}) is too long")
    return command, sequence, await reader.readexactly(length - HEADER.size)


def cmpp_sender_from_settings(settings: Settings, **kwargs: Any) -> CmppSender:
    """The sender the ``cmpp_*`` settings describe (``kwargs``: more :class:`CmppSender`
    arguments, e.g. timeouts). ``cmpp_host`` must be set."""
    if not settings.cmpp_host:
        raise CmppUnavailableError("cmpp_host is not set")
    zone = ZoneInfo(settings.timezone)
    options = SubmitOptions(
        service_id=settings.cmpp_service_id,
        src_id=settings.cmpp_src_id,
        msg_src=settings.cmpp_source_addr,
        msg_fmt=MsgFmt.GBK if settings.cmpp_msg_fmt == "gbk" else MsgFmt.UCS2,
    )
    return CmppSender(
        settings.cmpp_host,
        settings.cmpp_port,
        settings.cmpp_source_addr,
        settings.cmpp_shared_secret,
        options=options,
        clock=lambda: datetime.now(zone),
        window=settings.cmpp_window,
        max_per_s=settings.cmpp_max_per_s,
        backoff_s=settings.cmpp_backoff_s,
        backoff_max_s=settings.cmpp_backoff_max_s,
        **kwargs,
    )
