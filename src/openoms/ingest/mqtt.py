"""The MQTT subscriber: at-least-once delivery from the broker, stored once by the intake.

A persistent session (MQTT 3.1.1, ``clean_session=False``, a fixed client id) with a QoS 1
subscription to ``openoms/<utility>/#``: while OpenOMS is down the broker keeps the
messages for it and delivers them when it reconnects. Acknowledgements are manual: a
message is acknowledged (PUBACK) only after the intake's transaction that wrote it (as an
event or a dead letter) has committed. A crash before the commit leaves the message
unacknowledged, and the broker delivers it again on the next connection; a crash after the
commit but before the PUBACK also redelivers it, and the event log's idempotency key turns
that second copy into a counted duplicate. So every event is stored exactly once.

paho-mqtt's network loop runs in its own thread (``loop_start``) and reconnects with
exponential back-off. Its ``on_message`` callback only puts the message on a local queue
and never raises. One worker thread takes everything queued (up to ``batch_max``), hands it
to the intake in one transaction (group commit: one commit per batch under load, one per
message when idle) and then acknowledges the batch in order. When the database fails, the
worker keeps the batch and retries with back-off; nothing is acknowledged meanwhile, and the
broker stops sending once its in-flight window for the client is full.

A retained message is delivered like any other when the subscription is made. The empty
message that clears a retained topic reaches the subscriber too: the intake ignores it (counted,
never a dead letter) and it is acknowledged with its batch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from openoms.ingest.intake import Intake

__all__ = ["MqttSubscriber", "subscription"]

log = logging.getLogger(__name__)


def subscription(utility: str) -> str:
    """The topic filter of one utility's messages."""
    return f"openoms/{utility}/#"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Delivery(NamedTuple):  # a tuple: made for every message, in paho's thread
    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # which connection delivered it: only that one may acknowledge it


@dataclass(slots=True)
class _Run:
    """One start() … stop(): its client, local queue, worker and stop signal."""

    client: mqtt.Client
    deliveries: queue.SimpleQueue[_Delivery] = field(default_factory=queue.SimpleQueue)
    stopping: threading.Event = field(default_factory=threading.Event)
    worker: threading.Thread | None = None


class MqttSubscriber:
    """Feeds one utility's MQTT messages into ``intake``; :meth:`start` and :meth:`stop`.

    ``client_id`` must stay the same from one run to the next: it names the broker's session
    that holds the messages published while OpenOMS was away.
    """

    def __init__(
        self,
        intake: Intake,
        *,
        host: str,
        port: int = 1883,
        client_id: str,
        utility: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
        keepalive_s: int = 30,
        reconnect_min_s: int = 1,
        reconnect_max_s: int = 60,
        retry_max_s: float = 30.0,
        batch_max: int = 200,
    ) -> None:
        self._intake = intake
        self.host = host
        self.port = port
        self.client_id = client_id
        self.utility = intake.utility if utility is None else utility
        self._clock = clock
        self._keepalive_s = keepalive_s
        self._reconnect = (reconnect_min_s, reconnect_max_s)
        self._retry_max_s = retry_max_s
        self._batch_max = batch_max
        self._subscribed = threading.Event()
        self._run: _Run | None = None
        self._connection = 0
        self._connected = False
        self.processed = 0  # messages committed (event, duplicate or dead letter) and acked
        self.failures = 0  # intake calls that raised (database errors), each retried

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    def wait_subscribed(self, timeout: float) -> bool:
        """Whether the subscription was granted within ``timeout`` seconds."""
        return self._subscribed.wait(timeout)

    def start(self) -> None:
        """Connect (retrying until the broker answers) and start receiving."""
        if self._run is not None:
            raise RuntimeError("MqttSubscriber already started")
        self._subscribed.clear()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        run = _Run(client)
        client.user_data_set(run)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(*self._reconnect)
        run.worker = threading.Thread(
            target=self._work, args=(run,), name=f"openoms-mqtt-{self.client_id}", daemon=True
        )
        self._run = run
        run.worker.start()
        client.connect_async(self.host, self.port, keepalive=self._keepalive_s)
        client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, acknowledge it, disconnect. What was not finished stays
        with the broker (unacknowledged) and comes again on the next start."""
        run = self._run
        if run is None:
            return
        run.stopping.set()
        if run.worker is not None:
            run.worker.join(timeout)
        run.client.disconnect()
        run.client.loop_stop()
        self._run = None
        self._connected = False
        self._subscribed.clear()

    # -- paho callbacks (network thread) -----------------------------------------------------
    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Any,
    ) -> None:
        if reason_code.is_failure:
            log.error("MQTT %s:%s refused the connection: %s", self.host, self.port, reason_code)
            return
        self._connection += 1
        self._connected = True
        log.info(
            "MQTT connected to %s:%s as %r (session present: %s)",
            self.host,
            self.port,
            self.client_id,
            flags.session_present,
        )
        if self._connection > 1 and not flags.session_present:
            log.warning(
                "MQTT broker had no session for %r: messages published while OpenOMS was "
                "disconnected are lost (is broker persistence on?)",
                self.client_id,
            )
        client.subscribe(subscription(self.utility), qos=1)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        log.warning("MQTT %s:%s not reachable; retrying", self.host, self.port)

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        run: _Run,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Any,
    ) -> None:
        self._connected = False
        self._subscribed.clear()
        if not run.stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reason_codes: list[ReasonCode],
        _properties: Any,
    ) -> None:
        if all(not code.is_failure and code.value == 1 for code in reason_codes):
            self._subscribed.set()
        else:
            log.error(
                "MQTT subscription %s not granted at QoS 1: %s",
                subscription(self.utility),
                reason_codes,
            )

    def _on_message(self, _client: mqtt.Client, run: _Run, msg: mqtt.MQTTMessage) -> None:
        try:
            try:
                topic = msg.topic
            except UnicodeDecodeError:  # refused by the intake as unknown_topic
                topic = bytes(getattr(msg, "_topic", b"")).decode("utf-8", "backslashreplace")
            run.deliveries.put(
                _Delivery(topic, bytes(msg.payload), msg.mid, msg.qos, self._connection)
            )
        except Exception:  # never into paho's loop
            log.exception("MQTT message on %r could not be queued", getattr(msg, "mid", None))

    # -- the worker thread ---------------------------------------------------------------------
    def _work(self, run: _Run) -> None:
        while not run.stopping.is_set():
            try:
                first = run.deliveries.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self._batch_max:
                try:
                    batch.append(run.deliveries.get_nowait())
                except queue.Empty:
                    break
            if self._store(batch, run.stopping):
                self._ack(batch, run.client)
        # What is still queued was not acknowledged: the broker delivers it again.

    def _store(self, batch: list[_Delivery], stopping: threading.Event) -> bool:
        """Hand the batch to the intake until it commits; False when stopped first."""
        delay = 0.2
        messages = [(d.topic, d.payload) for d in batch]
        while True:
            try:
                self._intake.accept_mqtt_batch(messages, received_at=self._clock())
            except Exception:
                self.failures += 1
                log.exception(
                    "storing %d MQTT messages failed; retrying in %.1f s", len(batch), delay
                )
                if stopping.wait(delay):
                    return False
                delay = min(delay * 2, self._retry_max_s)
            else:
                return True

    def _ack(self, batch: list[_Delivery], client: mqtt.Client) -> None:
        for delivery in batch:
            # A message from an earlier connection was already redelivered on this one,
            # where its new copy gets acknowledged (and counted as a duplicate).
            if delivery.connection == self._connection:
                client.ack(delivery.mid, delivery.qos)
        self.processed += len(batch)
