"""MQTT -> event log benchmark: sustained reports per second, latency, nothing lost.

    python benchmarks/ingest.py [--quick] [--reports 30000] [--runs 3] [--window 600]
                                [--naive-reports 8000] [--paced-rate 1000]
                                [--databases sqlite,postgresql]

A separate process publishes fault indicator reports (the sample county's 316 indicators,
ten points each, as in docs/events.md) at QoS 1 to the broker; this process runs the
production subscriber (``MqttSubscriber`` + ``Intake``) on a fresh database and stores them.
The publisher keeps at most ``--window`` reports published but not yet acknowledged by the
subscriber, so that the broker never drops one: Mosquitto counts every message it holds for
a client, in flight or queued, against ``max_queued_messages`` (default 1000, plus the 20 in
flight), and drops QoS 1 messages beyond it. The subscriber acknowledges a whole batch (up
to 200) after its commit and paho sends those PUBACKs a few milliseconds later, so the
broker can hold the window plus a batch: 600 + 200 leaves a margin (800 was seen to lose
messages now and then).

Per database:

- **ours, saturated** (``--runs`` runs of ``--reports``): reports / s from the first publish
  until the last report is committed and acknowledged to the broker, and the latency of each
  report from its publish to the commit of its row (publish times are taken per ``msg_id`` in
  the publisher, commit times per batch in the subscriber; both read ``CLOCK_MONOTONIC``).
  Under saturation the latency is mostly the window waiting in the queue.
- **ours, paced** (``--paced-reports`` at ``--paced-rate`` / s): the latency at a steady rate.
- **naive** (``--naive-reports``): what a user would otherwise write: paho's ``on_message``
  parses the message with the same ``parse_mqtt`` and the same out-of-order check, then one
  ``INSERT ... ON CONFLICT DO NOTHING`` and one COMMIT per message; paho acknowledges when
  ``on_message`` returns (after the commit).

After every run: every published report is in ``events`` exactly once (the set of
idempotency keys is compared), there is no dead letter, the publisher had a PUBACK for every
report, and a client reconnecting with the subscriber's session gets nothing redelivered
(everything was acknowledged). Prints a table and which targets are met, writes
``benchmarks/results/ingest.json`` and reports progress on stderr. ``--quick``: one run of
10,000 per database (about 25 s; the default run about 70 s).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any, Final

import numpy as np
from _results import machine, versions

RESULTS: Final = Path(__file__).resolve().parent / "results" / "ingest.json"
POSTGRES_URL: Final = os.environ.get(
    "OPENOMS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MOSQUITTO_PID: Final = Path("/run/mosquitto/mosquitto.pid")

# -- targets
TARGET_PG_PER_S: Final = 5_000.0

# -- run settings
STALL_S: Final = 20.0  # no progress for this long: the run is given up (and fails)
REDELIVERY_WAIT_S: Final = 1.0  # how long a reconnecting client waits for a redelivery
PUBLISHER_INFLIGHT: Final = 100  # the publisher's QoS 1 messages in flight to the broker
MAX_QUEUED: Final = 1000  # Mosquitto's default max_queued_messages
BATCH_MAX: Final = 200  # MqttSubscriber's default batch_max: acknowledged together

_START: Final = time.perf_counter()


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- what is published --------------------------------------------------------------------------


def report(utility: str, device: str, index: int, ts_ms: int) -> tuple[str, bytes]:
    """One indicator report as a collecting unit sends it (docs/events.md): ten points, a
    fault on about one report in a hundred."""
    fault = int(index % 97 == 0)
    doc = {
        "sn": device,
        "ts": ts_ms,
        "msg_id": str(index),
        "data": {
            "short_circuit_a": fault,
            "short_circuit_b": 0,
            "short_circuit_c": 0,
            "earth_fault": 0,
            "outage_a": 0,
            "outage_b": 0,
            "outage_c": 0,
            "load_current_a": round(80 + index % 40 * 0.5, 1),
            "fault_current_a": 820.0 if fault else 0.0,
            "battery_v": 3.6,
        },
    }
    return f"openoms/{utility}/indicators/{device}/report", json.dumps(doc).encode()


def key_index(key: str) -> int:
    """The report index of an idempotency key ``m:<device>:<index>``."""
    return int(key.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Plan:
    """What the publisher process sends."""

    broker: tuple[str, int]
    utility: str
    devices: tuple[str, ...]
    n: int
    base_ms: int  # device time of report 0; report i is 1 ms later than report i - 1
    window: int
    rate: float | None  # reports / s, None: as fast as the window allows


def publish(plan: Plan, shared: dict[str, Any]) -> None:
    """The publisher process: connect, build the reports, wait for the go, publish at QoS 1.

    ``shared``: ``acked`` (reports the subscriber acknowledged, written by it), ``sent``
    (publish time of each report, written here), ``go``, ``ready`` and ``broker_acked``
    (PUBACKs this publisher received from the broker).
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    messages = [
        report(plan.utility, plan.devices[i % len(plan.devices)], i, plan.base_ms + i)
        for i in range(plan.n)
    ]
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-pub-{uuid.uuid4().hex[:10]}",
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.max_inflight_messages_set(PUBLISHER_INFLIGHT)
    client.max_queued_messages_set(0)
    client.connect(*plan.broker)
    client.loop_start()
    acked, sent = shared["acked"], shared["sent"]
    shared["ready"].set()
    shared["go"].wait()
    cpu0 = _cpu_s()
    infos = []
    start = time.monotonic()
    for i, (topic, payload) in enumerate(messages):
        if plan.rate is not None:
            due = start + i / plan.rate
            while (ahead := due - time.monotonic()) > 0:
                time.sleep(ahead)
        stalled = time.monotonic()
        while i - acked.value >= plan.window:
            if time.monotonic() - stalled > STALL_S:
                break  # the subscriber stopped: the parent notices and fails the run
            time.sleep(0.0005)
        sent[i] = time.monotonic()
        infos.append(client.publish(topic, payload, qos=1))
    broker_acked = 0
    for info in infos:
        info.wait_for_publish(STALL_S)
        broker_acked += info.is_published()
    shared["broker_acked"].value = broker_acked
    shared["publisher_cpu_s"].value = _cpu_s() - cpu0
    client.disconnect()
    client.loop_stop()


