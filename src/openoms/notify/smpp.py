"""The SMS channel: an SMPP 3.4 ESME (client) to the carrier's SMSC, its session and errors.

Built on ``hat.drivers.smpp.transport`` (PDU codec and connection) of hat-drivers rather
than on its ``smpp.client.Client``, because that client neither asks for delivery receipts
(``registered_delivery`` is fixed to none) nor passes ``deliver_sm`` on; the bind,
``submit_sm`` and ``enquire_link`` handling here mirror it. What goes in the PDUs (data
coding, long texts in ``message_payload``, receipts) is :mod:`.smpp_pdus`.

- Bind as a transceiver (submits go out and receipts come in on one session); a lost session
  is re-bound in the background, so receipts queued at the SMSC arrive even when idle.
- Each submit asks for a receipt; each ``deliver_sm`` receipt is handed to the
  ``on_receipt`` callback.

:meth:`SmppSender.submit` is synchronous (the outbox worker is a thread) and tells apart the
three outcomes that matter for sending exactly once: :class:`SmppUnavailableError` (nothing was
sent: retry), :class:`SmppRejectedError` (the SMSC answered with an error), and
:class:`SmppOutcomeUnknownError` (the submit may have reached the SMSC: do not resend blindly).
Phone numbers are masked in every log line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from hat.drivers import net  # type: ignore[import-untyped,unused-ignore]
from hat.drivers.smpp import transport  # type: ignore[import-untyped,unused-ignore]

from openoms.contacts.phone import mask_phone
from openoms.errors import OpenOMSError
from openoms.notify.smpp_pdus import (
    TRANSIENT_STATUSES,
    DeliveryReceipt,
    bind_request,
    encode_text,
    is_delivery_receipt,
    parse_receipt_text,
    receipt_of,
    submit_request,
)

__all__ = [
    "DeliveryReceipt",
    "SmppError",
    "SmppOutcomeUnknownError",
    "SmppRejectedError",
    "SmppSender",
    "SmppUnavailableError",
    "SmsChannel",
    "parse_receipt_text",
]

log = logging.getLogger(__name__)


class SmppError(OpenOMSError):
    """A submit that did not end with a message id."""


class SmppUnavailableError(SmppError):
    """No bound session (connect or bind failed): nothing was sent, a retry is safe."""


class SmppRejectedError(SmppError):
    """The SMSC answered the submit with an error status."""

    def __init__(self, status: str, *, permanent: bool) -> None:
        super().__init__(f"SMSC rejected submit_sm: {status}")
        self.status = status
        self.permanent = permanent


class SmppOutcomeUnknownError(SmppError):
    """The submit left, but no answer came: the SMSC may have the message."""


class SmsChannel(Protocol):
    """What the outbox worker needs of an SMS channel."""

    def submit(self, phone: str, text: str) -> str:
        """Hand one SMS to the carrier; the carrier's message id."""
        ...

    def set_receipt_callback(self, callback: Callable[[DeliveryReceipt], None]) -> None: ...


