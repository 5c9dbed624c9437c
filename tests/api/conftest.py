"""Fixtures of the API tests: a real database (SQLite and PostgreSQL), the small network, a
token per role, and a synchronous client that drives the app over httpx's ASGI transport.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.from_thread
import httpx
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from openoms.api import create_app
from openoms.grid import network_from_raw
from openoms.grid.model import Network
from openoms.ingest.intake import Intake
from openoms.outages.impact import ImpactAnalyser
from openoms.outages.records import OutageKind
from openoms.outages.summary import areas_of
from openoms.service.context import ServiceContext
from openoms.settings import Settings
from openoms.store import networks, outages
from openoms.store.db import make_engine, make_session_factory
from openoms.store.tokens import Role, create_token
from tests.grid.small import small_raw

START = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
BASE_URL = "http://oms.test"


@dataclass
class Clock:
    """The context's clock, moved by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Api:
    """The app under test, its context and a token per role."""

    app: FastAPI
    context: ServiceContext
    clock: Clock
    portal: BlockingPortal
    tokens: dict[Role, str] = field(default_factory=dict)

    def headers(self, role: Role | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        role: Role | None = None,
        headers: dict[str, str] | None = None,
        raise_app_exceptions: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.send(
            method=method,
            url=path,
            headers={**self.headers(role), **(headers or {})},
            raise_app_exceptions=raise_app_exceptions,
            **kwargs,
        )

    def send(self, *, raise_app_exceptions: bool = True, **kwargs: Any) -> httpx.Response:
        """Any request (``httpx.AsyncClient.request`` arguments), through the ASGI transport."""
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=raise_app_exceptions)

        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                return await client.request(**kwargs)

        return self.portal.call(call)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def fault_outage(self, *opened: str, kind: OutageKind = OutageKind.FAULT, **fields: Any) -> int:
        """An outage of opening ``opened`` stored through the repository (as the processor
        would), ``fields`` passed on to ``create_outage``."""
        impact = self.context.analyser.of_opening(list(opened))
        with self.context.sessions.begin() as session:
            return outages.create_outage(
                session,
                kind=kind,
                network_version_id=self.context.network_version_id,
                started_at=fields.pop("started_at", self.clock.now - timedelta(minutes=30)),
                actor="system",
                feeder_id=impact.feeders[0],
                operated_device=opened[0],
                areas=areas_of(impact, at=self.clock.now - timedelta(minutes=30)),
                summary=fields.pop("summary", {"en": impact.summary()}),
                now=self.clock.now,
                **fields,
            )


def operations(app: FastAPI) -> dict[tuple[str, str], list[str]]:
    """Every operation of the app, ``(METHOD, path template) → tags``, from its OpenAPI."""
    return {
        (method.upper(), path): operation.get("tags", [])
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    }


@pytest.fixture(scope="session")
def small_network() -> Network:
    return network_from_raw(small_raw())


@pytest.fixture
def api(database_url: str, small_network: Network) -> Iterator[Api]:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    clock = Clock()
    with sessions.begin() as session:
        version_id, _ = networks.save_network_version(
            session, small_raw(), source="tests", actor="tests", now=clock.now, summary={}
        )
        tokens = {
            role: create_token(session, name=f"{role.value}-1", role=role, now=clock.now)
            for role in Role
        }
    context = ServiceContext(
        settings=Settings(database_url=database_url),
        engine=engine,
        sessions=sessions,
        network=small_network,
        network_version_id=version_id,
        analyser=ImpactAnalyser(small_network),
        intake=Intake(sessions, small_network, utility="test"),
        clock=clock,
    )
    try:
        with anyio.from_thread.start_blocking_portal() as portal:
            yield Api(create_app(context), context, clock, portal, tokens)
    finally:
        engine.dispose()
