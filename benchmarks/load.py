"""HTTP load with MQTT flowing: does the service degrade gracefully, never hang, lose nothing?

    python benchmarks/load.py [--quick] [--levels 1,50,200,1000] [--duration 10]
                              [--mqtt-rate 200] [--databases sqlite,postgresql]

The service runs as a real process (``openoms serve`` with a TOML config, as in production),
on a fresh database (SQLite in a temporary folder; PostgreSQL in a fresh schema of the
``test`` database, dropped afterwards), subscribed to the Mosquitto broker. A separate
process publishes fault indicator reports at QoS 1 at a steady ``--mqtt-rate`` for the whole
run (the sample county's indicators, the device's clock as device time, as in
docs/events.md). Then, per level of ``--levels`` concurrent HTTP connections, for
``--duration`` seconds, closed-loop clients (keep-alive HTTP/1.1 over asyncio streams, so
that the client is not what is measured; no back-off on ``503``: the worst case) send a mix:

- 40 % ``GET /api/v1/outages?limit=20`` (dispatcher), 10 % ``GET /api/v1/outages/{id}``;
- 25 % ``POST /api/v1/events`` trouble calls (dispatcher), 25 % crew-status events (a
  crew's token, ``crew_on_site`` of a booked outage), each with its own idempotency key.

Per level: answers per second (all, and 2xx), latency p50 / p99 (all answers), answers by
status, **hangs** (no answer within ``--deadline`` s) and connection errors, events
acknowledged (``202``) vs stored (every acknowledged key must be in the event log; stored
ones the client never saw acknowledged are counted: they are safe to send again, by their
key), MQTT reports stored per second during the storm against the unloaded rate measured
before the first level (the ratio), the MQTT latency (device time → stored, p50 / p99) in
both windows, and the **recovery** time after the storm: until a fresh request gets a 2xx
AND the MQTT backlog (published but not stored) is back under half a second's worth.

At the end the publisher stops and every report the broker acknowledged must be stored
(``0 lost``). Targets: 0 hangs, 0 lost, MQTT within 20 % of its unloaded rate, recovery under
5 s. Prints a table and which targets are met, writes ``benchmarks/results/load.json``.
``--quick``: levels 1, 50 and 200, 5 s each (about 2 minutes for both databases).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from _results import machine, versions
from _serve import Connection, Service, fault_indicators, http_get, http_post, once

RESULTS: Final = Path(__file__).resolve().parent / "results" / "load.json"
POSTGRES_URL: Final = os.environ.get(
    "OPENOMS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# -- targets
TARGET_MQTT_RATIO: Final = 0.8
TARGET_RECOVERY_S: Final = 5.0

UNLOADED_S: Final = 5.0  # the unloaded MQTT window before the first level
PAUSE_S: Final = 2.0  # between a recovery and the next level
RECOVERY_GIVE_UP_S: Final = 60.0
DRAIN_S: Final = 60.0  # at the end: every broker-acknowledged report stored by then

_START: Final = time.perf_counter()


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


# -- the MQTT stream: a separate process ----------------------------------------------------


def publish(
    broker: tuple[str, int], utility: str, devices: Sequence[str], rate: float, shared: Any
) -> None:
    """Publish indicator reports at ``rate`` / s until ``shared['stop']`` is set.

    ``shared``: ``published`` (reports handed to the client), ``acked`` (PUBACKs from the
    broker), ``ready``, ``stop``.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"load-pub-{uuid.uuid4().hex[:10]}",
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.max_inflight_messages_set(100)
    acked = shared["acked"]

    def on_publish(*_: Any) -> None:
        with acked.get_lock():
            acked.value += 1

    client.on_publish = on_publish
    client.connect(*broker)
    client.loop_start()
    shared["ready"].set()
    start = time.monotonic()
    for i in itertools.count():
        if shared["stop"].is_set():
            break
        due = start + i / rate
        while (ahead := due - time.monotonic()) > 0:
            time.sleep(min(ahead, 0.05))
        device = devices[i % len(devices)]
        doc = {
            "sn": device,
            "ts": int(time.time() * 1000),
            "msg_id": f"l{i}",
            "data": {"short_circuit_a": 0, "earth_fault": 0, "load_current_a": 80.0 + i % 7},
        }
        client.publish(
            f"openoms/{utility}/indicators/{device}/report", json.dumps(doc).encode(), qos=1
        )
        shared["published"].value = i + 1
    deadline = time.monotonic() + 30
    while acked.value < shared["published"].value and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()


