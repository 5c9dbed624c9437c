"""The life cycle the SMS gateway senders share (:mod:`.smpp`, :mod:`.cmpp`): an asyncio loop
in a thread of its own holding one link to the carrier's gateway, a supervisor task that keeps
the link up with a capped back-off, and the callbacks the outbox worker sets for delivery
receipts and for a link coming up. The protocol parts (binding, PDUs, the supervisor itself,
closing the link) are each sender's own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self

from openoms.notify.smpp_pdus import DeliveryReceipt

__all__ = ["LinkThread", "capped_backoff"]


def capped_backoff(failures: int, base_s: float, cap_s: float) -> float:
    """The wait before the next attempt after ``failures`` failed ones in a row: ``base_s``
    doubling each time, at most ``cap_s``; none before the first."""
    if failures <= 0:
        return 0.0
    return float(min(base_s * 2 ** (failures - 1), cap_s))


class LinkThread(ABC):
    """An asyncio loop in a daemon thread named ``thread_name`` running :meth:`_supervise`.

    Subclasses implement :meth:`_supervise` (keep the link up), :meth:`_close_link` (say
    goodbye to the gateway and close) and may prepare loop-bound objects (locks, semaphores)
    in :meth:`_loop_started`."""

    thread_name = "link"

    def __init__(
        self,
        on_receipt: Callable[[DeliveryReceipt], None] | None = None,
        on_bound: Callable[[], None] | None = None,
    ) -> None:
        self._on_receipt = on_receipt
        self._on_bound = on_bound
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._supervisor: asyncio.Task[None] | None = None

    def start(self) -> Self:
        """Start the link's thread; the link comes up in the background."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        ready.wait(timeout=10)
        return self

    def close(self) -> None:
        """Close the link (the protocol's goodbye) and stop the thread."""
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

    def set_bound_callback(self, callback: Callable[[], None]) -> None:
        self._on_bound = callback

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._loop_started()
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
        await self._close_link()

    def _loop_started(self) -> None:  # noqa: B027  (an optional hook, not abstract)
        """Create what belongs to the loop (locks, semaphores): called in the loop's thread."""

    @abstractmethod
    async def _supervise(self) -> None:
        """Keep the link up (re-connect after a loss, after the back-off when it fails)."""

    @abstractmethod
    async def _close_link(self) -> None:
        """Say goodbye to the gateway (unbind, terminate) and close the link."""