def _cpu_s() -> float:
    """CPU seconds of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the subscribers --------------------------------------------------------------------------


@dataclass
class Recorder:
    """Commit times (monotonic) and what each commit held, written by the subscriber."""

    acked: Any  # the shared counter of acknowledged reports, read by the publisher
    batches: list[tuple[float, int]] = field(default_factory=list)  # (time, messages)
    ids_at: list[tuple[float, tuple[int, ...]]] = field(default_factory=list)  # ours: row ids
    keys_at: list[tuple[float, str]] = field(default_factory=list)  # naive: keys


def timed(intake_type: type, subscriber_type: type, recorder: Recorder) -> tuple[type, type]:
    """Subclasses of ``Intake`` and ``MqttSubscriber`` that record when each batch committed
    and tell the publisher how many reports were acknowledged; otherwise the production
    classes, unchanged."""

    class TimedIntake(intake_type):  # type: ignore[valid-type,misc]
        def accept_mqtt_batch(self, messages: Any, *, received_at: datetime) -> Any:
            result = super().accept_mqtt_batch(messages, received_at=received_at)
            now = time.monotonic()
            recorder.batches.append((now, len(messages)))
            recorder.ids_at.append((now, result.accepted))
            return result

    class CountingSubscriber(subscriber_type):  # type: ignore[valid-type,misc]
        def _ack(self, batch: Any, client: Any) -> None:  # after the commit
            super()._ack(batch, client)
            recorder.acked.value = self.processed

    return TimedIntake, CountingSubscriber


class NaiveSubscriber:
    """paho ``on_message`` -> ``parse_mqtt`` -> one INSERT + COMMIT; paho acks on return.

    The same parsing, device check and out-of-order check as the intake (its last device
    time per device and kind is kept in a dict), idempotent by ``ON CONFLICT DO NOTHING``,
    refused messages written to ``dead_letters``: as correct as ours, one message at a time.
    """

    def __init__(
        self, engine: Any, network: Any, *, utility: str, client_id: str, recorder: Recorder
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
        from sqlalchemy.dialects import postgresql, sqlite

        from openoms.ingest.payloads import ORDERED_KINDS, Rejected, check_time, parse_mqtt
        from openoms.store.tables import DeadLetter, EventRow

        self.parse_mqtt, self.check_time = parse_mqtt, check_time
        self.ordered_kinds, self.rejected_type = ORDERED_KINDS, Rejected
        self.engine, self.network, self.utility, self.recorder = engine, network, utility, recorder
        self.last: dict[tuple[str, Any], datetime] = {}
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self.insert_event = dialect.insert(EventRow.__table__).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
        self.insert_dead = DeadLetter.__table__.insert()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self.client.on_connect = lambda c, *_: c.subscribe(f"openoms/{utility}/#", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self.on_message

    def start(self, broker: tuple[str, int]) -> None:
        self.client.connect(*broker)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        received_at = datetime.now(UTC)
        topic, payload = msg.topic, msg.payload
        event = self.parse_mqtt(topic, payload, utility=self.utility, network=self.network)
        if not isinstance(event, self.rejected_type):
            slot = (event.device_id or "", event.kind)
            ordered = event.kind in self.ordered_kinds
            rejected = self.check_time(
                event, received_at=received_at, last=self.last.get(slot) if ordered else None
            )
            if rejected is None:
                with self.engine.begin() as connection:
                    connection.execute(
                        self.insert_event,
                        {
                            "idempotency_key": event.idempotency_key,
                            "source": event.source.value,
                            "kind": event.kind.value,
                            "device_id": event.device_id,
                            "device_time": event.device_time,
                            "received_at": received_at,
                            "payload": dict(event.payload),
                        },
                    )
                if ordered:
                    self.last[slot] = max(self.last.get(slot, event.device_time), event.device_time)
                self._committed(event.idempotency_key)
                return
            event = rejected
        with self.engine.begin() as connection:
            connection.execute(
                self.insert_dead,
                {
                    "received_at": received_at,
                    "source": "mqtt",
                    "channel": topic,
                    "reason": event.reason.value,
                    "detail": event.detail,
                    "raw": payload,
                },
            )
        self._committed("")

    def _committed(self, key: str) -> None:
        now = time.monotonic()
        self.recorder.acked.value += 1  # paho acknowledges as on_message returns
        self.recorder.batches.append((now, 1))
        self.recorder.keys_at.append((now, key))


# -- one run ----------------------------------------------------------------------------------


@dataclass
class Database:
    kind: str  # sqlite / postgresql
    url: str
    cleanup: Callable[[], None]
    app_name: str = ""


@contextmanager
def fresh_database(kind: str, postgres_url: str) -> Iterator[Database]:
    """An empty, migrated database: a SQLite file, or a PostgreSQL schema dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from openoms.store.db import upgrade

    if kind == "sqlite":
        folder = tempfile.TemporaryDirectory(prefix="openoms-bench-")
        db = Database(kind, f"sqlite:///{folder.name}/events.db", folder.cleanup)
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(postgres_url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        app_name = f"openoms-{schema}"
        query = {"options": f"-csearch_path={schema}", "application_name": app_name}
        url = make_url(postgres_url).update_query_dict(query)
        db = Database(kind, url.render_as_string(hide_password=False), drop, app_name)
    try:
        upgrade(db.url)
        yield db
    finally:
        db.cleanup()


def _proc_cpu_s(pid: int) -> float | None:
    """user + system CPU seconds of a process on this machine (Linux), None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mosquitto_cpu_s() -> float | None:
    try:
        return _proc_cpu_s(int(MOSQUITTO_PID.read_text().strip()))
    except (OSError, ValueError):
        return None


def _postgres_backend_cpu_s(engine: Any, app_name: str) -> float | None:
    """CPU seconds of the PostgreSQL backends serving ``engine`` (same machine only)."""
    from sqlalchemy import text

    with engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": app_name}
        ).scalars()
        times = [_proc_cpu_s(pid) for pid in pids]
    known = [t for t in times if t is not None]
    return sum(known) if known else None


def _forget_session(broker: tuple[str, int], client_id: str) -> int:
    """Reconnect with ``client_id``'s persistent session: count what the broker redelivers
    (unacknowledged messages) within a second, then remove the session."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    got = [0]
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.on_message = lambda *_: got.__setitem__(0, got[0] + 1)
    client.connect(*broker)
    client.loop_start()
    time.sleep(REDELIVERY_WAIT_S)
    client.disconnect()
    client.loop_stop()
    clean = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=True,
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    clean.connect(*broker)
    clean.loop_start()
    clean.disconnect()
    clean.loop_stop()
    return got[0]


@dataclass
class Setup:
    broker: tuple[str, int]
    postgres_url: str
    window: int
    network: Any
    devices: tuple[str, ...]


def run_once(setup: Setup, *, kind: str, mode: str, n: int, rate: float | None) -> dict[str, Any]:
    """One run of ``mode`` (ours / naive) on a fresh ``kind`` database; its measurements."""
    from sqlalchemy import text

    from openoms.ingest.intake import Intake
    from openoms.ingest.mqtt import MqttSubscriber
    from openoms.store.db import make_engine, make_session_factory

    ctx = multiprocessing.get_context("spawn")
    utility = f"bench{uuid.uuid4().hex[:8]}"
    client_id = f"openoms-bench-{uuid.uuid4().hex[:10]}"
    shared = {
        "acked": ctx.RawValue("q", 0),
        "sent": ctx.RawArray("d", n),
        "broker_acked": ctx.RawValue("q", 0),
        "publisher_cpu_s": ctx.RawValue("d", 0.0),
        "go": ctx.Event(),
        "ready": ctx.Event(),
    }
    # device times 1 ms apart, all in the past (a device clock ahead would be refused)
    base_ms = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp() * 1000) - n
    plan = Plan(setup.broker, utility, setup.devices, n, base_ms, setup.window, rate)
    recorder = Recorder(shared["acked"])
    with fresh_database(kind, setup.postgres_url) as db:
        engine = make_engine(db.url)
        publisher = ctx.Process(target=publish, args=(plan, shared), name="bench-publisher")
        publisher.start()
        subscriber: Any
        intake: Any = None
        if mode == "ours":
            intake_type, subscriber_type = timed(Intake, MqttSubscriber, recorder)
            intake = intake_type(make_session_factory(engine), setup.network, utility=utility)
            subscriber = subscriber_type(
                intake, host=setup.broker[0], port=setup.broker[1], client_id=client_id
            )
            subscriber.start()
            if not subscriber.wait_subscribed(10):
                raise RuntimeError("the subscriber got no subscription within 10 s")
        else:
            subscriber = NaiveSubscriber(
                engine, setup.network, utility=utility, client_id=client_id, recorder=recorder
            )
            subscriber.start(setup.broker)
            if not subscriber.subscribed.wait(10):
                raise RuntimeError("the naive subscriber got no subscription within 10 s")
        if not shared["ready"].wait(60):
            raise RuntimeError("the publisher did not start within 60 s")
        cpu0 = _cpu_s()
        broker0 = _mosquitto_cpu_s()
        shared["go"].set()
        last, last_change, stalled = -1, time.monotonic(), False

        while (progress := int(recorder.acked.value)) < n:
            if progress != last:
                last, last_change = progress, time.monotonic()
            elif time.monotonic() - last_change > STALL_S:
                stalled = True
                break
            time.sleep(0.002)
        end = time.monotonic()
        cpu_s = _cpu_s() - cpu0
        broker1 = _mosquitto_cpu_s()
        backend_cpu = _postgres_backend_cpu_s(engine, db.app_name) if kind == "postgresql" else None
        publisher.join(60)
        subscriber.stop()
        redelivered = _forget_session(setup.broker, client_id)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, idempotency_key FROM events")).all()
            dead = connection.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()
        engine.dispose()
    sent = np.frombuffer(shared["sent"], dtype=np.float64).copy()
    start = float(sent[0])
    elapsed = end - start
    keys = [key for _, key in rows]
    expected = {f"m:{setup.devices[i % len(setup.devices)]}:{i}" for i in range(n)}
    stored = set(keys)
    committed_at = np.full(n, np.nan)
    if mode == "ours":
        index_of = {row_id: key_index(key) for row_id, key in rows}
        for at, ids in recorder.ids_at:
            for row_id in ids:
                committed_at[index_of[row_id]] = at
    else:
        for at, key in recorder.keys_at:
            if key:
                committed_at[key_index(key)] = at
    latency_ms = (committed_at - sent) * 1e3
    finite = latency_ms[np.isfinite(latency_ms)]
    quantiles = np.percentile(finite, np.arange(101)) if finite.size else np.full(101, np.nan)
    batch_sizes = [size for _, size in recorder.batches]
    times = np.array([at for at, _ in recorder.batches]) - start
    cumulative = np.cumsum(batch_sizes)
    # the steady rate: from 10 % to 90 % of the reports committed
    t10 = float(times[np.searchsorted(cumulative, 0.1 * n)]) if n else 0.0
    t90 = float(times[min(np.searchsorted(cumulative, 0.9 * n), len(times) - 1)]) if n else 0.0
    counts = intake.counts() if intake is not None else None
    result: dict[str, Any] = {
        "database": kind,
        "subscriber": mode,
        "reports": n,
        "paced_rate": rate,
        "stalled": stalled,
        "elapsed_s": elapsed,
        "per_s": n / elapsed,
        "steady_per_s": 0.8 * n / (t90 - t10) if t90 > t10 else None,
        "latency_ms": {f"p{q}": float(quantiles[q]) for q in (50, 95, 99)},
        "latency_ms_quantiles_0_to_100": [round(float(q), 2) for q in quantiles],
        "transactions": len(batch_sizes),
        "mean_batch": float(np.mean(batch_sizes)) if batch_sizes else 0.0,
        "max_batch": max(batch_sizes, default=0),
        # (seconds after the first publish, reports) of each commit; the naive one commits
        # every report alone
        "batches": [[round(float(t), 4), s] for t, s in zip(times, batch_sizes, strict=True)]
        if mode == "ours"
        else None,
        "stored_rows": len(rows),
        "stored_keys": len(stored),
        "lost": len(expected - stored),
        "unexpected": len(stored - expected),
        "stored_twice": len(rows) - len(stored),
        "dead_letters": int(dead),
        "broker_acked_publishes": int(shared["broker_acked"].value),
        "redelivered_after_stop": redelivered,
        "duplicates_counted": counts.duplicates if counts is not None else None,
        "subscriber_cpu_us_per_report": cpu_s / n * 1e6,
        "publisher_cpu_us_per_report": float(shared["publisher_cpu_s"].value) / n * 1e6,
        "broker_cpu_us_per_report": (broker1 - broker0) / n * 1e6
        if broker0 is not None and broker1 is not None
        else None,
        "postgres_backend_cpu_us_per_report": backend_cpu / n * 1e6
        if backend_cpu is not None
        else None,
    }
    result["exactly_once"] = (
        not stalled
        and result["lost"] == 0
        and result["unexpected"] == 0
        and result["stored_twice"] == 0
        and result["dead_letters"] == 0
        and result["broker_acked_publishes"] == n
        and redelivered == 0
    )
    return result