# -- the service (benchmarks/_serve.py) ---------------------------------------------------------


@contextlib.contextmanager
def serving(
    kind: str, postgres_url: str, broker: tuple[str, int], extra: Sequence[str] = ()
) -> Iterator[Service]:
    """``openoms serve`` on a fresh database of ``kind``, configured but not started."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    with tempfile.TemporaryDirectory(prefix="openoms-load-") as tmp:
        folder = Path(tmp)
        schema = None
        if kind == "postgresql":
            schema = f"load_{uuid.uuid4().hex[:10]}"
            admin = create_engine(postgres_url)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            url = str(
                make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
            )
        else:
            url = f"sqlite:///{folder / 'openoms.db'}"
        # the service inherits the raised file limit of main()
        served = Service.configure(folder, url, broker, prefix="load", extra=extra)
        try:
            yield served
        finally:
            served.stop()
            if schema is not None:
                admin = create_engine(postgres_url)
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


# -- one storm -----------------------------------------------------------------------------------


@dataclass
class Storm:
    connections: int
    started: float = 0.0  # time.time()
    ended: float = 0.0
    latencies: list[float] = field(default_factory=list)  # every answer, seconds
    statuses: Counter[str] = field(default_factory=Counter)
    hangs: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    acked_keys: set[str] = field(default_factory=set)
    sent_keys: set[str] = field(default_factory=set)


async def storm(
    port: int,
    tokens: dict[str, str],
    outage_id: int,
    *,
    connections: int,
    duration_s: float,
    deadline_s: float,
    tag: str,
) -> Storm:
    result = Storm(connections)
    counter = itertools.count()
    stop_at = time.monotonic() + duration_s

    def next_request(client: int) -> tuple[bytes, str | None]:
        n = next(counter)
        share = n % 20
        at = datetime.now(UTC).isoformat()
        if share < 8:
            return http_get("/api/v1/outages?limit=20", tokens["dispatcher"]), None
        if share < 10:
            return http_get(f"/api/v1/outages/{outage_id}", tokens["dispatcher"]), None
        key = f"{tag}-{client}-{n}"
        if share < 15:
            event = {
                "kind": "trouble_call",
                "device_time": at,
                "idempotency_key": key,
                "payload": {"address": f"load test {n}"},
            }
            return http_post("/api/v1/events", tokens["dispatcher"], event), f"k::{key}"
        event = {
            "kind": "crew_status",
            "device_time": at,
            "idempotency_key": key,
            "payload": {"outage_id": outage_id, "status": "crew_on_site"},
        }
        return http_post("/api/v1/events", tokens["crew"], event), f"k::{key}"

    async def client(index: int) -> None:
        connection = Connection(port)
        while time.monotonic() < stop_at:
            raw, key = next_request(index)
            if key is not None:
                result.sent_keys.add(key)
            began = time.monotonic()
            try:
                status, body = await asyncio.wait_for(connection.request(raw), deadline_s)
            except TimeoutError:
                result.hangs += 1
                connection.close()
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                result.errors[type(exc).__name__] += 1
                connection.close()
                await asyncio.sleep(0.05)
                continue
            result.latencies.append(time.monotonic() - began)
            result.statuses[str(status)] += 1
            if status == 202 and key is not None:
                answer = json.loads(body)
                if answer.get("accepted") == 1 or answer.get("duplicates") == 1:
                    result.acked_keys.add(key)
        connection.close()

    result.started = time.time()
    await asyncio.gather(*(client(i) for i in range(connections)))
    result.ended = time.time()
    return result


# -- reading the database ----------------------------------------------------------------------


class Probe:
    """Read-only looks at the service's database (its own small pool)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=1, max_overflow=0)

    def mqtt_stored(self) -> int:
        from sqlalchemy import func, select

        from openoms.store.tables import EventRow

        with self.engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count()).select_from(EventRow).where(EventRow.source == "mqtt")
                )
                or 0
            )

    def mqtt_window(self, start: float, end: float) -> dict[str, float]:
        """MQTT reports stored in [start, end) (time.time()): per second and latency."""
        from sqlalchemy import select

        from openoms.store.tables import EventRow

        first = datetime.fromtimestamp(start, UTC)
        last = datetime.fromtimestamp(end, UTC)
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(EventRow.received_at, EventRow.device_time).where(
                    EventRow.source == "mqtt",
                    EventRow.received_at >= first,
                    EventRow.received_at < last,
                )
            ).all()
        lags = sorted((r - d).total_seconds() * 1000 for r, d in rows)
        return {
            "stored": len(rows),
            "per_s": len(rows) / max(end - start, 1e-9),
            "lag_p50_ms": _pct(lags, 50),
            "lag_p99_ms": _pct(lags, 99),
        }

    def keys(self, wanted: set[str]) -> set[str]:
        from sqlalchemy import select

        from openoms.store.tables import EventRow

        found: set[str] = set()
        chunk = sorted(wanted)
        with self.engine.connect() as connection:
            for i in range(0, len(chunk), 1000):
                found.update(
                    connection.scalars(
                        select(EventRow.idempotency_key).where(
                            EventRow.idempotency_key.in_(chunk[i : i + 1000])
                        )
                    )
                )
        return found

    def close(self) -> None:
        self.engine.dispose()


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def recovery(
    served: Service, probe: Probe, shared: Any, bearer: str, rate: float
) -> dict[str, float | None]:
    """Seconds after the storm until a request gets a 2xx and the MQTT backlog is drained."""
    began = time.monotonic()
    http_s: float | None = None
    mqtt_s: float | None = None
    allowed = max(10.0, rate * 0.5)
    while time.monotonic() - began < RECOVERY_GIVE_UP_S and (http_s is None or mqtt_s is None):
        if http_s is None:
            status, _ = asyncio.run(
                once(served.port, http_get("/api/v1/outages?limit=1", bearer), 5)
            )
            if status is not None and 200 <= status < 300:
                http_s = time.monotonic() - began
        if mqtt_s is None and shared["published"].value - probe.mqtt_stored() <= allowed:
            mqtt_s = time.monotonic() - began
        time.sleep(0.05)
    return {"http_s": http_s, "mqtt_s": mqtt_s}


