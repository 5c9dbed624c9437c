"""The intake: every message becomes an event in the log or a dead letter, in one transaction.

MQTT messages (:meth:`Intake.accept_mqtt`, :meth:`Intake.accept_mqtt_batch`) and events the
HTTP API has already parsed (:meth:`Intake.accept_events`) go through the same checks: the
device is in the network and may send that kind of event, the device time is not more than
five minutes ahead of receipt and not older than the last accepted event of that device and
kind. Accepted events are appended to the event log (a redelivered one is recognised by its
idempotency key and counted as a duplicate); refused ones are written to ``dead_letters``
with the reason and the raw bytes, in the same transaction. Bad input never raises; only a
database failure does, and then nothing of the call was written.

Calls run concurrently (the MQTT worker, the IEC 104 master and HTTP requests, each on its
own connection pool: ``sessions`` per call); no lock is held across a database round trip or
a pool checkout. The last device time per (device, kind) is cached, primed from the event
log in one query for the devices a call brings that the cache does not know yet. The
out-of-order check of a call is decided in memory under a short lock against the cache AND
the newest times of the calls still in flight (not committed yet), which it then joins; the
cache moves only when a call commits. So the check stays exact within the process, with one
conservative edge: an event older than one of a concurrent call that later fails is refused
as ``out_of_order`` (kept as a dead letter) where, run after that failure, it would have been
accepted. With several processes writing the same log the check is per process: deploy one
worker per feeder group (docs/events.md, "Delivery guarantee").

The MQTT path is the hot one (thousands of reports a second in a storm): the intake keeps an
:class:`~openoms.ingest.payloads.MqttParser` (what each topic says is worked out once) and
does per message only what depends on the message.

An MQTT message with an empty payload (what a broker delivers when a retained topic is
cleared) is neither an event nor a dead letter: it is counted as ``ignored`` and acknowledged.

Telemetry (:meth:`Intake.accept_telemetry`: cyclic measurements such as load currents) is
not an event: it is stored as the latest value and sampled history of each point
(:mod:`openoms.store.telemetry`, at most one history row per ``telemetry_sample`` interval),
on the ingest pool, never in the event log.

What a call reports and the counters (:class:`IntakeResult`, :class:`IntakeCounts`, the
Prometheus counters) are in :mod:`.intake_results`, re-exported here.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
from collections import Counter as Tally
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from openoms.events import Event, EventKind, EventSource, TelemetrySample
from openoms.grid.model import Network
from openoms.ingest.intake_results import IntakeCounts, IntakeMetrics, IntakeResult, RejectedItem
from openoms.ingest.payloads import (
    MAX_AHEAD,
    ORDERED_KINDS,
    MqttParser,
    Rejected,
    RejectReason,
    check_device,
    check_time,
)
from openoms.ingest.rejections import quoted
from openoms.store import deadletters, eventlog, telemetry

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Intake", "IntakeCounts", "IntakeResult", "RejectedItem"]

_CHANNEL_CHARS = 300  # dead_letters.channel
RawOf = Sequence[bytes] | Callable[[int, Event], bytes]
Outcome = Event | Rejected
Slot = tuple[str, EventKind]  # (device id, kind) of an ordered event
Sessions = Callable[[], Session]
Also = Callable[[Session, "IntakeResult"], None]


class Intake:
    """Checks and writes incoming events; see the module docstring.

    ``sessions`` makes a new session (a ``sessionmaker``); ``network`` tells known devices;
    ``utility`` is the utility code of the MQTT topics. ``registry``: a
    ``prometheus_client.CollectorRegistry`` to expose the counters in (default: none).
    ``telemetry_sample``: the sampling interval of the telemetry history (setting
    ``telemetry_sample_s``).
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        network: Network,
        *,
        utility: str,
        max_ahead: timedelta = MAX_AHEAD,
        registry: CollectorRegistry | None = None,
        telemetry_sample: timedelta = telemetry.DEFAULT_SAMPLE_EVERY,
    ) -> None:
        if telemetry_sample <= timedelta(0):
            raise ValueError(f"telemetry_sample {telemetry_sample} must be positive")
        self.telemetry_sample = telemetry_sample
        self._sessions = sessions
        self._network = network
        self._parser = MqttParser(utility=utility, network=network)
        self.utility = utility
        self.max_ahead = max_ahead
        # Held for memory only (never across a database call): the cache, the calls in
        # flight and the network. Counters have their own lock.
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._last: dict[Slot, datetime | None] = {}  # committed: the newest per slot
        self._in_flight: dict[int, dict[Slot, datetime]] = {}  # call → its newest per slot
        self._calls = itertools.count()
        self._accepted = 0
        self._duplicates = 0
        self._ignored = 0
        self._telemetry = 0
        self._rejected: Tally[RejectReason] = Tally()
        self._metrics = IntakeMetrics(registry) if registry is not None else None

    # -- state ---------------------------------------------------------------------------
    @property
    def network(self) -> Network:
        return self._network

    def replace_network(self, network: Network) -> None:
        """Check devices against ``network`` from the next call on (after a re-import)."""
        with self._lock:
            self._network = network
            self._parser = MqttParser(utility=self.utility, network=network)

    def counts(self) -> IntakeCounts:
        with self._count_lock:
            return IntakeCounts(
                accepted=self._accepted,
                duplicates=self._duplicates,
                rejected={reason.value: self._rejected[reason] for reason in RejectReason},
                ignored=self._ignored,
                telemetry=self._telemetry,
            )

    # -- entry points ----------------------------------------------------------------------
    def accept_mqtt(self, topic: str, payload: bytes, *, received_at: datetime) -> IntakeResult:
        """One MQTT message (see :meth:`accept_mqtt_batch`)."""
        return self.accept_mqtt_batch([(topic, payload)], received_at=received_at)

    def accept_mqtt_batch(
        self, messages: Sequence[tuple[str, bytes]], *, received_at: datetime
    ) -> IntakeResult:
        """MQTT messages ``(topic, payload)``, in the order received, in one transaction.

        An empty payload (a retained topic cleared) is ignored: counted, not stored. Raises
        only when the database fails; then nothing of the batch was written.
        """
        parse = self._parser.parse
        kept = [i for i, (_, payload) in enumerate(messages) if payload]
        ignored = len(messages) - len(kept)
        if ignored:
            self._count_ignored(EventSource.MQTT, ignored)
            if not kept:
                return IntakeResult(ignored=ignored)
            messages = [messages[i] for i in kept]
        outcomes = [parse(topic, payload) for topic, payload in messages]
        result = self._write(
            outcomes,
            channel_of=lambda i: messages[i][0],
            raw_of=lambda i: messages[i][1],
            source=EventSource.MQTT,
            received_at=received_at,
        )
        if not ignored:
            return result
        rejected = tuple(dataclasses.replace(r, index=kept[r.index]) for r in result.rejected)
        return dataclasses.replace(result, rejected=rejected, ignored=ignored)

    def accept_events(
        self,
        events: Sequence[Event],
        *,
        source: EventSource,
        channel: str,
        raw_of: RawOf,
        received_at: datetime,
        sessions: Sessions | None = None,
        also: Also | None = None,
    ) -> IntakeResult:
        """Events parsed elsewhere (the HTTP API), in one transaction.

        ``raw_of`` gives the raw bytes of each event for a dead letter: a sequence parallel
        to ``events``, or a function of (index, event), called only for refused events.
        ``sessions``: the connection pool to write with (the API's own), default the
        intake's. ``also(session, result)`` writes more in the same transaction (the API's
        audit entry), after the events.
        """
        network = self._network
        outcomes: list[Outcome] = [
            check_device(network, event.kind, event.device_id) or event for event in events
        ]

        def raw(i: int) -> bytes:
            return raw_of(i, events[i]) if callable(raw_of) else raw_of[i]

        return self._write(
            outcomes,
            channel_of=lambda _: channel,
            raw_of=raw,
            source=source,
            received_at=received_at,
            sessions=sessions,
            also=also,
        )

    def accept_telemetry(self, samples: Sequence[TelemetrySample]) -> int:
        """Telemetry samples (cyclic measurements), in one transaction on the intake's pool:
        the latest value of each point and its sampled history (:mod:`openoms.store.
        telemetry`); never the event log. Returns how many samples were accepted.

        A sample of an element that is not in the network is refused as ``unknown_device``,
        one that cannot be stored (a value that is not finite, an id too long) as
        ``malformed``, one whose device time is more than ``max_ahead`` after its receipt as
        ``clock_skew``: one dead letter per point and reason of the call, naming the point and
        how many samples, its raw bytes every such sample as JSON lines. Raises only when the
        database fails; then nothing of the call was written.
        """
        for sample in samples:
            if sample.received_at.tzinfo is None or (
                sample.device_time is not None and sample.device_time.tzinfo is None
            ):
                raise ValueError("telemetry sample times must be timezone-aware")
        network = self._network
        good: list[TelemetrySample] = []
        refused: dict[tuple[str, str, RejectReason], tuple[str, list[TelemetrySample]]] = {}
        for sample in samples:
            problem = telemetry.sample_problem(sample)
            if problem is not None:
                reason = RejectReason.MALFORMED
            elif sample.element_id not in network:
                reason = RejectReason.UNKNOWN_DEVICE
                problem = (
                    f"telemetry point {quoted(sample.point)} of {quoted(sample.element_id)}: "
                    f"the element is not in the network {network.name!r}"
                )
            elif sample.device_time is not None and sample.device_time - sample.received_at > (
                self.max_ahead
            ):  # else it would stay "latest" until real time caught up with it
                reason = RejectReason.CLOCK_SKEW
                ahead = (sample.device_time - sample.received_at).total_seconds() / 60
                problem = (
                    f"telemetry point {quoted(sample.point)} of {quoted(sample.element_id)}: "
                    f"device time {sample.device_time.isoformat()} is {ahead:.1f} min after "
                    f"the receipt time {sample.received_at.isoformat()} (at most "
                    f"{self.max_ahead.total_seconds() / 60:.1f} min allowed): its clock is off"
                )
            else:
                good.append(sample)
                continue
            refused.setdefault((sample.element_id, sample.point, reason), (problem, []))[1].append(
                sample
            )
        letters = [
            (
                deadletters.NewDeadLetter(
                    source=EventSource(group[0].source).value,
                    channel=_clean(group[0].channel or "telemetry")[:_CHANNEL_CHARS],
                    reason=reason.value,
                    detail=_clean(f"{problem} ({len(group)} sample{'s' * (len(group) > 1)})"),
                    raw=b"".join(_sample_json(sample) for sample in group),
                ),
                max(sample.received_at for sample in group),
            )
            for (_, _, reason), (problem, group) in refused.items()
        ]
        if good or letters:
            with self._sessions() as session, session.begin():
                telemetry.record_telemetry(session, good, sample_every=self.telemetry_sample)
                for letter, at in letters:
                    deadletters.add_dead_letters(session, [letter], at=at)
        with self._count_lock:
            self._telemetry += len(good)
            self._rejected.update(reason for _, _, reason in refused)
        if self._metrics is not None:
            for source, n in Tally(EventSource(s.source).value for s in good).items():
                self._metrics.telemetry.labels(source).inc(n)
            for letter, _ in letters:
                self._metrics.rejected.labels(str(letter.source), letter.reason).inc()
        return len(good)

    def reject(
        self,
        *,
        source: EventSource,
        channel: str,
        reason: RejectReason,
        detail: str,
        raw: bytes,
        received_at: datetime,
        sessions: Sessions | None = None,
    ) -> None:
        """Dead-letter a message refused before it became an event (a body that is not JSON)."""
        self._write(
            [Rejected(reason, detail)],
            channel_of=lambda _: channel,
            raw_of=lambda _: raw,
            source=source,
            received_at=received_at,
            sessions=sessions,
        )

    # -- the transaction -----------------------------------------------------------------
    def _write(
        self,
        outcomes: Sequence[Outcome],
        *,
        channel_of: Callable[[int], str],
        raw_of: Callable[[int], bytes],
        source: EventSource,
        received_at: datetime,
        sessions: Sessions | None = None,
        also: Also | None = None,
    ) -> IntakeResult:
        """Write ``outcomes`` (the i-th came on ``channel_of(i)`` as ``raw_of(i)``)."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        call = next(self._calls)
        committed = False
        try:
            with (sessions or self._sessions)() as session, session.begin():
                result = self._write_in(session, call, outcomes, received_at)
                letters = [
                    deadletters.NewDeadLetter(
                        source=source.value,
                        channel=_clean(channel_of(item.index))[:_CHANNEL_CHARS],
                        reason=item.reason.value,
                        detail=_clean(item.detail),
                        raw=raw_of(item.index),
                    )
                    for item in result.rejected
                ]
                deadletters.add_dead_letters(session, letters, at=received_at)
                if also is not None:
                    also(session, result)
            committed = True
        finally:
            with self._lock:
                latest = self._in_flight.pop(call, {})
                if committed:  # only now does the cache move
                    _merge_newest(self._last, latest)
        self._count(source, result)
        return result

    def _write_in(
        self, session: Session, call: int, outcomes: Sequence[Outcome], received_at: datetime
    ) -> IntakeResult:
        """Append the acceptable events; what was refused (by index)."""
        self._prime(session, outcomes)  # a database read: outside the lock
        with self._lock:  # memory only: decide, and join the calls in flight
            refused, late, repeated, to_append, latest = self._decide(outcomes, received_at)
            self._in_flight[call] = latest
        # A redelivered old report is a duplicate, not out of order.
        stored = eventlog.stored_keys(session, [key for _, _, key in late])
        for i, rejected, key in late:
            if key in stored:
                repeated.append(key)
            else:
                refused.append((i, rejected))
        appended = eventlog.append_events(session, to_append, received_at=received_at)
        refused.sort(key=lambda pair: pair[0])
        return IntakeResult(
            accepted=appended.accepted,
            duplicates=(*appended.duplicates, *repeated),
            rejected=tuple(RejectedItem(i, r.reason, r.detail) for i, r in refused),
        )

    def _decide(
        self, outcomes: Sequence[Outcome], received_at: datetime
    ) -> tuple[
        list[tuple[int, Rejected]],
        list[tuple[int, Rejected, str]],
        list[str],
        list[Event],
        dict[Slot, datetime],
    ]:
        """Sort the outcomes (under the lock): refused, late (out of order unless already
        stored), repeated keys, events to append, and the call's newest time per slot."""
        known = self._last
        in_flight = list(self._in_flight.values())
        latest: dict[Slot, datetime] = {}
        keys_seen: set[str] = set()
        to_append: list[Event] = []
        repeated: list[str] = []  # a key twice in one call: the second is a duplicate
        refused: list[tuple[int, Rejected]] = []
        late: list[tuple[int, Rejected, str]] = []
        newest = _newest_allowed(received_at, self.max_ahead)
        for i, event in enumerate(outcomes):
            if isinstance(event, Rejected):
                refused.append((i, event))
                continue
            key = event.idempotency_key
            if key in keys_seen:
                repeated.append(key)
                continue
            at = event.device_time
            ordered = event.device_id is not None and event.kind in ORDERED_KINDS
            last: datetime | None = None
            if ordered:
                slot = (event.device_id or "", event.kind)
                if slot in latest:
                    last = latest[slot]
                else:
                    last = _newest(known.get(slot), *(call.get(slot) for call in in_flight))
            # check_time's tests, without its sentence; it writes the sentence when one fails
            if newest is None or at > newest or (last is not None and at < last):
                rejected = check_time(
                    event, received_at=received_at, last=last, max_ahead=self.max_ahead
                )
                if rejected is not None:
                    if rejected.reason is RejectReason.OUT_OF_ORDER:
                        late.append((i, rejected, key))
                    else:
                        refused.append((i, rejected))
                    continue
            keys_seen.add(key)
            to_append.append(event)
            if ordered:
                latest[slot] = at if last is None or at > last else last
        return refused, late, repeated, to_append, latest

    def _prime(self, session: Session, outcomes: Sequence[Outcome]) -> None:
        """Read the last device times the cache lacks for the events of ``outcomes``.

        The read runs without the lock; what it finds is merged keeping the newer time, so
        that a call committing meanwhile is never moved back.
        """
        slots = {
            (event.device_id, event.kind)
            for event in outcomes
            if isinstance(event, Event)
            and event.device_id is not None
            and event.kind in ORDERED_KINDS
        }
        with self._lock:
            missing = slots - self._last.keys()
        if missing:
            found = eventlog.last_device_times(session, missing)
            with self._lock:
                for slot, at in found.items():
                    if slot not in self._last:
                        self._last[slot] = at
                    elif at is not None:
                        _merge_newest(self._last, {slot: at})

    def _count_ignored(self, source: EventSource, n: int) -> None:
        with self._count_lock:
            self._ignored += n
        if self._metrics is not None:
            self._metrics.ignored.labels(source.value).inc(n)

    def _count(self, source: EventSource, result: IntakeResult) -> None:
        reasons = Tally(item.reason for item in result.rejected)
        with self._count_lock:
            self._accepted += len(result.accepted)
            self._duplicates += len(result.duplicates)
            self._rejected.update(reasons)
        if self._metrics is not None:
            self._metrics.accepted.labels(source.value).inc(len(result.accepted))
            self._metrics.duplicates.labels(source.value).inc(len(result.duplicates))
            for reason, n in reasons.items():
                self._metrics.rejected.labels(source.value, reason.value).inc(n)


