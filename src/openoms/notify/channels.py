"""The one typed interface every notice channel speaks (docs/notices.md).

A channel adapter takes one :class:`OutgoingMessage` and either returns a :class:`Receipt`
(the channel took it) or raises one of three errors that tell the notice worker what to do:

- :class:`ChannelUnavailableError`: certainly not handed over (connection refused, HTTP
  5xx or 429, a rate-limit answer): retried after a back-off;
- :class:`ChannelRejectedError`: refused for good (a bad address, a bad robot key): failed;
- :class:`ChannelOutcomeUnknownError`: it may have gone out (a time-out after the request
  left): never resent blindly, the delivery becomes ``unconfirmed``.

Adding a channel is writing one class with ``channel`` and ``send``, and listing it in the
worker's channels: no workflow changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from openoms.errors import OpenOMSError
from openoms.outages.notices import NoticeChannel

__all__ = [
    "ChannelAdapter",
    "ChannelError",
    "ChannelOutcomeUnknownError",
    "ChannelRejectedError",
    "ChannelUnavailableError",
    "MediaFeedChannel",
    "OutgoingMessage",
    "Receipt",
]


@dataclass(frozen=True, slots=True, repr=False)
class OutgoingMessage:
    """One message to send; ``key`` is its delivery's dedupe key (unique, stable)."""

    key: str
    channel: NoticeChannel
    recipient: str  # phone, e-mail address, robot name, feed name
    name: str  # the customer's account or the robot's name, for the logs
    title: str | None
    body: str
    lang: str

    def __repr__(self) -> str:
        return f"OutgoingMessage({self.key!r}, {self.channel} to {self.name})"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the channel answered: a short result for the record, and the outbox row of an
    SMS."""

    result: str
    outbox_id: int | None = None


class ChannelError(OpenOMSError):
    """A message the channel did not take."""


class ChannelUnavailableError(ChannelError):
    """Certainly not handed over; try again later."""


class ChannelRejectedError(ChannelError):
    """Refused for good; do not try again."""


class ChannelOutcomeUnknownError(ChannelError):
    """It may have been handed over; never resent blindly."""


class ChannelAdapter(Protocol):
    """A way of sending notices: SMS, e-mail, a group robot, the media feed."""

    @property
    def channel(self) -> NoticeChannel: ...

    def send(self, message: OutgoingMessage) -> Receipt: ...


class MediaFeedChannel:
    """Weibo posts and TV / radio announcements: "sending" publishes the text to the feed the
    media desk reads (``GET /notices/media``: the sent deliveries of these channels)."""

    def __init__(self, channel: NoticeChannel) -> None:
        self._channel = channel

    @property
    def channel(self) -> NoticeChannel:
        return self._channel

    def send(self, message: OutgoingMessage) -> Receipt:
        return Receipt(f"published to the media feed ({message.recipient})")
