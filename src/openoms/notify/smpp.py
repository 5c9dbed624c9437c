"""The SMS channel: an SMPP 3.4 ESME (client) to the carrier's SMSC, its session and errors.

Built on ``hat.drivers.smpp.transport`` (PDU codec and connection) of hat-drivers rather
than on its ``smpp.client.Client``, because that client neither asks for delivery receipts
(``registered_delivery`` is fixed to none) nor passes ``deliver_sm`` on; the bind,
``submit_sm`` and ``enquire_link`` handling here mirror it. What goes in the PDUs (data
coding, long texts, receipts) is :mod:`.smpp_pdus`.

- Bind as a transceiver (submits go out and receipts come in on one session); a lost session
  is re-bound in the background, so receipts queued at the SMSC arrive even when idle. A
  refused or failed bind is retried after a capped exponential back-off
  (``bind_backoff_s · 2^(failures−1)``, at most ``bind_backoff_max_s``), logged with the
  reason; meanwhile a submit fails at once as unavailable instead of binding again. Each
  successful bind calls ``on_bound`` (the outbox worker then sends what waits at once).
- Long texts go in ``message_payload`` or as concatenated segments (:class:`LongMessage`);
  when the SMSC refuses ``message_payload`` (:data:`PAYLOAD_REFUSED_STATUSES`, in a
  ``submit_sm_resp`` or a ``generic_nack``) the text is sent again as 8-bit-reference UDH
  segments, and so are long texts for the rest of the sender's life.
- ``ESME_RTHROTTLED`` slows sending down: the PDU is sent again after a pause that doubles
  up to ``throttle_max_s`` (``throttle_retries`` times at most), and every later submit keeps
  that spacing, halved after each accepted PDU.
- Each submit asks for a receipt; each ``deliver_sm`` receipt is handed to the
  ``on_receipt`` callback.

:meth:`SmppSender.submit` is synchronous (the outbox worker is a thread), returns the SMSC's
message ids (one per PDU: one, or one per segment) and tells apart the three outcomes that
matter for sending exactly once: :class:`SmppUnavailableError` (nothing was sent: retry),
:class:`SmppRejectedError` (the SMSC answered the first PDU with an error), and
:class:`SmppOutcomeUnknownError` (the text may have reached the SMSC, wholly or some of its
segments: do not resend blindly). Phone numbers are masked in every log line.
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
from datetime import UTC, datetime
from typing import Any, Protocol

from hat.drivers import net  # type: ignore[import-untyped,unused-ignore]
from hat.drivers.smpp import transport  # type: ignore[import-untyped,unused-ignore]

from openoms.contacts.phone import mask_phone
from openoms.errors import OpenOMSError
from openoms.notify.link_thread import LinkThread, capped_backoff
from openoms.notify.smpp_pdus import (
    PAYLOAD_REFUSED_STATUSES,
    TRANSIENT_STATUSES,
    DeliveryReceipt,
    LongMessage,
    SmppOptions,
    bind_request,
    describe,
    is_delivery_receipt,
    parse_receipt_text,
    receipt_of,
    submit_requests,
)
from openoms.settings import Settings

__all__ = [
    "DeliveryReceipt",
    "LongMessage",
    "SmppError",
    "SmppOptions",
    "SmppOutcomeUnknownError",
    "SmppRejectedError",
    "SmppSender",
    "SmppUnavailableError",
    "SmsChannel",
    "parse_receipt_text",
    "sender_from_settings",
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

    def submit(self, phone: str, text: str) -> tuple[str, ...]:
        """Hand one SMS to the carrier; the carrier's message ids (one per PDU)."""
        ...

    def set_receipt_callback(self, callback: Callable[[DeliveryReceipt], None]) -> None: ...

    def set_bound_callback(self, callback: Callable[[], None]) -> None:
        """``callback()`` after each successful bind (from the channel's thread)."""
        ...