# -- one database ------------------------------------------------------------------------------


def run_database(
    kind: str, args: argparse.Namespace, broker: tuple[str, int], devices: Sequence[str]
) -> dict[str, Any]:
    with serving(kind, args.postgres_url, broker, args.set) as served:
        say(f"{kind}: starting openoms serve")
        tokens = {
            "dispatcher": served.token("load dispatcher", "dispatcher"),
            "crew": served.token("load crew", "crew"),
        }
        served.start()
        booked = asyncio.run(
            once(
                served.port,
                http_post(
                    "/api/v1/outages",
                    tokens["dispatcher"],
                    {
                        "kind": "fault",
                        "open": [args.breaker],
                        "starts_at": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
                    },
                ),
                30,
            )
        )
        if booked[0] != 201:
            raise RuntimeError(f"booking the outage: {booked}")
        outage_id = int(json.loads(booked[1])["id"])
        probe = Probe(served.url)
        manager = multiprocessing.Manager()
        shared: dict[str, Any] = {
            "published": multiprocessing.Value("q", 0),
            "acked": multiprocessing.Value("q", 0),
            "ready": manager.Event(),
            "stop": manager.Event(),
        }
        publisher = multiprocessing.Process(
            target=publish,
            args=(broker, served.utility, list(devices), args.mqtt_rate, shared),
            daemon=True,
        )
        publisher.start()
        shared["ready"].wait(30)
        try:
            time.sleep(1.0)  # the stream settles
            t0 = time.time()
            time.sleep(UNLOADED_S)
            unloaded = probe.mqtt_window(t0, time.time())
            say(
                f"{kind}: unloaded MQTT {unloaded['per_s']:.0f} reports/s, "
                f"lag p99 {unloaded['lag_p99_ms']:.0f} ms"
            )
            levels = []
            for connections in args.levels:
                say(f"{kind}: {connections} connections for {args.duration:g} s")
                result = asyncio.run(
                    storm(
                        served.port,
                        tokens,
                        outage_id,
                        connections=connections,
                        duration_s=args.duration,
                        deadline_s=args.deadline,
                        tag=f"{kind[:2]}{connections}",
                    )
                )
                back = recovery(served, probe, shared, tokens["dispatcher"], args.mqtt_rate)
                mqtt = probe.mqtt_window(result.started, result.ended)
                stored = probe.keys(result.sent_keys)
                level = _level(result, mqtt, unloaded, stored, back)
                levels.append(level)
                say(
                    f"  {level['answers_per_s']:.0f} answers/s ({level['ok_per_s']:.0f} 2xx), "
                    f"p99 {level['p99_ms']:.0f} ms, {dict(result.statuses)}, "
                    f"hangs {result.hangs}, MQTT ×{level['mqtt_ratio']:.2f}, "
                    f"recovery {level['recovery_s']}"
                )
                time.sleep(PAUSE_S)
        finally:
            shared["stop"].set()
            publisher.join(60)
        drained = _drain(probe, shared)
        probe.close()
        served.stop()
        return {
            "database": kind,
            "unloaded": unloaded,
            "levels": levels,
            "mqtt_published": shared["published"].value,
            "mqtt_broker_acked": shared["acked"].value,
            "mqtt_stored": drained,
            "mqtt_lost": max(0, shared["acked"].value - drained),
        }