# -- report -------------------------------------------------------------------------------------


def _spread(values: Sequence[float]) -> str:
    ordered = sorted(values)
    if len(ordered) == 1:
        return f"{ordered[0]:,.0f}"
    return f"{median(ordered):,.0f} ({ordered[0]:,.0f} – {ordered[-1]:,.0f})"


def _latency(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    return f"{lat['p50']:,.1f} / {lat['p95']:,.1f} / {lat['p99']:,.1f}"


def table(groups: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    header = (
        "| database | subscriber | runs × reports | reports / s: median (min – max) "
        "| vs naive | latency p50 / p95 / p99 ms | mean batch | CPU µs / report: "
        "subscriber / publisher / broker / PostgreSQL | lost / twice / dead letters / unacked |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for (kind, mode), runs in groups.items():
        rates = [r["per_s"] for r in runs]
        naive = groups.get((kind, "naive"))
        ratio = "–"
        if mode == "naive":
            ratio = "1×"
        elif naive and runs[0]["paced_rate"] is None:
            ratio = f"{median(rates) / median(r['per_s'] for r in naive):.1f}×"
        worst = max(runs, key=lambda r: r["latency_ms"]["p99"])
        cpu = " / ".join(
            "–" if r is None else f"{r:,.0f}"
            for r in (
                median(r["subscriber_cpu_us_per_report"] for r in runs),
                median(r["publisher_cpu_us_per_report"] for r in runs),
                _median_or_none([r["broker_cpu_us_per_report"] for r in runs]),
                _median_or_none([r["postgres_backend_cpu_us_per_report"] for r in runs]),
            )
        )
        faults = " / ".join(
            str(sum(r[k] for r in runs))
            for k in ("lost", "stored_twice", "dead_letters", "redelivered_after_stop")
        )
        lines.append(
            f"| {kind} | {mode} | {len(runs)} × {runs[0]['reports']:,} | {_spread(rates)} "
            f"| {ratio} | {_latency(worst)} | {median(r['mean_batch'] for r in runs):,.0f} "
            f"| {cpu} | {faults} |"
        )
    return "\n".join(lines)


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None


def targets(groups: dict[tuple[str, str], list[dict[str, Any]]]) -> list[dict[str, str]]:
    checks: list[dict[str, str]] = []

    def check(target: str, passed: bool | None, measured: str) -> None:
        status = "not measured" if passed is None else "PASS" if passed else "FAIL"
        checks.append({"target": target, "status": status, "measured": measured})

    pg = groups.get(("postgresql", "ours"))
    if pg:
        rates = [r["per_s"] for r in pg]
        check(
            f"PostgreSQL: ≥ {TARGET_PG_PER_S:,.0f} indicator reports / s, committed and acked "
            "(median of the runs)",
            median(rates) >= TARGET_PG_PER_S,
            f"{_spread(rates)} / s",
        )
    else:
        check(f"PostgreSQL: ≥ {TARGET_PG_PER_S:,.0f} reports / s", None, "PostgreSQL not run")
    runs = [r for rs in groups.values() for r in rs]
    bad = [f"{r['database']} {r['subscriber']}" for r in runs if not r["exactly_once"]]
    check(
        "every published report stored exactly once, acknowledged, no dead letter (every run)",
        not bad,
        f"{len(runs) - len(bad)} of {len(runs)} runs"
        + (f"; failed: {', '.join(bad)}" if bad else ""),
    )
    return checks


def _servers(setup: Setup, databases: Sequence[str]) -> dict[str, str]:
    servers = {"sqlite": __import__("sqlite3").sqlite_version}
    try:
        out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, check=False)
        servers["mosquitto"] = out.stdout.splitlines()[0] if out.stdout else "unknown"
    except OSError:
        servers["mosquitto"] = "unknown (not on PATH)"
    if "postgresql" in databases:
        from sqlalchemy import create_engine, text

        engine = create_engine(setup.postgres_url)
        with engine.connect() as connection:
            servers["postgresql"] = connection.execute(text("SELECT version()")).scalar_one()
            for setting in ("fsync", "synchronous_commit", "shared_buffers"):
                servers[f"postgresql {setting}"] = connection.execute(
                    text(f"SHOW {setting}")
                ).scalar_one()
        engine.dispose()
    return servers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MQTT -> event log benchmark (see the source).")
    parser.add_argument("--quick", action="store_true", help="one run of 10,000 per database")
    parser.add_argument("--reports", type=int, default=30_000, help="reports per saturated run")
    parser.add_argument("--runs", type=int, default=3, help="saturated runs per database")
    parser.add_argument("--window", type=int, default=600, help="published, not yet acknowledged")
    parser.add_argument("--naive-reports", type=int, default=8_000)
    parser.add_argument("--paced-reports", type=int, default=5_000)
    parser.add_argument("--paced-rate", type=float, default=1_000.0, help="reports / s")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--broker", default="127.0.0.1:1883", help="host:port")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.reports, args.runs, args.naive_reports, args.paced_reports = 10_000, 1, 3_000, 2_000
    if args.window + BATCH_MAX > MAX_QUEUED:
        parser.error(f"--window + a batch ({BATCH_MAX}) must stay below {MAX_QUEUED}")
    databases = [d for d in args.databases.split(",") if d]
    host, _, port = args.broker.rpartition(":")

    from importlib.resources import files

    from openoms.grid import load_network

    network = load_network(Path(str(files("openoms").joinpath("data/sample_county"))))
    devices = tuple(
        d
        for d, k in zip(network.detectors.id, network.detectors.kind, strict=True)
        if k == "fault_indicator"
    )
    setup = Setup((host, int(port)), args.postgres_url, args.window, network, devices)
    load_before = os.getloadavg()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for kind in databases:
        for run in range(args.runs):
            say(f"{kind}: ours, run {run + 1} of {args.runs}, {args.reports:,} reports")
            r = run_once(setup, kind=kind, mode="ours", n=args.reports, rate=None)
            say(
                f"  {r['per_s']:,.0f} / s, p99 {r['latency_ms']['p99']:,.0f} ms, "
                f"mean batch {r['mean_batch']:.0f}, exactly once: {r['exactly_once']}"
            )
            groups.setdefault((kind, "ours"), []).append(r)
        say(f"{kind}: naive, {args.naive_reports:,} reports")
        r = run_once(setup, kind=kind, mode="naive", n=args.naive_reports, rate=None)
        say(f"  {r['per_s']:,.0f} / s, exactly once: {r['exactly_once']}")
        groups[(kind, "naive")] = [r]
        paced = f"{kind} at {args.paced_rate:,.0f}/s"
        say(f"{paced}: ours, {args.paced_reports:,} reports")
        r = run_once(setup, kind=kind, mode="ours", n=args.paced_reports, rate=args.paced_rate)
        say(f"  p50 {r['latency_ms']['p50']:.1f} ms, p99 {r['latency_ms']['p99']:.1f} ms")
        groups[(paced, "ours")] = [r]
    load_after = os.getloadavg()

    checks = targets(groups)
    print()
    print(table(groups))
    print()
    print(
        f"Saturated: the publisher keeps {args.window} reports not yet acknowledged, so the "
        "latency there is mostly that queue; paced: published at a steady rate."
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (the publisher, the broker and the database share them)"
    )
    print()
    for c in checks:
        print(f"{c['status']:>12}  {c['target']}: {c['measured']}")

    document = {
        "benchmark": "ingest",
        "command": " ".join(["python", "benchmarks/ingest.py", *(argv or sys.argv[1:])]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before[0], load_after[0]),
        "versions": versions("openoms", "paho-mqtt", "sqlalchemy", "psycopg", "numpy"),
        "servers": _servers(setup, databases),
        "settings": {
            "window": args.window,
            "publisher_inflight": PUBLISHER_INFLIGHT,
            "indicators": len(devices),
            "paced_rate": args.paced_rate,
        },
        "runs": [r for rs in groups.values() for r in rs],
        "targets": checks,
        "total_s": round(time.perf_counter() - _START, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    say(f"done in {time.perf_counter() - _START:.0f} s; results in {args.out}")
    return 0 if all(c["status"] != "FAIL" for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
