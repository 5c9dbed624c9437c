"""The outbox: messages to send, persisted before anything is sent, sent once.

A message is enqueued with a dedupe key (enqueueing the same alert twice is a no-op). The
worker claims due rows, committing ``sending`` *before* it submits; the submit's answer
moves the row to ``sent`` (with the carrier's message id and the hand-over time) or back
to ``queued`` with exponential back-off, or to ``failed``. Delivery receipts move ``sent``
to ``delivered`` (or ``failed``): each PDU of a sent message (the whole text, or each segment
of a concatenated one) is an ``outbox_parts`` row with its SMSC message id, and the message is
``delivered`` when every part's receipt says DELIVRD, ``failed`` as soon as one part's says it
failed. Receipt ids match whether the SMSC wrote them in hex or decimal (:func:`id_keys`).
The states and the table of allowed changes are in
:mod:`openoms.contacts.messages`; every change of a row is checked against it here.

The one window that no protocol closes: a crash, or a lost connection, after the
``submit_sm`` left and before its answer was recorded. SMPP 3.4 has no idempotency key, so
such a row is never resent blindly: it becomes ``unconfirmed`` for the dispatcher, and
turns ``delivered`` if a receipt for that recipient arrives later (see docs/notify.md).

Repositories never read the clock: ``now`` comes in as an argument.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openoms.contacts.messages import (
    INITIAL_MESSAGE_STATE,
    MESSAGE_TRANSITIONS,
    MessageState,
    MessageTransitionError,
    message_transition,
)
from openoms.contacts.phone import BadPhoneError, mask_phone, normalize_phone
from openoms.errors import InputError
from openoms.store.tables import OutboxMessage, OutboxPart

__all__ = [
    "EnqueueResult",
    "OutboxItem",
    "OutboxMessageNotFoundError",
    "OutboxState",
    "OutboxTransitionError",
    "RetryPolicy",
    "claim_due",
    "enqueue",
    "get_message",
    "handover_latencies",
    "id_keys",
    "list_messages",
    "mark_attempt_failed",
    "mark_sent",
    "mark_unconfirmed",
    "message_states_by_outage",
    "next_due_at",
    "record_receipt",
    "recover_interrupted",
    "requeue_unconfirmed",
    "retry_now",
    "transition",
]


OutboxState = MessageState
"""The states of an outbox message: :class:`openoms.contacts.messages.MessageState`."""

_S = MessageState
ALLOWED: Final = MESSAGE_TRANSITIONS
"""The lifecycle of an outbox message: every allowed (from, to) pair (the table of
:mod:`openoms.contacts.messages`)."""

_RECEIPT_STATES: Final[dict[str, MessageState]] = {
    "DELIVRD": _S.DELIVERED,
    "UNDELIV": _S.FAILED,
    "REJECTD": _S.FAILED,
    "EXPIRED": _S.FAILED,
    "DELETED": _S.FAILED,
}
"""Final ``stat:`` values of an SMPP 3.4 delivery receipt (appendix B); others change nothing."""


_HEX: Final = re.compile(r"[0-9a-fA-F]+")


def normalize_id(message_id: str) -> str:
    """An SMSC message id compared without case, blanks and leading zeros."""
    return message_id.strip().lower().lstrip("0") or "0"


def id_keys(message_id: str) -> tuple[str, ...]:
    """The normalised forms a receipt's ``message_id`` may have had in the ``submit_sm_resp``:
    itself, and if it is decimal its hex form, if it is hex its decimal form (SMSCs answer
    the submit in one and write the receipt in the other).

    >>> id_keys("6699")
    ('6699', '1a2b', '26265')
    >>> id_keys("1A2B")
    ('1a2b', '6699')
    """
    raw = message_id.strip()
    keys = [normalize_id(raw)]
    if raw.isascii() and raw.isdecimal():
        keys.append(normalize_id(format(int(raw), "x")))
    if _HEX.fullmatch(raw):
        keys.append(normalize_id(str(int(raw, 16))))
    return tuple(dict.fromkeys(keys))


class OutboxTransitionError(MessageTransitionError):
    def __init__(self, message_id: int, current: MessageState, new: MessageState) -> None:
        super().__init__(current, new, what=f"outbox message {message_id}")
        self.message_id, self.new = message_id, new


class OutboxMessageNotFoundError(InputError):
    def __init__(self, message_id: int) -> None:
        super().__init__(f"no outbox message with id {message_id}")
        self.message_id = message_id


def transition(message_id: int, current: MessageState, new: MessageState) -> MessageState:
    """``new`` if the lifecycle allows ``current`` → ``new``; else raise."""
    try:
        return message_transition(current, new)
    except MessageTransitionError:
        raise OutboxTransitionError(message_id, current, new) from None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off: ``base · 2^(attempt−1)``, capped; ``failed`` after ``max_attempts``."""

    base_delay_s: float = 5.0
    max_delay_s: float = 300.0
    max_attempts: int = 6

    def delay(self, attempts: int) -> timedelta:
        return timedelta(
            seconds=min(self.base_delay_s * 2 ** max(attempts - 1, 0), self.max_delay_s)
        )


