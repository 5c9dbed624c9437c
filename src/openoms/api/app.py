"""The FastAPI application factory. Nothing happens at import: build a context, then the app.

```python
context = build_context(load_settings())
app = create_app(context)
```
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio.to_thread
from fastapi import FastAPI

from openoms import __version__
from openoms.api.docs_page import install_docs
from openoms.api.limits import Limits, LimitsMiddleware, thread_tokens
from openoms.api.metrics import ApiMetrics, MetricsMiddleware
from openoms.api.problems import install_problem_handlers, problems_in_openapi
from openoms.api.routes import (
    API_PREFIX,
    calls,
    console,
    console_stream,
    events,
    faults,
    grid,
    notices,
    outages,
    planned,
    public,
    public_forms,
    reliability,
    system,
    telemetry,
    tokens,
)
from openoms.ingest.iec104 import UnitStatus
from openoms.service.context import ServiceContext

__all__ = ["API_PREFIX", "create_app"]

_DESCRIPTION = """\
OpenOMS outage management for 10 kV distribution networks.

Send an API token as `Authorization: Bearer oms_...` (create one with
`openoms token create --name … --role …`); the public outage pages, health and metrics need
none. Every error is an RFC 9457 problem document (`application/problem+json`).

Under load the API refuses rather than hangs: `503` with `Retry-After` when it is working on
as many requests as it admits (or the database is busy), `413` for a body or a batch over the
limits.
"""

_TAGS: Final = [
    {"name": "outages", "description": "Outage records, their lifecycle and restoration."},
    {"name": "events", "description": "Indicator, switch, call and crew events into the log."},
    {"name": "telemetry", "description": "Measured values: latest and sampled history."},
    {"name": "grid", "description": "The network and its present switch state."},
    {"name": "notices", "description": "Customer notices, their deliveries, the media feed."},
    {"name": "public", "description": "What the public may see: no personal data, no token."},
    {"name": "reliability", "description": "Reliability indices (IEEE 1366, DL/T 836)."},
    {"name": "console", "description": "What the operator console draws, and its live stream."},
    {"name": "tokens", "description": "API tokens (admin)."},
    {"name": "system", "description": "Health and Prometheus metrics."},
]


def create_app(
    context: ServiceContext,
    *,
    mqtt_status: Callable[[], bool | None] | None = None,
    iec104_status: Callable[[], Mapping[str, UnitStatus]] | None = None,
) -> FastAPI:
    """The API of one running OpenOMS, served under ``/api/v1``.

    ``mqtt_status`` reports whether the MQTT subscriber is connected (``Service.mqtt_connected``);
    without it, health says "not known". The admission limits and the body cap come from the
    context's settings (:mod:`openoms.api.limits`).
    """
    limits = Limits.from_settings(context.settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Enough worker threads for every admitted request (see openoms.api.limits).
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, thread_tokens(limits))
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="OpenOMS",
        version=__version__,
        description=_DESCRIPTION,
        openapi_tags=_TAGS,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from inside the package below (works without internet)
        redoc_url=None,
    )
    metrics = ApiMetrics(context, iec104_status)
    app.state.context = context
    app.state.metrics = metrics
    app.state.mqtt_status = mqtt_status

    install_problem_handlers(app)
    app.add_middleware(LimitsMiddleware, limits=limits, registry=metrics.registry)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: sees every 500 too

    for module in (
        outages,
        calls,
        planned,
        notices,
        faults,
        events,
        telemetry,
        grid,
        public,
        public_forms,
        reliability,
        console,
        console_stream,
        tokens,
        system,
    ):
        app.include_router(module.router)

    _document_problems(app)
    install_docs(app, docs_url=f"{API_PREFIX}/docs", openapi_url=f"{API_PREFIX}/openapi.json")
    return app


def _document_problems(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems_in_openapi(build())
        return app.openapi_schema

    # FastAPI's documented way to post-process the schema is to replace this method.
    app.openapi = openapi  # type: ignore[method-assign]