def _drain(probe: Probe, shared: Any) -> int:
    deadline = time.monotonic() + DRAIN_S
    while True:
        stored = probe.mqtt_stored()
        if stored >= shared["acked"].value or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


def _level(
    result: Storm,
    mqtt: dict[str, float],
    unloaded: dict[str, float],
    stored: set[str],
    back: dict[str, float | None],
) -> dict[str, Any]:
    span = max(result.ended - result.started, 1e-9)
    ok = sum(n for status, n in result.statuses.items() if status.startswith("2"))
    times = [t * 1000 for t in result.latencies]
    lost = result.acked_keys - stored
    recovered = list(back.values())
    return {
        "connections": result.connections,
        "seconds": round(span, 2),
        "answers": len(result.latencies),
        "answers_per_s": len(result.latencies) / span,
        "ok_per_s": ok / span,
        "p50_ms": _pct(times, 50),
        "p99_ms": _pct(times, 99),
        "max_ms": max(times, default=float("nan")),
        "statuses": dict(sorted(result.statuses.items())),
        "hangs": result.hangs,
        "connection_errors": dict(result.errors),
        "events_sent": len(result.sent_keys),
        "events_acked": len(result.acked_keys),
        "events_stored": len(stored),
        "events_acked_not_stored": len(lost),
        "events_stored_not_acked": len(stored - result.acked_keys),
        "mqtt": mqtt,
        "mqtt_ratio": mqtt["per_s"] / unloaded["per_s"] if unloaded["per_s"] else float("nan"),
        "recovery": back,
        "recovery_s": None if None in recovered else max(v for v in recovered if v is not None),
    }


# -- the report --------------------------------------------------------------------------------


def table(runs: Sequence[dict[str, Any]]) -> str:
    head = (
        "| database | conns | answers/s | 2xx/s | p50 ms | p99 ms | by status | hangs | "
        "conn errors | events acked / stored (stored, not acked) | MQTT stored/s "
        "(× unloaded) | MQTT lag p99 ms | recovery s (HTTP, MQTT) |"
    )
    lines = [head, _rule(head)]
    for run in runs:
        u = run["unloaded"]
        lines.append(
            f"| {run['database']} | unloaded | | | | | | | | | {u['per_s']:.0f} (×1.00) | "
            f"{u['lag_p99_ms']:.0f} | |"
        )
        for lv in run["levels"]:
            statuses = ", ".join(f"{k}: {v}" for k, v in lv["statuses"].items())
            errors = sum(lv["connection_errors"].values())
            r = lv["recovery"]
            lines.append(
                f"| {run['database']} | {lv['connections']} | {lv['answers_per_s']:.0f} | "
                f"{lv['ok_per_s']:.0f} | {lv['p50_ms']:.0f} | {lv['p99_ms']:.0f} | {statuses} | "
                f"{lv['hangs']} | {errors} | {lv['events_acked']} / {lv['events_stored']} "
                f"({lv['events_stored_not_acked']}) | {lv['mqtt']['per_s']:.0f} "
                f"(×{lv['mqtt_ratio']:.2f}) | {lv['mqtt']['lag_p99_ms']:.0f} | "
                f"{_s(lv['recovery_s'])} ({_s(r['http_s'])}, {_s(r['mqtt_s'])}) |"
            )
    return "\n".join(lines)


