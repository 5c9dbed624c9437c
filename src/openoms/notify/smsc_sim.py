"""An SMSC test peer: the carrier's side of an SMPP 3.4 session, on loopback.

Built on the PDU codec and connection of ``hat.drivers.smpp.transport`` (the same library
the sender uses, but the server side, which hat does not ship). It accepts
``bind_transceiver`` (checking the system id and password), answers ``submit_sm`` with a
message id, ``enquire_link`` and ``unbind``, and after ``receipt_delay_s`` sends a
``deliver_sm`` delivery receipt (``id:… sub:001 dlvrd:001 … stat:DELIVRD err:000``, with the
``receipted_message_id`` and ``message_state`` TLVs). A receipt whose session is gone waits
for the next bind, as a real SMSC's does.

To test failures it can be told to reject the next N submits with an error status
(:meth:`fail_next`) or to drop the connection after receiving a submit but before answering
it (:meth:`drop_next`; the message counts as received). It runs in its own thread with its
own asyncio loop; :attr:`messages` and :meth:`wait_for` are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from hat.drivers import net  # type: ignore[import-untyped,unused-ignore]
from hat.drivers.smpp import transport  # type: ignore[import-untyped,unused-ignore]

from openoms.notify.smpp_pdus import gsm7_decode

__all__ = ["SimMessage", "SmscSimulator"]


@dataclass(frozen=True, slots=True)
class SimMessage:
    """A message as the SMSC received it."""

    destination: str
    text: str
    received_at: datetime
    message_id: str
    source: str
    data_coding: int
    answered: bool  # False: the connection was dropped before the submit_sm_resp


def decode_text(req: Any) -> str:
    """The text of a ``submit_sm`` (short_message, or the message_payload TLV), without a
    user data header; ``data_coding`` 0 read as GSM 7-bit (one septet per octet)."""
    raw = req.short_message or req.optional_params.get(
        transport.OptionalParamTag.MESSAGE_PAYLOAD, b""
    )
    if transport.GsmFeature.UDHI in req.esm_class.gsm_features:
        raw = raw[1 + raw[0] :]
    if req.data_coding == transport.DataCoding.UCS2:
        return bytes(raw).decode("utf-16-be")
    return gsm7_decode(bytes(raw))


@dataclass(slots=True)
class _Pending:
    message_id: str
    destination: str
    source: str
    submitted_at: datetime


class SmscSimulator:
    """An SMSC on ``host:port`` (port 0: a free one, see :attr:`port`)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        system_id: str = "openoms",
        password: str = "secret",
        receipt_delay_s: float = 0.05,
        receipt_stat: str = "DELIVRD",
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port = 0
        self.system_id = system_id
        self.password = password
        self.receipt_delay_s = receipt_delay_s
        self.receipt_stat = receipt_stat
        self._lock = threading.Condition()
        self._messages: list[SimMessage] = []
        self._fail: list[Any] = []
        self._drop = 0
        self._binds = 0
        self._receipts_sent: list[str] = []
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._connections: set[Any] = set()
        self._pending: list[_Pending] = []

    # -- control, from any thread -------------------------------------------------------

    def start(self) -> Self:
        ready: Future[int] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="smsc-simulator", daemon=True
        )
        self._thread.start()
        self.port = ready.result(timeout=10)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def fail_next(self, n: int, status: str = "ESME_RSYSERR") -> None:
        """Answer the next ``n`` submits with this command status (a ``CommandStatus`` name)."""
        with self._lock:
            self._fail.extend([transport.CommandStatus[status]] * n)

    def drop_next(self, n: int = 1) -> None:
        """Drop the connection after each of the next ``n`` submits, before answering it."""
        with self._lock:
            self._drop += n

    def disconnect_all(self) -> None:
        """Close every session (as an SMSC restart would)."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop).result(timeout=10)

    @property
    def messages(self) -> list[SimMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def binds(self) -> int:
        """How many successful binds the SMSC has accepted."""
        with self._lock:
            return self._binds

    @property
    def receipts_sent(self) -> list[str]:
        """Message ids whose delivery receipt the ESME acknowledged."""
        with self._lock:
            return list(self._receipts_sent)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[SimMessage]:
        """Wait until at least ``n`` messages arrived (or ``timeout``); return them all."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._messages) >= n, timeout=timeout)
            return list(self._messages)

    def wait_until(self, predicate: Callable[[SmscSimulator], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate(self)`` every 10 ms until it holds or ``timeout`` passes."""
        deadline = datetime.now(UTC).timestamp() + timeout
        while datetime.now(UTC).timestamp() < deadline:
            if predicate(self):
                return True
            threading.Event().wait(0.01)
        return predicate(self)

    # -- the loop ------------------------------------------------------------------------

    def _run(self, ready: Future[int]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(
                net.listen(self._on_connection, net.TcpAddress(self.host, self._requested_port))
            )
        except OSError as exc:
            ready.set_exception(exc)
            loop.close()
            return
        self._server = server
        ready.set_result(server.info.addresses[0].port)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _close(self) -> None:
        await self._disconnect()
        if self._server is not None:
            await self._server.async_close()

    async def _disconnect(self) -> None:
        for connection in list(self._connections):
            await connection.async_close()
        self._connections.clear()

    async def _on_connection(self, conn: Any) -> None:
        state = {"bound": False, "source": ""}
        connection: Any = None

        async def on_request(req: Any) -> Any:
            return await self._on_request(connection, state, req)

        connection = transport.Connection(conn=conn, request_cb=on_request, notification_cb=None)
        self._connections.add(connection)
        connection.async_group.spawn(
            _on_done, connection.wait_closing(), lambda: self._connections.discard(connection)
        )

    async def _on_request(self, connection: Any, state: dict[str, Any], req: Any) -> Any:
        if isinstance(req, transport.BindReq):
            return self._on_bind(connection, state, req)
        if isinstance(req, transport.EnquireLinkReq):
            return transport.EnquireLinkRes()
        if isinstance(req, transport.UnbindReq):
            state["bound"] = False
            connection.async_group.spawn(_close_soon, connection)
            return transport.UnbindRes()
        if isinstance(req, transport.SubmitSmReq):
            return await self._on_submit(connection, state, req)
        # An SMSC takes no deliver_sm (nor anything else) from an ESME.
        return transport.CommandStatus.ESME_RINVCMDID

    def _on_bind(self, connection: Any, state: dict[str, Any], req: Any) -> Any:
        if req.system_id != self.system_id:
            return transport.CommandStatus.ESME_RINVSYSID
        if req.password != self.password:
            return transport.CommandStatus.ESME_RINVPASWD
        state["bound"] = True
        with self._lock:
            self._binds += 1
            pending, self._pending = self._pending, []
        for p in pending:  # receipts that waited for a session, after the bind_resp
            connection.async_group.spawn(self._send_receipt, connection, p, 0.05)
        return transport.BindRes(bind_type=req.bind_type, system_id="SMSCSIM", optional_params={})

    async def _on_submit(self, connection: Any, state: dict[str, Any], req: Any) -> Any:
        if not state["bound"]:
            return transport.CommandStatus.ESME_RINVBNDSTS
        with self._lock:
            if self._fail:
                return self._fail.pop(0)
            drop = self._drop > 0
            self._drop -= 1 if drop else 0
            message_id = f"SIM{next(self._ids):08d}"
            self._messages.append(
                SimMessage(
                    destination=req.destination_addr,
                    text=decode_text(req),
                    received_at=datetime.now(UTC),
                    message_id=message_id,
                    source=req.source_addr,
                    data_coding=req.data_coding.value,
                    answered=not drop,
                )
            )
            self._lock.notify_all()
        pending = _Pending(message_id, req.destination_addr, req.source_addr, datetime.now(UTC))
        wants_receipt = (
            req.registered_delivery.delivery_receipt != transport.DeliveryReceipt.NO_RECEIPT
        )
        if drop:
            if wants_receipt:
                with self._lock:
                    self._pending.append(pending)
            connection.close()  # cancels this handler: the submit_sm_resp is never sent
            await asyncio.Future()
        if wants_receipt:
            connection.async_group.spawn(
                self._send_receipt, connection, pending, self.receipt_delay_s
            )
        return transport.SubmitSmRes(message_id=message_id.encode())

    async def _send_receipt(self, connection: Any, p: _Pending, delay_s: float) -> None:
        try:
            await asyncio.sleep(delay_s)
            if not connection.is_open:
                raise ConnectionError
            done = datetime.now(UTC)
            stamp = "%y%m%d%H%M"
            delivered = "001" if self.receipt_stat == "DELIVRD" else "000"
            text = (
                f"id:{p.message_id} sub:001 dlvrd:{delivered} "
                f"submit date:{p.submitted_at.strftime(stamp)} done date:{done.strftime(stamp)} "
                f"stat:{self.receipt_stat} err:000 text:"
            )
            state = {
                "DELIVRD": transport.MessageState.DELIVERED,
                "UNDELIV": transport.MessageState.UNDELIVERABLE,
                "REJECTD": transport.MessageState.REJECTED,
                "EXPIRED": transport.MessageState.EXPIRED,
            }.get(self.receipt_stat, transport.MessageState.UNKNOWN)
            req = transport.DeliverSmReq(
                service_type="",
                source_addr_ton=transport.TypeOfNumber.UNKNOWN,
                source_addr_npi=transport.NumericPlanIndicator.UNKNOWN,
                source_addr=p.destination,
                dest_addr_ton=transport.TypeOfNumber.UNKNOWN,
                dest_addr_npi=transport.NumericPlanIndicator.UNKNOWN,
                destination_addr=p.source,
                esm_class=transport.EsmClass(
                    messaging_mode=transport.MessagingMode.DEFAULT,
                    message_type=transport.MessageType.DELIVERY_RECEIPT,
                    gsm_features=set(),
                ),
                protocol_id=0,
                priority_flag=transport.Priority.BULK,
                registered_delivery=transport.RegisteredDelivery(
                    delivery_receipt=transport.DeliveryReceipt.NO_RECEIPT,
                    acknowledgements=set(),
                    intermediate_notification=False,
                ),
                data_coding=transport.DataCoding.DEFAULT,
                short_message=text.encode("ascii"),
                optional_params={
                    transport.OptionalParamTag.RECEIPTED_MESSAGE_ID: p.message_id.encode(),
                    transport.OptionalParamTag.MESSAGE_STATE: state,
                },
            )
            res = await connection.send(req)
            if isinstance(res, transport.DeliverSmRes):
                with self._lock:
                    self._receipts_sent.append(p.message_id)
        except (ConnectionError, asyncio.CancelledError):
            with self._lock:  # keep it for the next session
                self._pending.append(p)


async def _on_done(awaitable: Any, callback: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        await awaitable
    callback()


async def _close_soon(connection: Any) -> None:
    await asyncio.sleep(0.05)  # let the unbind_resp go out first
    connection.close()
