"""The API refuses early instead of hanging or swelling: admission (503 + Retry-After), the
body cap (413), the batch cap (413), a busy database (503 + Retry-After)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from openoms.api import create_app
from openoms.api.limits import AdmissionGate, Limits, LimitsMiddleware
from openoms.service.context import Database
from openoms.settings import Settings
from openoms.store.db import PoolSettings, make_engine, make_session_factory
from openoms.store.tokens import Role
from tests.api.conftest import BASE_URL, Api

D = Role.DISPATCHER


def _with_settings(api: Api, **changes: Any) -> Api:
    """The same service with other settings (a new app over the same database)."""
    settings = api.context.settings.model_copy(update=changes)
    context = dataclasses.replace(api.context, settings=settings)
    return dataclasses.replace(api, app=create_app(context), context=context)


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:openoms:problem:{slug}"
    assert body["status"] == status
    return body


def _event(n: int) -> dict[str, Any]:
    return {
        "kind": "trouble_call",
        "device_time": "2024-06-01T07:59:00+00:00",
        "idempotency_key": f"n{n}",
        "payload": {"n": n},
    }


def test_a_body_over_the_cap_is_413_and_reaches_no_route(api: Api) -> None:
    small = _with_settings(api, http_max_body_bytes=4096)
    big = {"events": [_event(n) | {"payload": {"pad": "x" * 500}} for n in range(20)]}
    response = small.post("/api/v1/events/batch", role=D, json=big)
    body = _problem(response, 413, "request-too-large")
    assert "4096" in body["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        data = json.dumps(big).encode()
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    chunked = small.send(
        method="POST",
        url="/api/v1/events/batch",
        headers={**small.headers(D), "Content-Type": "application/json"},
        content=chunks(),
    )
    _problem(chunked, 413, "request-too-large")
    with api.context.sessions() as session:
        from openoms.store import eventlog

        assert eventlog.event_counts(session) == {}
    # Within the cap all is as before.
    fits = small.post("/api/v1/events/batch", role=D, json={"events": [_event(1)]})
    assert fits.status_code == 202


def test_a_batch_over_the_count_cap_is_413(api: Api) -> None:
    capped = _with_settings(api, http_max_batch_events=5)
    response = capped.post(
        "/api/v1/events/batch", role=D, json={"events": [_event(n) for n in range(6)]}
    )
    body = _problem(response, 413, "request-too-large")
    assert (body["size"], body["limit"]) == (6, 5)
    assert "http_max_batch_events" in body["detail"]
    ok = capped.post("/api/v1/events/batch", role=D, json={"events": [_event(n) for n in range(5)]})
    assert ok.json()["accepted"] == 5


def test_no_pooled_connection_in_time_is_503_with_retry_after(api: Api) -> None:
    engine = make_engine(
        str(api.context.engine.url.render_as_string(hide_password=False)),
        PoolSettings(size=1, overflow=0, timeout_s=0.2),
    )
    try:
        http = Database(
            engine, make_session_factory(engine), make_session_factory(engine, read_only=True)
        )
        context = dataclasses.replace(api.context, http_database=http)
        busy = dataclasses.replace(api, app=create_app(context), context=context)
        with engine.connect():  # the API's only connection, taken
            response = busy.get("/api/v1/outages", role=D)
        body = _problem(response, 503, "database-busy")
        assert response.headers["retry-after"] == "1"
        assert "SELECT" not in body["detail"]  # a fixed sentence, never the SQL
        assert busy.get("/api/v1/outages", role=D).status_code == 200  # and back at once
    finally:
        engine.dispose()


# -- admission, on a bare app whose requests wait until released ------------------------------


class _Held:
    """An ASGI app that answers 200 once ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def held() -> tuple[_Held, httpx.AsyncClient]:
    app = _Held()
    limits = Limits(max_in_flight=2, max_queued=1, queue_timeout_s=0.3, retry_after_s=3)
    transport = httpx.ASGITransport(app=LimitsMiddleware(app, limits=limits))
    return app, httpx.AsyncClient(transport=transport, base_url=BASE_URL)


def test_beyond_the_slots_and_the_queue_it_is_503_at_once(
    held: tuple[_Held, httpx.AsyncClient],
) -> None:
    app, client = held

    async def scenario() -> None:
        async with client:
            working = [asyncio.create_task(client.get("/api/v1/outages")) for _ in range(2)]
            await asyncio.sleep(0.05)
            queued = asyncio.create_task(client.get("/api/v1/outages"))
            await asyncio.sleep(0.05)
            loop = asyncio.get_running_loop()
            began = loop.time()
            refused = await client.get("/api/v1/outages")  # the queue is full: at once
            assert loop.time() - began < 0.2
            body = _problem(refused, 503, "overloaded")
            assert refused.headers["retry-after"] == "3"
            assert "2 requests" in body["detail"]
            late = await queued  # waited its 0.3 s in the queue, then refused
            _problem(late, 503, "overloaded")
            # Monitoring has its own budget while the API is saturated.
            health = asyncio.create_task(client.get("/api/v1/health"))
            await asyncio.sleep(0.05)
            assert app.entered == 3
            app.release.set()
            assert [r.status_code for r in await asyncio.gather(*working, health)] == [200] * 3
            assert (await client.get("/api/v1/outages")).status_code == 200  # recovered

    asyncio.run(scenario())


def test_a_slot_freed_goes_to_the_first_waiter() -> None:
    async def scenario() -> None:
        gate = AdmissionGate(slots=1, queue=5)
        assert await gate.enter(0)
        order: list[int] = []

        async def wait(n: int) -> None:
            if await gate.enter(5):
                order.append(n)
                await asyncio.sleep(0)
                gate.leave()

        waiters = [asyncio.create_task(wait(n)) for n in range(3)]
        await asyncio.sleep(0.01)
        assert gate.queued == 3
        assert not await gate.enter(0)  # a newcomer does not overtake the queue
        gate.leave()
        await asyncio.gather(*waiters)
        assert order == [0, 1, 2]
        assert (gate.in_flight, gate.queued) == (0, 0)

    asyncio.run(scenario())


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings(http_max_in_flight=3, http_max_queued=7, http_max_body_bytes=2048)
    limits = Limits.from_settings(settings)
    assert (limits.max_in_flight, limits.max_queued, limits.max_body_bytes) == (3, 7, 2048)
