"""Prometheus metrics of one app: a registry per :func:`create_app`, never the global one.

Three sources:
- the middleware: requests by method, route template and status, and their latency;
- the intake's counters (since the process started, HTTP and MQTT alike): events accepted,
  duplicates, messages refused by reason, empty MQTT payloads ignored, telemetry samples;
- the database, read at scrape time (so every worker is included): the event log by kind,
  dead letters by reason, open outages by state.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Final

import prometheus_client
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openoms.ingest.iec104 import UnitStatus
from openoms.ingest.intake import Intake
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.service.context import ServiceContext
from openoms.store import deadletters, eventlog, outages

__all__ = ["ApiMetrics", "MetricsMiddleware"]

log = logging.getLogger("openoms.api")

_PAGE: Final = 500
_UNMATCHED: Final = "unmatched"  # one label for every unknown path: no label explosion
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _DatabaseCollector(Collector):
    """Figures read from the database when Prometheus scrapes."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("openoms_database_up", "1 when the database answered the scrape."),
            GaugeMetricFamily(
                "openoms_event_log_events", "Events in the event log, by kind.", labels=["kind"]
            ),
            GaugeMetricFamily(
                "openoms_dead_letters",
                "Messages that could not be accepted, by reason.",
                labels=["reason"],
            ),
            GaugeMetricFamily(
                "openoms_open_outages",
                "Open outage records (customers may still be off), by lifecycle state.",
                labels=["state"],
            ),
        )

    def describe(self) -> Iterator[Metric]:
        """The metrics' names without reading the database (at registration)."""
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        up, events, dead, states = self._families()
        try:
            with self._context.sessions() as session:
                for kind, n in sorted(eventlog.event_counts(session).items()):
                    events.add_metric([str(kind)], n)
                for reason, n in sorted(deadletters.dead_letter_counts(session).items()):
                    dead.add_metric([str(reason)], n)
                by_state = _open_outages_by_state(session)
                for state in sorted(OPEN_STATES):
                    states.add_metric([state.value], by_state[state])
        except Exception:  # a scrape must still answer (and say the database is down)
            log.exception("metrics: the database could not be read")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, events, dead, states)


def _open_outages_by_state(session: Session) -> Counter[OutageState]:
    """Open outages by state (the store has no count query yet: they are few, so list them)."""
    by_state: Counter[OutageState] = Counter()
    offset = 0
    while True:
        page = outages.list_outages(session, states=OPEN_STATES, limit=_PAGE, offset=offset)
        by_state.update(record.state for record in page)
        offset += len(page)
        if len(page) < _PAGE:
            return by_state


class _IntakeCollector(Collector):
    """The intake's totals since it was built (HTTP and MQTT alike)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, ...]:
        events = CounterMetricFamily(
            "openoms_intake_events",
            "Events the intake accepted into the log, or found there already (duplicate).",
            labels=["outcome"],
        )
        rejected = CounterMetricFamily(
            "openoms_intake_rejected",
            "Messages the intake refused (written to dead letters), by reason.",
            labels=["reason"],
        )
        ignored = CounterMetricFamily(
            "openoms_intake_ignored",
            "Empty MQTT payloads (a retained topic cleared): acknowledged, not stored.",
        )
        telemetry = CounterMetricFamily(
            "openoms_intake_telemetry_samples",
            "Telemetry samples stored (latest value and sampled history, not the event log).",
        )
        return events, rejected, ignored, telemetry

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        counts = self._intake.counts()
        events, rejected, ignored, telemetry = self._families()
        events.add_metric(["accepted"], counts.accepted)
        events.add_metric(["duplicate"], counts.duplicates)
        for reason, n in sorted(counts.rejected.items()):
            rejected.add_metric([reason], n)
        ignored.add_metric([], counts.ignored)
        telemetry.add_metric([], counts.telemetry)
        yield from (events, rejected, ignored, telemetry)


class _Iec104Collector(Collector):
    """The IEC 104 master's links, per telecontrol unit (read at each scrape)."""

    def __init__(self, status: Callable[[], Mapping[str, UnitStatus]]) -> None:
        self._status = status

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
    ]:
        labels = ["unit"]
        return (
            GaugeMetricFamily(
                "openoms_iec104_connected", "1 while the link to the unit is up.", labels=labels
            ),
            CounterMetricFamily(
                "openoms_iec104_connections", "Successful connections since start.", labels=labels
            ),
            CounterMetricFamily(
                "openoms_iec104_interrogations",
                "General interrogation answers written.",
                labels=labels,
            ),
            CounterMetricFamily(
                "openoms_iec104_events", "Events handed to the intake.", labels=labels
            ),
            CounterMetricFamily(
                "openoms_iec104_clock_skew",
                "Time tags refused as clock_skew (the unit's clock far ahead).",
                labels=labels,
            ),
        )

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        connected, connections, interrogations, events, skews = self._families()
        for unit, status in sorted(self._status().items()):
            connected.add_metric([unit], 1.0 if status.connected else 0.0)
            connections.add_metric([unit], status.connections)
            interrogations.add_metric([unit], status.interrogations)
            events.add_metric([unit], status.events)
            skews.add_metric([unit], status.clock_skews)
        yield from (connected, connections, interrogations, events, skews)


class ApiMetrics:
    """The registry of one app and the metrics counted in this process; ``iec104_status``:
    the IEC 104 master's links (``Service.iec104_status``), when the service runs one."""

    def __init__(
        self,
        context: ServiceContext,
        iec104_status: Callable[[], Mapping[str, UnitStatus]] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = prometheus_client.Counter(
            "openoms_http_requests",
            "HTTP requests, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "openoms_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(context))
        self.registry.register(_IntakeCollector(context.intake))
        if iec104_status is not None:
            self.registry.register(_Iec104Collector(iec104_status))


class MetricsMiddleware:
    """Counts every HTTP request by its route template (``/api/v1/outages/{outage_id}``)."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route: BaseRoute | None = scope.get("route")
            template = getattr(route, "path", None) or _UNMATCHED
            method = str(scope.get("method", ""))
            method = method if method in _METHODS else "other"
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
