"""Notices and their deliveries: the subjects they are about, one row per notice, one per
message (recipient × channel), each sent once (docs/notices.md).

Every delivery has a unique ``dedupe_key``: adding the same one twice, even from another
process at the same moment, is a no-op, which is what keeps a retried or restarted
publication from sending anything twice. The worker claims due ``pending`` deliveries,
committing ``sending`` before it hands them to a channel; the lifecycle is the table of
:mod:`openoms.contacts.deliveries`, checked on every change here.

Repositories never read the clock: ``now`` comes in as an argument.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openoms.contacts.customers import mask_email
from openoms.contacts.deliveries import DeliveryState, delivery_transition
from openoms.contacts.phone import mask_phone
from openoms.errors import InputError
from openoms.outages.notices import MEDIA_CHANNELS, NoticeAction, NoticeSubject
from openoms.store.outbox import RetryPolicy
from openoms.store.tables import NoticeDelivery, NoticeRow, NoticeSubjectRow

__all__ = [
    "DeliveryItem",
    "NoticeItem",
    "NoticeNotFoundError",
    "StaleSubjectError",
    "add_delivery",
    "claim_due",
    "deliveries_of",
    "due_channels",
    "get_notice",
    "get_subject",
    "list_notices",
    "mark_attempt_failed",
    "mark_sent",
    "mark_unconfirmed",
    "mask_recipient",
    "media_feed",
    "next_due_at",
    "postpone",
    "record_notice",
    "recover_interrupted",
    "save_subject",
    "sent_since",
    "subject_json",
    "subject_of_json",
    "subjects_on",
    "supersede_pending",
    "told",
]

_S = DeliveryState
_TOLD = (_S.SENDING.value, _S.SENT.value, _S.UNCONFIRMED.value)


class NoticeNotFoundError(InputError):
    def __init__(self, notice_id: int) -> None:
        super().__init__(f"no notice with id {notice_id}")
        self.notice_id = notice_id


class StaleSubjectError(InputError):
    """A subject older than the one already published (its revision is lower)."""

    def __init__(self, ref: str, revision: int, stored: int) -> None:
        super().__init__(
            f"notice subject {ref!r} revision {revision} is older than the published "
            f"revision {stored}"
        )
        self.ref, self.revision, self.stored = ref, revision, stored


def mask_recipient(channel: str, recipient: str) -> str:
    """A phone or e-mail address masked; a robot or feed name as it is."""
    if channel == "sms":
        return mask_phone(recipient)
    if channel == "email":
        return mask_email(recipient)
    return recipient


@dataclass(frozen=True, slots=True, repr=False)
class DeliveryItem:
    """A delivery row as the worker and the API see it; its ``repr`` masks the recipient."""

    id: int
    notice_id: int
    channel: str
    account: str | None
    recipient: str
    lang: str
    title: str | None
    body: str
    dedupe_key: str
    refs: tuple[str, ...]
    state: DeliveryState
    sensitive: bool
    attempts: int
    not_before: datetime
    last_attempt_at: datetime | None
    sent_at: datetime | None
    result: str | None
    outbox_id: int | None
    created_at: datetime

    @property
    def masked_recipient(self) -> str:
        return mask_recipient(self.channel, self.recipient)

    def __repr__(self) -> str:
        return (
            f"DeliveryItem(id={self.id}, notice={self.notice_id}, {self.channel} to "
            f"{self.masked_recipient}, state={self.state}, attempts={self.attempts})"
        )


@dataclass(frozen=True, slots=True)
class NoticeItem:
    id: int
    subject: NoticeSubject
    created_at: datetime
    states: dict[str, int]  # deliveries per state


def _delivery(row: NoticeDelivery) -> DeliveryItem:
    return DeliveryItem(
        id=row.id,
        notice_id=row.notice_id,
        channel=row.channel,
        account=row.account,
        recipient=row.recipient,
        lang=row.lang,
        title=row.title,
        body=row.body,
        dedupe_key=row.dedupe_key,
        refs=tuple(str(r) for r in row.refs),
        state=DeliveryState(row.state),
        sensitive=row.sensitive,
        attempts=row.attempts,
        not_before=row.not_before,
        last_attempt_at=row.last_attempt_at,
        sent_at=row.sent_at,
        result=row.result,
        outbox_id=row.outbox_id,
        created_at=row.created_at,
    )


def subject_json(subject: NoticeSubject) -> dict[str, Any]:
    return {
        "ref": subject.ref,
        "kind": subject.kind,
        "action": subject.action,
        "revision": subject.revision,
        "starts_at": subject.starts_at.isoformat(),
        "ends_at": subject.ends_at.isoformat() if subject.ends_at else None,
        "element_ids": list(subject.element_ids),
        "villages": list(subject.villages),
        "streets": list(subject.streets),
        "line": subject.line,
        "reason_zh": subject.reason_zh,
        "reason_en": subject.reason_en,
    }


def subject_of_json(data: dict[str, Any]) -> NoticeSubject:
    ends = data.get("ends_at")
    return NoticeSubject(
        ref=str(data["ref"]),
        kind=str(data["kind"]),
        action=str(data["action"]),
        revision=int(data["revision"]),
        starts_at=datetime.fromisoformat(str(data["starts_at"])),
        ends_at=datetime.fromisoformat(str(ends)) if ends else None,
        element_ids=tuple(data["element_ids"]),
        villages=tuple(data["villages"]),
        streets=tuple(data["streets"]),
        line=data.get("line"),
        reason_zh=str(data["reason_zh"]),
        reason_en=str(data["reason_en"]),
    )


def _subject(row: NoticeSubjectRow) -> NoticeSubject:
    return NoticeSubject(
        ref=row.ref,
        kind=row.kind,
        action=row.action,
        revision=row.revision,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        element_ids=tuple(row.element_ids),
        villages=tuple(row.villages),
        streets=tuple(row.streets),
        line=row.line,
        reason_zh=row.reason_zh,
        reason_en=row.reason_en,
    )


def get_subject(session: Session, ref: str) -> NoticeSubject | None:
    row = session.scalars(select(NoticeSubjectRow).where(NoticeSubjectRow.ref == ref)).one_or_none()
    return None if row is None else _subject(row)


def save_subject(
    session: Session, subject: NoticeSubject, *, now: datetime
) -> NoticeSubject | None:
    """Store ``subject`` as the latest revision of its ref; the one it replaces (None: the
    first). The same revision again changes nothing; an older one raises
    :class:`StaleSubjectError`."""
    row = session.scalars(
        select(NoticeSubjectRow).where(NoticeSubjectRow.ref == subject.ref).with_for_update()
    ).one_or_none()
    if row is None:
        session.add(NoticeSubjectRow(ref=subject.ref, updated_at=now, **_subject_columns(subject)))
        session.flush()
        return None
    previous = _subject(row)
    if subject.revision < row.revision:
        raise StaleSubjectError(subject.ref, subject.revision, row.revision)
    if subject.revision == row.revision and subject.action == row.action:
        return previous
    for name, value in _subject_columns(subject).items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return previous


def _subject_columns(subject: NoticeSubject) -> dict[str, Any]:
    return {
        "kind": subject.kind,
        "action": subject.action,
        "revision": subject.revision,
        "starts_at": subject.starts_at,
        "ends_at": subject.ends_at,
        "element_ids": list(subject.element_ids),
        "villages": list(subject.villages),
        "streets": list(subject.streets),
        "line": subject.line,
        "reason_zh": subject.reason_zh,
        "reason_en": subject.reason_en,
    }


def subjects_on(session: Session, element_ids: Iterable[str]) -> list[NoticeSubject]:
    """The active subjects (neither cancelled nor restored) that cut one of ``element_ids``."""
    wanted = set(element_ids)
    rows = session.scalars(
        select(NoticeSubjectRow)
        .where(
            NoticeSubjectRow.action.not_in(
                [NoticeAction.CANCELLED.value, NoticeAction.RESTORED.value]
            )
        )
        .order_by(NoticeSubjectRow.ref)
    ).all()
    return [_subject(r) for r in rows if wanted.intersection(r.element_ids)]


def record_notice(session: Session, subject: NoticeSubject, *, now: datetime) -> tuple[int, bool]:
    """The notice of ``subject`` (its ref, revision and action): its id, and whether it is new."""
    query = select(NoticeRow.id).where(
        NoticeRow.ref == subject.ref,
        NoticeRow.revision == subject.revision,
        NoticeRow.action == subject.action,
    )
    existing = session.scalar(query)
    if existing is not None:
        return existing, False
    row = NoticeRow(
        ref=subject.ref,
        kind=subject.kind,
        action=subject.action,
        revision=subject.revision,
        starts_at=subject.starts_at,
        ends_at=subject.ends_at,
        subject=subject_json(subject),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = session.scalar(query)
        if winner is None:
            raise
        return winner, False
    return row.id, True


def add_delivery(
    session: Session,
    *,
    notice_id: int,
    channel: str,
    account: str | None,
    recipient: str,
    lang: str,
    title: str | None,
    body: str,
    dedupe_key: str,
    refs: Sequence[str],
    sensitive: bool,
    not_before: datetime,
    now: datetime,
) -> tuple[int, bool]:
    """Add a pending delivery once per ``dedupe_key``: its id, and whether it is new."""
    if not body:
        raise InputError(f"notice delivery {dedupe_key!r}: empty body")
    query = select(NoticeDelivery.id).where(NoticeDelivery.dedupe_key == dedupe_key)
    existing = session.scalar(query)
    if existing is not None:
        return existing, False
    row = NoticeDelivery(
        notice_id=notice_id,
        channel=channel,
        account=account,
        recipient=recipient,
        lang=lang,
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        refs=list(refs),
        state=_S.PENDING.value,
        sensitive=sensitive,
        attempts=0,
        not_before=not_before,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent publication of the same message won the race
        winner = session.scalar(query)
        if winner is None:
            raise
        return winner, False
    return row.id, True


def _bare(ref_key: str) -> str:
    return ref_key.rsplit("@", 1)[0]


def supersede_pending(
    session: Session,
    *,
    channel: str,
    who: str,
    by_account: bool,
    refs: Collection[str],
    keep: str,
) -> list[int]:
    """Pending deliveries on ``channel`` to ``who`` (an account, or with ``by_account``
    False a robot / feed name) about any of ``refs`` (bare refs, ``planned:12``), other
    than the one keyed ``keep``: superseded, never sent."""
    column = NoticeDelivery.account if by_account else NoticeDelivery.recipient
    rows = session.scalars(
        select(NoticeDelivery)
        .where(
            NoticeDelivery.state == _S.PENDING.value,
            NoticeDelivery.channel == channel,
            column == who,
            NoticeDelivery.dedupe_key != keep,
        )
        .with_for_update()
    ).all()
    wanted = set(refs)
    done = []
    for row in rows:
        if wanted.intersection(_bare(str(r)) for r in row.refs):
            _move(row, _S.SUPERSEDED)
            row.result = f"superseded by {keep}"
            done.append(row.id)
    return done


def told(
    session: Session,
    *,
    channel: str,
    who: Collection[str],
    by_account: bool,
    pending: bool = False,
) -> dict[str, list[tuple[frozenset[str], str]]]:
    """Per recipient (an account, or with ``by_account`` False a robot / feed name): the
    messages on ``channel`` that told it something (sent, being sent or maybe sent; with
    ``pending``, those still waiting instead), oldest first, each as (its bare refs, its
    dedupe key)."""
    states = (_S.PENDING.value,) if pending else _TOLD
    column = NoticeDelivery.account if by_account else NoticeDelivery.recipient
    out: dict[str, list[tuple[frozenset[str], str]]] = {}
    names = sorted(set(who))
    for start in range(0, len(names), 500):
        query = (
            select(column, NoticeDelivery.refs, NoticeDelivery.dedupe_key)
            .where(
                column.in_(names[start : start + 500]),
                NoticeDelivery.channel == channel,
                NoticeDelivery.state.in_(states),
            )
            .order_by(NoticeDelivery.id)
        )
        if not by_account:
            query = query.where(NoticeDelivery.account.is_(None))
        for name, refs, key in session.execute(query).all():
            if name is not None:
                bare = frozenset(_bare(str(r)) for r in refs)
                out.setdefault(name, []).append((bare, key))
    return out


def _row(session: Session, delivery_id: int) -> NoticeDelivery:
    row = session.get(NoticeDelivery, delivery_id, with_for_update=True)
    if row is None:
        raise InputError(f"no notice delivery with id {delivery_id}")
    return row


def _move(row: NoticeDelivery, new: DeliveryState) -> None:
    """Every state change of a row goes through here, checked against the lifecycle table."""
    what = f"notice delivery {row.id}"
    row.state = delivery_transition(DeliveryState(row.state), new, what=what).value


def claim_due(
    session: Session, *, now: datetime, limit: int, channels: Collection[str]
) -> list[DeliveryItem]:
    """Take up to ``limit`` due pending deliveries of ``channels``, oldest first, and mark
    them ``sending`` (the caller commits before it sends anything)."""
    rows = session.scalars(
        select(NoticeDelivery)
        .where(
            NoticeDelivery.state == _S.PENDING.value,
            NoticeDelivery.not_before <= now,
            NoticeDelivery.channel.in_(sorted(channels)),
        )
        .order_by(NoticeDelivery.not_before, NoticeDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        _move(row, _S.SENDING)
        row.attempts += 1
        row.last_attempt_at = now
    session.flush()
    return [_delivery(row) for row in rows]


def postpone(session: Session, delivery_id: int, *, until: datetime, reason: str) -> None:
    """A claimed delivery that may not go yet (quiet hours, a rate limit): pending again,
    without counting the attempt."""
    row = _row(session, delivery_id)
    _move(row, _S.PENDING)
    row.attempts = max(row.attempts - 1, 0)
    row.not_before = until
    row.result = reason


def mark_sent(
    session: Session,
    delivery_id: int,
    *,
    now: datetime,
    result: str,
    outbox_id: int | None = None,
) -> None:
    row = _row(session, delivery_id)
    _move(row, _S.SENT)
    row.sent_at = now
    row.result = result
    row.outbox_id = outbox_id


def mark_attempt_failed(
    session: Session,
    delivery_id: int,
    *,
    error: str,
    now: datetime,
    policy: RetryPolicy,
    permanent: bool = False,
) -> DeliveryState:
    """An attempt that certainly did not deliver: ``pending`` after the back-off, or
    ``failed`` (a permanent error, or the attempts used up)."""
    row = _row(session, delivery_id)
    row.result = error
    if permanent or row.attempts >= policy.max_attempts:
        _move(row, _S.FAILED)
    else:
        _move(row, _S.PENDING)
        row.not_before = now + policy.delay(row.attempts)
    return DeliveryState(row.state)


def mark_unconfirmed(session: Session, delivery_id: int, *, reason: str) -> None:
    row = _row(session, delivery_id)
    _move(row, _S.UNCONFIRMED)
    row.result = reason


def recover_interrupted(session: Session) -> list[int]:
    """At start-up: deliveries left in ``sending`` by a stopped process become ``unconfirmed``."""
    rows = session.scalars(
        select(NoticeDelivery)
        .where(NoticeDelivery.state == _S.SENDING.value)
        .order_by(NoticeDelivery.id)
        .with_for_update()
    ).all()
    for row in rows:
        _move(row, _S.UNCONFIRMED)
        row.result = "the service stopped while sending: it may have gone out; not resent"
    return [row.id for row in rows]


def sent_since(session: Session, *, channel: str, since: datetime) -> int:
    """Deliveries of ``channel`` attempted since ``since`` (the rate limit's count)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(NoticeDelivery)
            .where(
                NoticeDelivery.channel == channel,
                NoticeDelivery.last_attempt_at >= since,
                NoticeDelivery.state.in_((*_TOLD, _S.FAILED.value)),
            )
        )
        or 0
    )