def _newest(*times: datetime | None) -> datetime | None:
    """The latest of ``times`` that are known (None when none is)."""
    known = [at for at in times if at is not None]
    return max(known) if known else None


def _merge_newest(into: dict[Slot, datetime | None], newer: Mapping[Slot, datetime]) -> None:
    """Move each slot of ``into`` to the time in ``newer`` when that is later."""
    for slot, at in newer.items():
        current = into.get(slot)
        if current is None or at > current:
            into[slot] = at


def _newest_allowed(received_at: datetime, max_ahead: timedelta) -> datetime | None:
    """The latest device time not refused as ``future`` (None: out of datetime's range)."""
    try:
        return received_at + max_ahead
    except OverflowError:
        return None


def _sample_json(sample: TelemetrySample) -> bytes:
    """A refused telemetry sample as one JSON line (its raw bytes in a dead letter)."""
    body = {
        "element_id": sample.element_id,
        "point": sample.point,
        "value": sample.value,  # NaN and Infinity as Python writes them: raw, not stored JSON
        "device_time": None if sample.device_time is None else sample.device_time.isoformat(),
        "received_at": sample.received_at.isoformat(),
        "quality_ok": sample.quality_ok,
    }
    return (json.dumps(body, ensure_ascii=False, default=str) + "\n").encode()


def _clean(text: str) -> str:
    """Text for a database text column: PostgreSQL refuses NUL characters."""
    return text.replace("\x00", "\\x00")