@dataclass(frozen=True, slots=True, repr=False)
class OutboxItem:
    """An outbox row as the worker and the API see it; its ``repr`` masks the phone."""

    id: int
    outage_id: int | None
    kind: str
    recipient_phone: str
    recipient_name: str
    body: str
    lang: str
    state: MessageState
    attempts: int
    next_attempt_at: datetime
    smsc_message_id: str | None
    trigger_at: datetime | None
    handed_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.recipient_phone)

    def __repr__(self) -> str:
        return (
            f"OutboxItem(id={self.id}, kind={self.kind!r}, outage_id={self.outage_id}, "
            f"to={self.recipient_name} {self.masked_phone}, state={self.state}, "
            f"attempts={self.attempts}, smsc_message_id={self.smsc_message_id!r})"
        )


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    id: int
    created: bool  # False: the dedupe key was already there, nothing changed


def _item(row: OutboxMessage) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        outage_id=row.outage_id,
        kind=row.kind,
        recipient_phone=row.recipient_phone,
        recipient_name=row.recipient_name,
        body=row.body,
        lang=row.lang,
        state=MessageState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        smsc_message_id=row.smsc_message_id,
        trigger_at=row.trigger_at,
        handed_at=row.handed_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        created_at=row.created_at,
    )


def _by_key(session: Session, dedupe_key: str) -> OutboxMessage | None:
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
    ).one_or_none()


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    phone: str,
    name: str,
    body: str,
    lang: str,
    now: datetime,
    outage_id: int | None = None,
    trigger_at: datetime | None = None,
) -> EnqueueResult:
    """Queue a message once per ``dedupe_key`` (e.g. ``crew_alert:<outage>:<phone>``).

    A second call with the same key, even from another process at the same moment, returns
    the first row and changes nothing. The phone is checked and normalised first.
    """
    if not body:
        raise InputError(f"outbox message {dedupe_key!r}: empty body")
    number = normalize_phone(phone)
    existing = _by_key(session, dedupe_key)
    if existing is not None:
        return EnqueueResult(existing.id, created=False)
    row = OutboxMessage(
        outage_id=outage_id,
        kind=kind,
        dedupe_key=dedupe_key,
        recipient_phone=number,
        recipient_name=name,
        body=body,
        lang=lang,
        state=INITIAL_MESSAGE_STATE.value,
        attempts=0,
        next_attempt_at=now,
        trigger_at=trigger_at,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent enqueue of the same key won the race
        winner = _by_key(session, dedupe_key)
        if winner is None:
            raise
        return EnqueueResult(winner.id, created=False)
    return EnqueueResult(row.id, created=True)


def _row(session: Session, message_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        raise OutboxMessageNotFoundError(message_id)
    return row


def _move(row: OutboxMessage, new: MessageState) -> None:
    """Every state change of a row goes through here, checked against the lifecycle table."""
    row.state = transition(row.id, MessageState(row.state), new).value


def claim_due(session: Session, *, now: datetime, limit: int = 10) -> list[OutboxItem]:
    """Take up to ``limit`` due queued rows, oldest first, and mark them ``sending``.

    The caller commits before it submits anything: that commit is what makes a crash
    during the submit visible at the next start (:func:`recover_interrupted`). On
    PostgreSQL concurrent workers skip each other's rows (``FOR UPDATE SKIP LOCKED``).
    """
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == _S.QUEUED.value, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        _move(row, _S.SENDING)
        row.attempts += 1
        row.last_attempt_at = now
    session.flush()
    return [_item(row) for row in rows]


def mark_sent(
    session: Session,
    message_id: int,
    *,
    smsc_message_id: str | Sequence[str],
    handed_at: datetime,
) -> None:
    """The SMSC accepted the message (``submit_sm_resp`` OK) at ``handed_at``: its message
    id, or the ids of its segments in order (the row keeps the first; each is a part)."""
    ids = [smsc_message_id] if isinstance(smsc_message_id, str) else list(smsc_message_id)
    if not ids:
        raise InputError(f"outbox message {message_id}: sent without an SMSC message id")
    row = _row(session, message_id)
    _move(row, _S.SENT)
    row.smsc_message_id = ids[0]
    row.handed_at = handed_at
    row.last_error = None
    for seq, smsc_id in enumerate(ids, start=1):
        session.add(
            OutboxPart(
                outbox_id=row.id, seq=seq, smsc_message_id=smsc_id, id_key=normalize_id(smsc_id)
            )
        )


def mark_attempt_failed(
    session: Session,
    message_id: int,
    *,
    error: str,
    now: datetime,
    policy: RetryPolicy,
    permanent: bool = False,
) -> MessageState:
    """A submit that certainly did not hand the message over: retry later, or give up.

    Returns the new state: ``queued`` (next attempt after the back-off) or ``failed`` (a
    permanent error, or the attempts are used up).
    """
    row = _row(session, message_id)
    row.last_error = error
    if permanent or row.attempts >= policy.max_attempts:
        _move(row, _S.FAILED)
    else:
        _move(row, _S.QUEUED)
        row.next_attempt_at = now + policy.delay(row.attempts)
    return MessageState(row.state)


def mark_unconfirmed(session: Session, message_id: int, *, reason: str) -> None:
    """The submit may have reached the SMSC but no answer was recorded: never resend blindly."""
    row = _row(session, message_id)
    _move(row, _S.UNCONFIRMED)
    row.last_error = reason


def recover_interrupted(session: Session) -> list[int]:
    """At start-up: rows left in ``sending`` by a stopped process become ``unconfirmed``."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == _S.SENDING.value)
        .order_by(OutboxMessage.id)
        .with_for_update()
    ).all()
    for row in rows:
        _move(row, _S.UNCONFIRMED)
        row.last_error = (
            "the service stopped between submit_sm and its answer: "
            "the SMSC may have the message; not resent"
        )
    return [row.id for row in rows]


def retry_now(session: Session, *, now: datetime) -> list[int]:
    """Queued rows waiting for their back-off become due at ``now`` (a session to the SMSC
    was just bound: what failed for want of one goes at once)."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == _S.QUEUED.value, OutboxMessage.next_attempt_at > now)
        .with_for_update()
    ).all()
    for row in rows:
        row.next_attempt_at = now
    return [row.id for row in rows]


def requeue_unconfirmed(session: Session, message_id: int, *, now: datetime) -> None:
    """A dispatcher decided to send an unconfirmed message again (a duplicate is possible)."""
    row = _row(session, message_id)
    _move(row, _S.QUEUED)
    row.next_attempt_at = now


def _part_of_receipt(session: Session, smsc_message_id: str) -> OutboxPart | None:
    """The part a receipt's id names: the same id first, then its hex / decimal forms; among
    equals the newest."""
    keys = id_keys(smsc_message_id)
    parts = session.scalars(
        select(OutboxPart)
        .where(OutboxPart.id_key.in_(keys))
        .order_by(OutboxPart.id.desc())
        .with_for_update()
    ).all()
    for key in keys:
        for part in parts:
            if part.id_key == key:
                return part
    return None


def record_receipt(
    session: Session,
    *,
    smsc_message_id: str,
    stat: str,
    recipient: str,
    done_at: datetime,
) -> int | None:
    """Apply a delivery receipt; returns the outbox id it matched, or ``None``.

    Matched by the SMSC message id of one of the message's parts, as written or in its hex /
    decimal form (:func:`id_keys`). A message is ``delivered`` when every part's receipt is
    DELIVRD (at the last one's time), ``failed`` when any part's is UNDELIV / REJECTD /
    EXPIRED / DELETED. A receipt whose id the outbox never learnt (the answer to the submit
    was lost) matches an ``unconfirmed`` row of the same recipient when there is exactly one.
    Receipts for a final state, and repeats, change nothing.
    """
    part = _part_of_receipt(session, smsc_message_id)
    row: OutboxMessage | None = None
    if part is not None:
        part.stat = stat.upper()
        part.done_at = done_at
        row = session.get(OutboxMessage, part.outbox_id, with_for_update=True)
    if row is None:
        row = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.smsc_message_id == smsc_message_id)
            .with_for_update()
        ).one_or_none()
    if row is None:
        try:
            number = normalize_phone(recipient)
        except BadPhoneError:
            return None
        candidates = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.state == _S.UNCONFIRMED.value,
                OutboxMessage.recipient_phone == number,
            )
            .with_for_update()
        ).all()
        if len(candidates) != 1:
            return None
        row = candidates[0]
        row.smsc_message_id = smsc_message_id
    new = _RECEIPT_STATES.get(stat.upper())
    if new is _S.DELIVERED and part is not None:
        session.flush()
        stats = session.scalars(select(OutboxPart.stat).where(OutboxPart.outbox_id == row.id)).all()
        if any(s != "DELIVRD" for s in stats):
            new = None  # delivered when the last part is
    current = MessageState(row.state)
    if new is not None and new in MESSAGE_TRANSITIONS[current]:
        _move(row, new)
        if new is _S.DELIVERED:
            row.delivered_at = done_at
        else:
            segment = f" (segment {part.seq})" if part is not None and part.seq > 1 else ""
            row.last_error = f"delivery receipt{segment}: {stat}"
    return row.id