def _rule(head: str) -> str:
    return "|" + "---|" * (head.count("|") - 1)


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def targets(runs: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    levels = [(run["database"], lv) for run in runs for lv in run["levels"]]
    checks = []

    def check(target: str, ok: bool, measured: str) -> None:
        checks.append({"target": target, "status": "met" if ok else "FAIL", "measured": measured})

    hangs = sum(lv["hangs"] for _, lv in levels)
    check("0 hangs (every request answered within the deadline)", hangs == 0, f"{hangs}")
    lost_http = sum(lv["events_acked_not_stored"] for _, lv in levels)
    lost_mqtt = sum(run["mqtt_lost"] for run in runs)
    check(
        "0 lost (every acknowledged event and every broker-acknowledged MQTT report stored)",
        lost_http == 0 and lost_mqtt == 0,
        f"HTTP {lost_http}, MQTT {lost_mqtt}",
    )
    worst = min(levels, key=lambda item: item[1]["mqtt_ratio"])
    check(
        f"MQTT ingest within {100 - TARGET_MQTT_RATIO * 100:.0f} % of its unloaded rate",
        worst[1]["mqtt_ratio"] >= TARGET_MQTT_RATIO,
        f"worst ×{worst[1]['mqtt_ratio']:.2f} ({worst[0]}, {worst[1]['connections']} conns)",
    )
    slowest = [lv["recovery_s"] for _, lv in levels]
    finite = [s for s in slowest if s is not None]
    check(
        f"recovery under {TARGET_RECOVERY_S:g} s",
        len(finite) == len(slowest) and max(finite, default=0) < TARGET_RECOVERY_S,
        f"slowest {_s(max(finite, default=0)) if len(finite) == len(slowest) else 'never'} s",
    )
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HTTP load with MQTT flowing (see the source).")
    parser.add_argument("--quick", action="store_true", help="levels 1, 50, 200; 5 s each")
    parser.add_argument("--levels", default="1,50,200,1000", help="concurrent connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per level")
    parser.add_argument("--deadline", type=float, default=30.0, help="no answer by then: hang")
    parser.add_argument("--mqtt-rate", type=float, default=200.0, help="reports / s")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--broker", default="127.0.0.1:1883", help="host:port")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the service (TOML), e.g. http_max_in_flight=8; default: defaults",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.levels, args.duration = "1,50,200", 5.0
    args.levels = [int(n) for n in str(args.levels).split(",") if n]
    databases = [d for d in args.databases.split(",") if d]
    host, _, port = args.broker.rpartition(":")
    broker = (host, int(port))
    _raise_fd_limit()

    from openoms.grid import load_network
    from openoms.samples import bundled_path

    network = load_network(bundled_path("sample:county"))
    devices = fault_indicators(network)
    args.breaker = network.edge_id(int(network.feeders.head_edge[0]))

    load_before = os.getloadavg()
    runs = [run_database(kind, args, broker, devices) for kind in databases]
    load_after = os.getloadavg()
    checks = targets(runs)
    print()
    print(table(runs))
    print()
    print(
        f"MQTT: {args.mqtt_rate:g} reports/s published at QoS 1 by a separate process the whole "
        "time; 'stored/s' counts reports stored (received_at) while the storm ran, against the "
        f"same before any HTTP load. Clients do not back off on 503. Deadline {args.deadline:g} s."
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (client, service, broker and database share them)"
    )
    print()
    for c in checks:
        print(f"{c['status']:>6}  {c['target']}: {c['measured']}")
    document = {
        "benchmark": "load",
        "command": " ".join(["python", "benchmarks/load.py", *(argv or sys.argv[1:])]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before[0], load_after[0]),
        "versions": versions("openoms", "fastapi", "uvicorn", "sqlalchemy", "psycopg", "paho-mqtt"),
        "settings": {
            "levels": args.levels,
            "duration_s": args.duration,
            "deadline_s": args.deadline,
            "mqtt_rate": args.mqtt_rate,
            "service": args.set or "the defaults of openoms.settings",
        },
        "runs": runs,
        "targets": checks,
        "total_s": round(time.perf_counter() - _START, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    say(f"done in {time.perf_counter() - _START:.0f} s; results in {args.out}")
    return 0 if all(c["status"] == "met" for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