def due_channels(session: Session, *, now: datetime, channels: Collection[str]) -> set[str]:
    """The channels among ``channels`` with a pending delivery due at ``now`` (one read, so
    that an idle worker never opens a write transaction)."""
    rows = session.scalars(
        select(NoticeDelivery.channel)
        .where(
            NoticeDelivery.state == _S.PENDING.value,
            NoticeDelivery.not_before <= now,
            NoticeDelivery.channel.in_(sorted(channels)),
        )
        .distinct()
    ).all()
    return set(rows)


def next_due_at(session: Session, *, channels: Collection[str]) -> datetime | None:
    return session.scalar(
        select(func.min(NoticeDelivery.not_before)).where(
            NoticeDelivery.state == _S.PENDING.value,
            NoticeDelivery.channel.in_(sorted(channels)),
        )
    )


def _states(session: Session, notice_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out: dict[int, Counter[str]] = {i: Counter() for i in notice_ids}
    if notice_ids:
        rows = session.execute(
            select(NoticeDelivery.notice_id, NoticeDelivery.state, func.count())
            .where(NoticeDelivery.notice_id.in_(notice_ids))
            .group_by(NoticeDelivery.notice_id, NoticeDelivery.state)
        ).all()
        for notice_id, state, n in rows:
            out[notice_id][state] = n
    return {i: dict(sorted(c.items())) for i, c in out.items()}


def _notice(row: NoticeRow, states: dict[str, int]) -> NoticeItem:
    return NoticeItem(
        id=row.id, subject=subject_of_json(row.subject), created_at=row.created_at, states=states
    )


def list_notices(session: Session, *, ref: str | None = None, limit: int = 100) -> list[NoticeItem]:
    """The newest notices first (of ``ref`` only, if given)."""
    query = select(NoticeRow).order_by(NoticeRow.id.desc()).limit(limit)
    if ref is not None:
        query = query.where(NoticeRow.ref == ref)
    rows = session.scalars(query).all()
    states = _states(session, [r.id for r in rows])
    return [_notice(r, states[r.id]) for r in rows]


def get_notice(session: Session, notice_id: int) -> NoticeItem:
    row = session.get(NoticeRow, notice_id)
    if row is None:
        raise NoticeNotFoundError(notice_id)
    return _notice(row, _states(session, [row.id])[row.id])


def deliveries_of(session: Session, notice_id: int) -> list[DeliveryItem]:
    rows = session.scalars(
        select(NoticeDelivery)
        .where(NoticeDelivery.notice_id == notice_id)
        .order_by(NoticeDelivery.id)
    )
    return [_delivery(r) for r in rows]


def media_feed(
    session: Session, *, since: datetime | None = None, limit: int = 100
) -> list[DeliveryItem]:
    """What the media desk reads: published Weibo posts and TV / radio announcements,
    newest first."""
    query = (
        select(NoticeDelivery)
        .where(
            NoticeDelivery.channel.in_(sorted(MEDIA_CHANNELS)),
            NoticeDelivery.state == _S.SENT.value,
        )
        .order_by(NoticeDelivery.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(NoticeDelivery.sent_at >= since)
    return [_delivery(r) for r in session.scalars(query)]