def next_due_at(session: Session) -> datetime | None:
    """When the next queued row falls due (the worker sleeps until then, or a wake-up)."""
    return session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.state == _S.QUEUED.value
        )
    )


def get_message(session: Session, message_id: int) -> OutboxItem:
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise OutboxMessageNotFoundError(message_id)
    return _item(row)


def list_messages(
    session: Session, *, outage_id: int | None = None, state: MessageState | None = None
) -> list[OutboxItem]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if outage_id is not None:
        query = query.where(OutboxMessage.outage_id == outage_id)
    if state is not None:
        query = query.where(OutboxMessage.state == state.value)
    return [_item(row) for row in session.scalars(query)]


def message_states_by_outage(
    session: Session, outage_ids: Sequence[int], *, kind: str = "crew_alert"
) -> dict[int, list[tuple[MessageState, datetime | None]]]:
    """Per outage: the state and hand-over time of each of its messages of ``kind``."""
    out: dict[int, list[tuple[MessageState, datetime | None]]] = {i: [] for i in outage_ids}
    if not outage_ids:
        return out
    rows = session.execute(
        select(OutboxMessage.outage_id, OutboxMessage.state, OutboxMessage.handed_at)
        .where(OutboxMessage.outage_id.in_(sorted(set(outage_ids))), OutboxMessage.kind == kind)
        .order_by(OutboxMessage.id)
    ).all()
    for outage_id, state, handed_at in rows:
        if outage_id is not None:
            out[outage_id].append((MessageState(state), handed_at))
    return out


def handover_latencies(session: Session, outage_id: int) -> dict[int, timedelta]:
    """Per message of the outage: from the last report it needed to its hand-over to the SMSC."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.trigger_at, OutboxMessage.handed_at)
        .where(
            OutboxMessage.outage_id == outage_id,
            OutboxMessage.trigger_at.is_not(None),
            OutboxMessage.handed_at.is_not(None),
        )
        .order_by(OutboxMessage.id)
    ).all()
    return {i: handed - trigger for i, trigger, handed in rows if trigger and handed}
