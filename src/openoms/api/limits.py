"""Admission control and request size: the API degrades by refusing early, never by hanging.

:class:`LimitsMiddleware` (pure ASGI, in front of every route) lets at most
``http_max_in_flight`` requests be worked on at once. Up to ``http_max_queued`` more wait for
a slot, first come first served, for at most ``http_queue_timeout_s``; any other request, and
one that waited too long, is answered at once with ``503`` and ``Retry-After`` (a problem
document, type ``overloaded``). Health and metrics have a small budget of their own, so that
a load balancer and Prometheus still get answers while the API is saturated.

Why it matters: every admitted request runs its route and its database session in a worker
thread, and hands the session back (commit, connection to the pool) in another worker
thread. With more requests admitted than there are worker threads, threads waiting for a
pooled connection can wait on connections that only a thread can give back: the service
wedges until the pool's timeout fires. Admission keeps the requests worked on below the
worker threads (:func:`thread_tokens`) and the database pools.

A request body is read here, before the route, up to ``http_max_body_bytes`` (a larger
``Content-Length``, or a longer chunked body, is ``413``, type ``request-too-large``) and
within ``http_body_timeout_s`` (else ``408``): memory per request is bounded, and a client
that sends slowly cannot hold a slot for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openoms.api.problems import ProblemResponse, problem_body, problem_type_uri
from openoms.api.routes import API_PREFIX
from openoms.settings import Settings

__all__ = ["AdmissionGate", "Limits", "LimitsMiddleware", "thread_tokens"]

log = logging.getLogger("openoms.api")

MONITORING: Final = frozenset({f"{API_PREFIX}/health", f"{API_PREFIX}/metrics"})
"""Paths with their own small budget (``MONITORING_IN_FLIGHT``), beside the API's."""
MONITORING_IN_FLIGHT: Final = 4
LONG_LIVED: Final = frozenset({f"{API_PREFIX}/console/stream"})
"""Streams held open for minutes (server-sent events): outside the gate, capped by their route
(``console_max_streams``) and holding no worker thread while they wait."""
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Limits:
    """What the API admits (see the ``http_*`` settings)."""

    max_in_flight: int = 16
    max_queued: int = 64
    queue_timeout_s: float = 2.0
    retry_after_s: int = 1
    max_body_bytes: int = 1024 * 1024
    body_timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_in_flight=settings.http_max_in_flight,
            max_queued=settings.http_max_queued,
            queue_timeout_s=settings.http_queue_timeout_s,
            retry_after_s=settings.http_retry_after_s,
            max_body_bytes=settings.http_max_body_bytes,
            body_timeout_s=settings.http_body_timeout_s,
        )


def thread_tokens(limits: Limits) -> int:
    """Worker threads the app needs so that every admitted request always gets one: each
    request uses one at a time; the rest is for monitoring and background calls."""
    return limits.max_in_flight + MONITORING_IN_FLIGHT + 8


class AdmissionGate:
    """``slots`` holders at once, ``queue`` waiters at most, served in arrival order.

    Runs on one event loop (no thread-safety needed); a slot freed goes straight to the
    first waiter, so that a newcomer cannot overtake the queue.
    """

    def __init__(self, slots: int, queue: int) -> None:
        self.slots = slots
        self.queue = queue
        self._free = slots
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_flight(self) -> int:
        return self.slots - self._free

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def enter(self, timeout_s: float) -> bool:
        """Take a slot, waiting at most ``timeout_s`` in the queue; False when refused."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        if len(self._waiters) >= self.queue or timeout_s <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except BaseException as exc:  # timed out, or the request was cancelled
            if waiter.done() and not waiter.cancelled():
                self.leave()  # handed a slot just as the wait ended: pass it on
            else:
                waiter.cancel()
                self._forget(waiter)
            if isinstance(exc, TimeoutError):
                return False
            raise
        return True  # the slot was handed over by leave()

    def leave(self) -> None:
        """Give a slot back: to the first waiter still waiting, else to the free ones."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already handed on
            self._waiters.remove(waiter)


class _Metrics:
    def __init__(self, registry: CollectorRegistry, api: AdmissionGate) -> None:
        self.refused = Counter(
            "openoms_http_refused",
            "HTTP requests answered by the admission limits without reaching a route, by why.",
            ["reason"],
            registry=registry,
        )
        for reason in ("saturated", "too_large", "body_timeout"):
            self.refused.labels(reason)
        in_flight = Gauge(
            "openoms_http_in_flight", "HTTP requests being worked on now.", registry=registry
        )
        in_flight.set_function(lambda: api.in_flight)
        queued = Gauge(
            "openoms_http_queued", "HTTP requests waiting for a slot now.", registry=registry
        )
        queued.set_function(lambda: api.queued)


class LimitsMiddleware:
    """Admission control and the request body cap; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, limits: Limits, registry: CollectorRegistry | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.api = AdmissionGate(limits.max_in_flight, limits.max_queued)
        self.monitoring = AdmissionGate(MONITORING_IN_FLIGHT, MONITORING_IN_FLIGHT)
        self._metrics = _Metrics(registry, self.api) if registry is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if path in LONG_LIVED:
            await self.app(scope, receive, send)
            return
        gate = self.monitoring if path in MONITORING else self.api
        if not await gate.enter(self.limits.queue_timeout_s):
            self._count("saturated")
            await self._refuse(
                scope, receive, send, status=503, slug="overloaded", detail=_saturated(gate)
            )
            return
        try:
            if scope.get("method") in _BODY_METHODS:
                body = await self._read_body(scope, receive, send)
                if body is None:
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send)
        finally:
            gate.leave()

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once a 413 / 408 was sent instead."""
        cap = self.limits.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            self._count("too_large")
            await self._refuse(
                scope, receive, send, status=413, slug="request-too-large", detail=_large(cap)
            )
            return None
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None  # the client is gone: nobody to answer
                    chunk = bytes(message.get("body", b""))
                    size += len(chunk)
                    if size > cap:
                        self._count("too_large")
                        await self._refuse(
                            scope,
                            receive,
                            send,
                            status=413,
                            slug="request-too-large",
                            detail=_large(cap),
                        )
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            self._count("body_timeout")
            detail = f"the request body did not arrive within {self.limits.body_timeout_s:g} s"
            await self._refuse(
                scope, receive, send, status=408, slug="request-timeout", detail=detail
            )
            return None

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, *, status: int, slug: str, detail: str
    ) -> None:
        titles = {
            503: "Service overloaded",
            413: "Request too large",
            408: "Request body too slow",
        }
        headers: dict[str, str] = {}
        if status != 503 or scope.get("method") in _BODY_METHODS:
            headers["Connection"] = "close"  # the body is not read: no next request on it
        if status == 503:
            headers["Retry-After"] = str(self.limits.retry_after_s)
        body = problem_body(
            type_uri=problem_type_uri(slug),
            title=titles[status],
            status=status,
            detail=detail,
            instance=str(scope.get("path", "")),
        )
        await ProblemResponse(body, status_code=status, headers=headers)(scope, receive, send)

    def _count(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.refused.labels(reason).inc()


def _saturated(gate: AdmissionGate) -> str:
    return (
        f"the service is working on {gate.slots} requests and {gate.queue} more are waiting; "
        "try again after Retry-After seconds"
    )


def _large(cap: int) -> str:
    return f"the request body is larger than {cap} bytes (http_max_body_bytes)"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one before we see it
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` in one message, then listens to the client."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