class SmppSender:
    """An SMPP 3.4 transceiver session to ``host:port``, kept bound in a thread of its own."""

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        source_addr: str = "",
        *,
        on_receipt: Callable[[DeliveryReceipt], None] | None = None,
        connect_timeout_s: float = 5.0,
        response_timeout_s: float = 10.0,
        enquire_link_s: float = 30.0,
        reconnect_delay_s: float = 1.0,
    ) -> None:
        self.host, self.port = host, port
        self._system_id, self._password, self._source_addr = system_id, password, source_addr
        self._on_receipt = on_receipt
        self._connect_timeout_s = connect_timeout_s
        self._response_timeout_s = response_timeout_s
        self._enquire_link_s = enquire_link_s
        self._reconnect_delay_s = reconnect_delay_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._bind_lock: asyncio.Lock | None = None
        self._supervisor: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SmppSender({self.host}:{self.port}, system_id={self._system_id!r})"

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the session thread; binding happens in the background and on each submit."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="smpp-sender", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=10)
        return self

    def close(self) -> None:
        """Unbind and stop the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(concurrent.futures.TimeoutError):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def set_receipt_callback(self, callback: Callable[[DeliveryReceipt], None]) -> None:
        self._on_receipt = callback

    @property
    def bound(self) -> bool:
        return self._conn is not None and bool(self._conn.is_open)

    def submit(self, phone: str, text: str) -> str:
        """Send one SMS; the SMSC's message id. Raises an :class:`SmppError` subclass."""
        loop = self._loop
        if loop is None:
            raise SmppUnavailableError("the SMPP sender is not started")
        future = asyncio.run_coroutine_threadsafe(self._submit(phone, text), loop)
        try:
            return future.result(timeout=self._connect_timeout_s + self._response_timeout_s + 2)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise SmppOutcomeUnknownError(f"submit_sm to {mask_phone(phone)}: no answer") from exc

    # -- the loop ------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._bind_lock = asyncio.Lock()
        self._supervisor = loop.create_task(self._supervise())
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        conn, self._conn = self._conn, None
        if conn is not None and conn.is_open:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.send(transport.UnbindReq()), 1.0)
            await conn.async_close()

    async def _supervise(self) -> None:
        """Keep a session bound: re-bind after a loss, so that queued receipts come in."""
        while True:
            try:
                conn = await self._ensure_bound()
            except SmppUnavailableError as exc:
                log.warning("SMPP %s:%s: %s", self.host, self.port, exc)
            else:
                await conn.wait_closing()
                log.info("SMPP %s:%s: session closed", self.host, self.port)
            await asyncio.sleep(self._reconnect_delay_s)

    async def _ensure_bound(self) -> Any:
        assert self._bind_lock is not None  # set before the loop runs
        async with self._bind_lock:
            if self._conn is not None and self._conn.is_open:
                return self._conn
            try:
                raw = await asyncio.wait_for(
                    net.connect(net.TcpAddress(self.host, self.port)), self._connect_timeout_s
                )
            except (OSError, TimeoutError) as exc:
                raise SmppUnavailableError(
                    f"cannot connect to {self.host}:{self.port}: {exc}"
                ) from exc
            conn = transport.Connection(conn=raw, request_cb=self._on_request, notification_cb=None)
            bind = bind_request(self._system_id, self._password)
            try:
                res = await asyncio.wait_for(conn.send(bind), self._response_timeout_s)
            except (ConnectionError, TimeoutError, asyncio.CancelledError) as exc:
                await conn.async_close()
                raise SmppUnavailableError(
                    f"bind to {self.host}:{self.port} failed: {exc!r}"
                ) from exc
            if isinstance(res, transport.CommandStatus):
                await conn.async_close()
                raise SmppUnavailableError(f"bind to {self.host}:{self.port} refused: {res.name}")
            log.info("SMPP %s:%s: bound as %s", self.host, self.port, self._system_id)
            conn.async_group.spawn(self._enquire_link_loop, conn)
            self._conn = conn
            return conn

    async def _enquire_link_loop(self, conn: Any) -> None:
        try:
            while conn.is_open:
                await asyncio.sleep(self._enquire_link_s)
                await asyncio.wait_for(
                    conn.send(transport.EnquireLinkReq()), self._response_timeout_s
                )
        except (ConnectionError, TimeoutError):
            log.warning("SMPP %s:%s: enquire_link failed, closing", self.host, self.port)
            conn.close()

    async def _submit(self, phone: str, text: str) -> str:
        conn = await self._ensure_bound()
        coding, data, single = encode_text(text)
        long = len(data) > single
        req = submit_request(
            source_addr=self._source_addr, destination=phone, coding=coding, data=data, long=long
        )
        who = mask_phone(phone)
        if not conn.is_open:
            raise SmppUnavailableError(f"submit_sm to {who}: session closed before sending")
        try:
            res = await asyncio.wait_for(conn.send(req), self._response_timeout_s)
        except TimeoutError as exc:
            raise SmppOutcomeUnknownError(
                f"submit_sm to {who}: no answer within {self._response_timeout_s} s"
            ) from exc
        except (ConnectionError, asyncio.CancelledError) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are shutting down
            raise SmppOutcomeUnknownError(
                f"submit_sm to {who}: connection lost before the answer"
            ) from exc
        if isinstance(res, transport.CommandStatus):
            raise SmppRejectedError(res.name, permanent=res.name not in TRANSIENT_STATUSES)
        message_id = bytes(res.message_id).decode("ascii", "replace")
        log.info(
            "submit_sm to %s: %d chars, coding %s%s → id %s",
            who,
            len(text),
            coding.name,
            ", message_payload" if long else "",
            message_id,
        )
        return message_id

    async def _on_request(self, req: Any) -> Any:
        if isinstance(req, transport.DeliverSmReq):
            self._on_deliver(req)
            return transport.DeliverSmRes()
        if isinstance(req, transport.EnquireLinkReq):
            return transport.EnquireLinkRes()
        if isinstance(req, transport.UnbindReq):
            conn = self._conn
            if conn is not None:
                conn.async_group.spawn(_close_later, conn)
            return transport.UnbindRes()
        return transport.CommandStatus.ESME_RINVCMDID

    def _on_deliver(self, req: Any) -> None:
        who = mask_phone(req.source_addr)
        if not is_delivery_receipt(req):
            log.info("deliver_sm from %s that is not a receipt: ignored", who)
            return
        receipt = receipt_of(req, received_at=datetime.now(UTC))
        if receipt is None:
            log.warning("delivery receipt from %s without id or stat: ignored", who)
            return
        log.info("delivery receipt %r", receipt)
        if self._on_receipt is not None:
            try:
                self._on_receipt(receipt)
            except Exception:
                log.exception("the receipt callback failed for %s", receipt.message_id)


async def _close_later(conn: Any) -> None:
    await asyncio.sleep(0.05)
    conn.close()
