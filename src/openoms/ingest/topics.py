"""The MQTT topic layout: ``openoms/<utility>/<channel>/<name>/<leaf>`` (docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from openoms.ingest.rejections import Rejected, RejectReason, quoted

__all__ = ["MAX_NAME_CHARS", "Channel", "Topic", "parse_topic", "topic_of"]

MAX_NAME_CHARS: Final = 100  # device ids and crew names (the events.device_id column)


class Channel(StrEnum):
    """The third level of a topic: what kind of sender publishes there."""

    INDICATORS = "indicators"
    FTUS = "ftus"
    SWITCHES = "switches"
    CREWS = "crews"

    @property
    def leaf(self) -> str:
        return _LEAF[self]


_LEAF: Final = {
    Channel.INDICATORS: "report",
    Channel.FTUS: "report",
    Channel.SWITCHES: "event",
    Channel.CREWS: "status",
}


@dataclass(frozen=True, slots=True)
class Topic:
    """``openoms/<utility>/<channel>/<name>/<leaf>``; ``name`` is a device id or a crew."""

    utility: str
    channel: Channel
    name: str

    def __str__(self) -> str:
        return f"openoms/{self.utility}/{self.channel}/{self.name}/{self.channel.leaf}"


_CHANNELS: Final = {channel.value: channel for channel in Channel}


def _bad_name(name: str) -> str | None:
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    if not name.isprintable():
        return "contains control characters"
    return None


def parse_topic(topic: str, *, utility: str) -> Topic | Rejected:
    """The parts of a topic of ``utility``, or ``unknown_topic`` saying what did not fit."""
    parts = topic.split("/")
    expected = "openoms/<utility>/{indicators|ftus|switches|crews}/<name>/{report|event|status}"
    if len(parts) != 5 or parts[0] != "openoms":
        return Rejected(RejectReason.UNKNOWN_TOPIC, f"topic {quoted(topic)} is not {expected}")
    _, topic_utility, channel_text, name, leaf = parts
    if topic_utility != utility:
        return Rejected(
            RejectReason.UNKNOWN_TOPIC,
            f"topic {quoted(topic)} is for utility {quoted(topic_utility)}, not {utility!r}",
        )
    channel = _CHANNELS.get(channel_text)
    if channel is None:
        return Rejected(
            RejectReason.UNKNOWN_TOPIC,
            f"topic {quoted(topic)}: {quoted(channel_text)} is not one of "
            "indicators, ftus, switches, crews",
        )
    if leaf != channel.leaf:
        return Rejected(
            RejectReason.UNKNOWN_TOPIC,
            f"topic {quoted(topic)}: {channel} topics end in /{channel.leaf}, not {quoted(leaf)}",
        )
    if (problem := _bad_name(name)) is not None:
        return Rejected(RejectReason.UNKNOWN_TOPIC, f"topic {quoted(topic)}: the name {problem}")
    return Topic(utility, channel, name)


def topic_of(utility: str, channel: Channel, name: str) -> str:
    """The topic a sender ``name`` publishes on."""
    return str(Topic(utility, channel, name))