class SmppSender(LinkThread):
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
        on_bound: Callable[[], None] | None = None,
        options: SmppOptions | None = None,
        connect_timeout_s: float = 5.0,
        response_timeout_s: float = 10.0,
        enquire_link_s: float = 30.0,
        reconnect_delay_s: float = 1.0,
        bind_backoff_s: float = 1.0,
        bind_backoff_max_s: float = 300.0,
        throttle_delay_s: float = 1.0,
        throttle_max_s: float = 30.0,
        throttle_retries: int = 5,
    ) -> None:
        super().__init__(on_receipt, on_bound)
        self.host, self.port = host, port
        self._system_id, self._password, self._source_addr = system_id, password, source_addr
        self.options = options or SmppOptions()
        self._connect_timeout_s = connect_timeout_s
        self._response_timeout_s = response_timeout_s
        self._enquire_link_s = enquire_link_s
        self._reconnect_delay_s = reconnect_delay_s
        self._bind_backoff_s = bind_backoff_s
        self._bind_backoff_max_s = bind_backoff_max_s
        self._throttle_delay_s = throttle_delay_s
        self._throttle_max_s = throttle_max_s
        self._throttle_retries = throttle_retries
        self.long_message = self.options.long_message
        """How long texts go now: the setting, or ``udh8`` once the SMSC refused the TLV."""
        self.bind_failures = 0
        """Binds failed in a row (0 when bound)."""
        self.last_bind_error = ""
        self._next_bind_at = 0.0  # time.monotonic(); no bind attempt before
        self._pace_s = 0.0  # spacing between PDUs after throttling
        self._last_pdu_at = 0.0
        self._references = itertools.count(random.randrange(1, 0xFFFF))
        self._conn: Any = None
        self._bind_lock: asyncio.Lock | None = None

    thread_name = "smpp-sender"

    def __repr__(self) -> str:
        return f"SmppSender({self.host}:{self.port}, system_id={self._system_id!r})"

    # -- life cycle ------------------------------------------------------------------------

    def bind_delay(self, failures: int) -> float:
        """The wait before the next bind after ``failures`` failed binds in a row."""
        return capped_backoff(failures, self._bind_backoff_s, self._bind_backoff_max_s)

    @property
    def bound(self) -> bool:
        return self._conn is not None and bool(self._conn.is_open)

    def submit(self, phone: str, text: str) -> tuple[str, ...]:
        """Send one SMS; the SMSC's message ids, one per PDU (one, or one per segment).
        Raises an :class:`SmppError` subclass."""
        loop = self._loop
        if loop is None:
            raise SmppUnavailableError("the SMPP sender is not started")
        pdus = len(self._requests(phone, text, LongMessage.UDH16, 0))  # the most there can be
        per_pdu = self._response_timeout_s + self._throttle_max_s * self._throttle_retries
        future = asyncio.run_coroutine_threadsafe(self._submit(phone, text), loop)
        try:
            return future.result(timeout=self._connect_timeout_s + per_pdu * (pdus + 1) + 2)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise SmppOutcomeUnknownError(f"submit_sm to {mask_phone(phone)}: no answer") from exc

    # -- the loop ------------------------------------------------------------------------

    def _loop_started(self) -> None:
        self._bind_lock = asyncio.Lock()

    async def _close_link(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and conn.is_open:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.send(transport.UnbindReq()), 1.0)
            await conn.async_close()

    async def _supervise(self) -> None:
        """Keep a session bound: re-bind after a loss (so that queued receipts come in),
        after the back-off when binds fail."""
        while True:
            try:
                conn = await self._ensure_bound()
            except SmppUnavailableError:
                pass  # logged with the back-off by _ensure_bound
            else:
                await conn.wait_closing()
                log.info("SMPP %s:%s: session closed", self.host, self.port)
                await asyncio.sleep(self._reconnect_delay_s)
            await asyncio.sleep(max(self._next_bind_at - time.monotonic(), 0.0))

    async def _ensure_bound(self) -> Any:
        assert self._bind_lock is not None  # set before the loop runs
        async with self._bind_lock:
            if self._conn is not None and self._conn.is_open:
                return self._conn
            wait = self._next_bind_at - time.monotonic()
            if wait > 0:
                raise SmppUnavailableError(
                    f"not bound to {self.host}:{self.port} ({self.last_bind_error}); "
                    f"next bind attempt in {wait:.1f} s"
                )
            try:
                conn = await self._bind()
            except SmppUnavailableError as exc:
                self.bind_failures += 1
                self.last_bind_error = str(exc)
                delay = self.bind_delay(self.bind_failures)
                self._next_bind_at = time.monotonic() + delay
                log.warning(
                    "SMPP %s:%s: %s; bind attempt %d failed, next in %.1f s",
                    self.host,
                    self.port,
                    exc,
                    self.bind_failures,
                    delay,
                )
                raise
            self.bind_failures, self.last_bind_error, self._next_bind_at = 0, "", 0.0
            self._conn = conn
        if self._on_bound is not None:
            try:
                self._on_bound()
            except Exception:
                log.exception("the bound callback failed")
        return conn

    async def _bind(self) -> Any:
        try:
            raw = await asyncio.wait_for(
                net.connect(net.TcpAddress(self.host, self.port)), self._connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise SmppUnavailableError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        conn = transport.Connection(conn=raw, request_cb=self._on_request, notification_cb=None)
        bind = bind_request(self._system_id, self._password, self.options)
        try:
            res = await asyncio.wait_for(conn.send(bind), self._response_timeout_s)
        except (ConnectionError, TimeoutError, asyncio.CancelledError) as exc:
            await conn.async_close()
            raise SmppUnavailableError(f"bind to {self.host}:{self.port} failed: {exc!r}") from exc
        if isinstance(res, transport.CommandStatus):
            await conn.async_close()
            raise SmppUnavailableError(f"bind to {self.host}:{self.port} refused: {res.name}")
        log.info("SMPP %s:%s: bound as %s", self.host, self.port, self._system_id)
        conn.async_group.spawn(self._enquire_link_loop, conn)
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

    def _requests(self, phone: str, text: str, mode: LongMessage, reference: int) -> list[Any]:
        return submit_requests(
            text,
            source_addr=self._source_addr,
            destination=phone,
            mode=mode,
            reference=reference,
            options=self.options,
        )

    async def _submit(self, phone: str, text: str) -> tuple[str, ...]:
        conn = await self._ensure_bound()
        who = mask_phone(phone)
        mode = self.long_message
        reqs = self._requests(phone, text, mode, next(self._references) & 0xFFFF)
        ids: list[str] = []
        for n, req in enumerate(reqs):
            try:
                res = await self._send_paced(conn, req, who)
            except SmppUnavailableError:
                if ids:
                    raise SmppOutcomeUnknownError(
                        f"submit_sm to {who}: the session closed after {len(ids)} of "
                        f"{len(reqs)} segments"
                    ) from None
                raise
            if isinstance(res, transport.CommandStatus):
                if (
                    mode is LongMessage.PAYLOAD
                    and res.name in PAYLOAD_REFUSED_STATUSES
                    and (transport.OptionalParamTag.MESSAGE_PAYLOAD in req.optional_params)
                ):
                    log.warning(
                        "SMPP %s:%s refused message_payload (%s): long texts go as UDH "
                        "segments from now on",
                        self.host,
                        self.port,
                        res.name,
                    )
                    self.long_message = LongMessage.UDH8
                    return await self._submit(phone, text)
                if n == 0:
                    raise SmppRejectedError(res.name, permanent=res.name not in TRANSIENT_STATUSES)
                raise SmppOutcomeUnknownError(
                    f"submit_sm to {who}: segment {n + 1} of {len(reqs)} refused "
                    f"({res.name}) after {n} accepted"
                )
            ids.append(bytes(res.message_id).decode("ascii", "replace"))
        log.info(
            "submit_sm to %s: %d chars, data_coding %s, %s → id %s",
            who,
            len(text),
            reqs[0].data_coding.value,
            describe(reqs),
            " ".join(ids),
        )
        return tuple(ids)

    async def _send_paced(self, conn: Any, req: Any, who: str) -> Any:
        """Send one PDU, keeping the spacing throttling asked for; a throttled PDU is sent
        again after a growing pause. The answer (a response or a command status)."""
        res: Any = None
        for attempt in range(self._throttle_retries + 1):
            wait = self._last_pdu_at + self._pace_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
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
            self._last_pdu_at = time.monotonic()  # the pause counts from the answer
            throttled = res is transport.CommandStatus.ESME_RTHROTTLED
            if not throttled:
                self._pace_s = self._pace_s / 2 if self._pace_s > 0.01 else 0.0
                return res
            self._pace_s = min(max(self._pace_s * 2, self._throttle_delay_s), self._throttle_max_s)
            if attempt < self._throttle_retries:
                log.warning(
                    "submit_sm to %s throttled by the SMSC: again in %.2f s", who, self._pace_s
                )
        return res

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


def sender_from_settings(settings: Settings, **kwargs: Any) -> SmppSender:
    """The sender the ``smpp_*`` settings describe (``kwargs``: more :class:`SmppSender`
    arguments, e.g. timeouts). ``smpp_host`` must be set."""
    if not settings.smpp_host:
        raise SmppUnavailableError("smpp_host is not set")
    options = SmppOptions(
        system_type=settings.smpp_system_type,
        service_type=settings.smpp_service_type,
        source_ton=settings.smpp_source_ton,
        source_npi=settings.smpp_source_npi,
        dest_ton=settings.smpp_dest_ton,
        dest_npi=settings.smpp_dest_npi,
        long_message=LongMessage(settings.smpp_long_message),
    )
    return SmppSender(
        settings.smpp_host,
        settings.smpp_port,
        settings.smpp_system_id,
        settings.smpp_password,
        settings.smpp_source_addr,
        options=options,
        bind_backoff_s=settings.smpp_bind_backoff_s,
        bind_backoff_max_s=settings.smpp_bind_backoff_max_s,
        throttle_delay_s=settings.smpp_throttle_delay_s,
        throttle_max_s=settings.smpp_throttle_max_s,
        **kwargs,
    )


async def _close_later(conn: Any) -> None:
    await asyncio.sleep(0.05)
    conn.close()
