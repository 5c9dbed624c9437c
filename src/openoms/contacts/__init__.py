"""Who is told: mobile phone numbers checked once at the edge and masked wherever shown, and
the lifecycle of a message to them (``queued → sending → sent → delivered``, retries,
``failed``, ``unconfirmed``: :mod:`openoms.contacts.messages`).

Pure values shared by the store (duty rosters, the outbox), the notification channels and
the workflows; no I/O.
"""

from __future__ import annotations

from openoms.contacts.messages import (
    FINAL_MESSAGE_STATES,
    INITIAL_MESSAGE_STATE,
    MESSAGE_TRANSITIONS,
    MessageState,
    MessageTransitionError,
    message_transition,
)
from openoms.contacts.phone import BadPhoneError, mask_phone, normalize_phone

__all__ = [
    "FINAL_MESSAGE_STATES",
    "INITIAL_MESSAGE_STATE",
    "MESSAGE_TRANSITIONS",
    "BadPhoneError",
    "MessageState",
    "MessageTransitionError",
    "mask_phone",
    "message_transition",
    "normalize_phone",
]
