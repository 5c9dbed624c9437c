"""Notices by SMS through the existing outbox (:mod:`openoms.store.outbox`): "sending" a
notice SMS is enqueueing it with the delivery's dedupe key, in a transaction of its own;
the outbox worker hands it to the SMSC over SMPP and tracks its delivery receipt.

The outbox's dedupe key makes the hand-over idempotent: a delivery retried after a crash
between the enqueue and its own ``sent`` record finds the row it made and queues nothing
new, so no customer gets the same SMS twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from openoms.contacts.phone import BadPhoneError
from openoms.notify.channels import ChannelRejectedError, OutgoingMessage, Receipt
from openoms.outages.notices import NoticeChannel
from openoms.store import outbox

__all__ = ["OUTBOX_KIND", "OutboxSmsChannel", "outbox_key"]

OUTBOX_KIND = "notice"


def outbox_key(delivery_key: str) -> str:
    """The outbox dedupe key of a notice delivery."""
    return f"notice:{delivery_key}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxSmsChannel:
    """Queues notice SMS in the outbox; ``wake`` tells the outbox worker to look now."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = _utc_now,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._wake = wake

    @property
    def channel(self) -> NoticeChannel:
        return NoticeChannel.SMS

    def send(self, message: OutgoingMessage) -> Receipt:
        try:
            with self._sessions.begin() as session:
                queued = outbox.enqueue(
                    session,
                    dedupe_key=outbox_key(message.key),
                    kind=OUTBOX_KIND,
                    phone=message.recipient,
                    name=message.name,
                    body=message.body,
                    lang=message.lang,
                    now=self._clock(),
                )
        except BadPhoneError as exc:
            raise ChannelRejectedError(str(exc)) from exc
        if self._wake is not None:
            self._wake()
        how = "queued in" if queued.created else "already in"
        return Receipt(f"{how} the SMS outbox as message {queued.id}", outbox_id=queued.id)
