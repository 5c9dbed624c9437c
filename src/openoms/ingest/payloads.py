"""Message payloads to :class:`~openoms.events.Event`, or why one is refused.

Pure: no clock, no session, no I/O; the network comes in as an argument. The topic layout is
in :mod:`.topics`, the decoding of payload bytes in :mod:`.json_decode`, the checking of the
JSON documents in :mod:`.documents`, the point names of indicator and FTU reports in
:mod:`.points`, the reasons for refusal and the device and time checks in :mod:`.rejections`
(re-exported here: this is the module to import for parsing). Described for senders in
``docs/events.md``.

Every function here returns either a value or a :class:`Rejected` naming the field; none
raises on bad input, whatever the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from openoms.events import Event, EventKind, EventSource
from openoms.grid.model import Network
from openoms.ingest.documents import (
    CHANNEL_KIND,
    MAX_MSG_ID_CHARS,
    MAX_PLAUSIBLE_TS_MS,
    MAX_TS_MS,
    MIN_PLAUSIBLE_TS_MS,
    message_key,
    parse_document,
    plain_report,
)
from openoms.ingest.json_decode import MAX_PAYLOAD_BYTES, decode_json
from openoms.ingest.rejections import (
    MAX_AHEAD,
    ORDERED_KINDS,
    Rejected,
    RejectReason,
    check_device,
    check_time,
)
from openoms.ingest.topics import MAX_NAME_CHARS, Channel, Topic, parse_topic

__all__ = [
    "MAX_AHEAD",
    "MAX_MSG_ID_CHARS",
    "MAX_NAME_CHARS",
    "MAX_PAYLOAD_BYTES",
    "MAX_PLAUSIBLE_TS_MS",
    "MAX_TS_MS",
    "MIN_PLAUSIBLE_TS_MS",
    "ORDERED_KINDS",
    "Channel",
    "MqttParser",
    "RejectReason",
    "Rejected",
    "Topic",
    "check_device",
    "check_time",
    "decode_json",
    "message_key",
    "parse_document",
    "parse_mqtt",
    "parse_topic",
]


@dataclass(frozen=True, slots=True)
class _Sender:
    """What a topic says: the channel, the sender's name and the kind of its events."""

    channel: Channel
    name: str
    kind: EventKind


def _sender(topic: str, *, utility: str, network: Network) -> _Sender | Rejected:
    """The sender of ``topic``, checked against ``network`` (crews are not in it)."""
    parsed = parse_topic(topic, utility=utility)
    if isinstance(parsed, Rejected):
        return parsed
    kind = CHANNEL_KIND[parsed.channel]
    if parsed.channel is not Channel.CREWS:
        rejected = check_device(network, kind, parsed.name)
        if rejected is not None:
            return rejected
    return _Sender(parsed.channel, parsed.name, kind)


def _from_sender(sender: _Sender, payload: bytes, network: Network) -> Event | Rejected:
    """The event of ``payload`` from ``sender``: a plain report's fast path, else the long way."""
    doc = decode_json(payload)
    if isinstance(doc, Rejected):
        return doc
    event: Event | Rejected | None = None
    if sender.channel is Channel.INDICATORS or sender.channel is Channel.FTUS:
        event = plain_report(sender.channel, sender.name, doc)
    if event is None:
        event = parse_document(sender.channel, sender.name, doc, source=EventSource.MQTT)
    if isinstance(event, Event) and event.kind is not sender.kind:
        rejected = check_device(network, event.kind, event.device_id)
        if rejected is not None:
            return rejected
    return event


def parse_mqtt(topic: str, payload: bytes, *, utility: str, network: Network) -> Event | Rejected:
    """The event of one MQTT message, or why it is refused (never raises).

    Checks, in order: the topic; that the topic's device is in ``network`` and may publish
    there; the payload; for trips and recloses, that the switch is a breaker or recloser.
    For a stream of messages, :class:`MqttParser` gives the same answers faster.
    """
    sender = _sender(topic, utility=utility, network=network)
    if isinstance(sender, Rejected):
        return sender
    return _from_sender(sender, payload, network)


class MqttParser:
    """:func:`parse_mqtt` for one utility and network, for a stream of messages.

    Devices publish on the same topics again and again: what a topic says (its channel and
    sender, and whether the network has that device of that kind) is worked out once and
    kept, for up to ``max_topics`` topics (then all are forgotten and it starts again, so
    that a flood of made-up topics cannot grow it without end). The answers are those of
    :func:`parse_mqtt`. Make a new parser for a new network. Safe to share between threads.
    """

    def __init__(self, *, utility: str, network: Network, max_topics: int = 100_000) -> None:
        self.utility = utility
        self.network = network
        self._max_topics = max_topics
        self._senders: dict[str, _Sender | Rejected] = {}

    def parse(self, topic: str, payload: bytes) -> Event | Rejected:
        sender = self._senders.get(topic)
        if sender is None:
            sender = _sender(topic, utility=self.utility, network=self.network)
            if len(self._senders) >= self._max_topics:
                self._senders.clear()
            self._senders[topic] = sender
        if isinstance(sender, Rejected):
            return sender
        return _from_sender(sender, payload, self.network)
