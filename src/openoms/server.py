"""The composition root: the one place that builds a running OpenOMS.

settings → stores (database, migrations, the current network) → adapters (MQTT, IEC 104,
SMPP) and workflows (event processor, fault workflow, crew alerts), built by
:func:`openoms.service.runtime.build_context` and :class:`openoms.service.runtime.Service`
→ the HTTP app (:func:`openoms.api.create_app`) → uvicorn.

``openoms serve`` runs :func:`serve_forever`; the demo and the end-to-end tests use
:func:`serving`, which runs the same system on a loopback port in a background thread.
Nothing below this module builds or starts any of these parts itself.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from openoms.api import create_app
from openoms.service.context import ServiceContext
from openoms.service.runtime import Service, build_context
from openoms.service.warmup import compile_with_progress
from openoms.settings import Settings
from openoms.web import install_public_pages

__all__ = [
    "RunningServer",
    "build_app",
    "free_port",
    "serve_forever",
    "served_urls",
    "serving",
]


def free_port() -> int:
    """A free TCP port on loopback (for the demo and tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_app(service: Service) -> FastAPI:
    """The HTTP app over a built service: the API and the public pages."""
    app = create_app(
        service.context,
        mqtt_status=lambda: service.mqtt_connected,
        iec104_status=service.iec104_status,
    )
    install_public_pages(app)
    return app


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A started system: its context, its workers and the base URL its API answers on."""

    context: ServiceContext
    service: Service
    base_url: str


@contextmanager
def serving(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    prepare: Callable[[ServiceContext], None] | None = None,
    start_timeout_s: float = 30.0,
) -> Iterator[RunningServer]:
    """Build and start the whole system, HTTP in a background thread; stop it all on exit.

    ``prepare`` runs after the database and network are ready and before any worker starts
    (the demo imports its duty roster there).
    """
    port = port or free_port()
    context = build_context(settings)
    if prepare is not None:
        prepare(context)
    service = Service(context)
    service.start()
    server = uvicorn.Server(
        uvicorn.Config(build_app(service), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="openoms-http", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the HTTP server did not start on {host}:{port}")
            time.sleep(0.02)
        yield RunningServer(context, service, f"http://{host}:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.stop()
        context.dispose()


def serve_forever(
    settings: Settings,
    *,
    host: str,
    port: int,
    say: Callable[[str], None] | None = None,
) -> None:
    """``openoms serve``: run until interrupted. Compiles (first run after installing) or
    loads the numba kernels first, with a line per group on stderr, so that the first fault
    is not the one that waits for the compiler. Once the socket accepts requests it prints
    the addresses it serves and ``ready`` (:func:`served_urls`)."""
    out = say or (lambda line: print(line, file=sys.stderr, flush=True))
    compile_with_progress(out, data_dir=settings.data_dir)
    context = build_context(settings)
    service = Service(context)
    service.start()
    try:
        config = uvicorn.Config(build_app(service), host=host, port=port, log_level="warning")
        _AnnouncingServer(config, lambda: [out(line) for line in served_urls(host, port)]).run()
    finally:
        service.stop()
        context.dispose()


def served_urls(host: str, port: int) -> list[str]:
    """What ``openoms serve`` prints once it accepts requests: where to point a browser, an
    integrator and a monitoring system, the public outage page and the operator console,
    then ``ready`` (a line scripts may wait for)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    lines = [
        f"API docs 接口文档      {base}/api/v1/docs",
        f"OpenAPI 接口描述       {base}/api/v1/openapi.json",
        f"health 健康检查        {base}/api/v1/health",
        f"metrics 监控指标       {base}/api/v1/metrics",
        f"public page 停电信息   {base}/",
        f"console 抢修指挥       {base}/console",
    ]
    if shown != host:
        lines.append(f"listening on every interface (所有网络接口), port {port}")
    return [*lines, "ready 就绪"]


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, calling ``announce`` once its sockets accept connections."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], object]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._announce()
